"""Builds ``tickets.jsonl``, the labeled ticket set the local models train and are measured on.

Run ``.venv/bin/python -m triage.local_models.data.generate`` after editing the templates or
``handwritten.jsonl``; the output is deterministic (fixed seed), so an unchanged script writes an
unchanged file and the cached models stay valid.

Three sources are merged:

* ``handwritten.jsonl``: realistic tickets written by hand (including a few in other languages),
  each labeled by hand.
* ``written_*.jsonl``: tickets written one by one, each with its labels and a one-line reason, by
  writers who never saw this repository, under the labeling rule in ``tests/data/blind/RULES.md``
  (``written_en*``: 300 each in English over a dozen kinds of software, one file on easily confused
  categories, one on how inboxes really look; ``written_intl*``: 40 each in German, French,
  Spanish, Portuguese, Italian and Dutch per file; ``written_dev``: 120 mixed, the set the
  escalation signals were tuned on before it joined the training data; ``written_en5``/``en6``:
  300 each on the lines classifiers confuse: how-to vs feature request, account vs how-to vs bug,
  alarming tone on small things and calm tickets that are outages, en6 15% in six languages;
  ``written_en7``/``en8``: 300 each on urgency: 1 vs 2 vs 3 (error words in questions, understated
  blocking problems) and the escalation line (buried or polite 4s and 5s, loud 2s and 3s);
  ``written_en9``/``en10``: 300 each on categories whose words point elsewhere (praise, pitches,
  security reports, mixed topics, billing vs bug) and on tickets wrongly flagged for a human;
  ``written_en13``/``en14``: 250 each on urgency within one level when the surface misleads
  (urgent words on routine requests, impact carried by a number, a time or a role) and on the
  escalation line (security and data loss said in passing, deadlines in hours vs days);
  ``written_en15``/``en16``: 250 each on products whose own vocabulary names another category
  (password managers, invoicing, payroll, backups, roadmap tools, bug trackers) and on everyday
  tickets from 50+ industries whose nouns point nowhere. (``en11``/``en12`` and ``en17``/``en18``
  are development sets in ``tests/data/hard_dev/``, not training data.)
* templates below: per category, situations with slots (product areas, error codes, invoice numbers,
  features, integrations...) and a base urgency; each generated ticket then gets a random tone
  (calm, terse, angry), optional context (what was tried, evidence, team size), optional urgency
  modifiers (customer tier, churn threat, repeated failure, deadline, "no rush") that move the
  label by fixed rules written here, a second topic now and then, and typos or lower case.

The urgency label rules (below, in ``_label_urgency``) are the labeling guideline: 1 = a question
with no impact, 2 = a minor problem or a plain request, 3 = something broken for one user or team,
4 = many users blocked, money or access at risk, churn threat, 5 = outage, security or data loss.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
# the article's sample tickets, read as a file: importing triage.presets would need Django set up
SAMPLE_TICKETS = json.loads((DATA_DIR.parents[1] / "fixtures" / "sample_tickets.json").read_text())
OUTPUT = DATA_DIR / "tickets.jsonl"
HANDWRITTEN = DATA_DIR / "handwritten.jsonl"
WRITTEN = tuple(
    f"written_{part}.jsonl"
    for part in (
        *("en", "intl", "en2", "intl2", "en3", "en4", "intl3", "dev", "hard"),
        *("en5", "en6", "en7", "en8", "en9", "en10", "en13", "en14", "en15", "en16"),
    )
)
SEED = 20260428
PER_CATEGORY = 125

AREAS = [
    "dashboard",
    "reports page",
    "analytics view",
    "CSV export",
    "CSV import",
    "mobile app",
    "webhooks",
    "search",
    "notifications",
    "admin console",
    "billing page",
    "file uploads",
    "public API",
    "audit log",
    "calendar view",
    "inbox",
]
ERRORS = [
    "502 Bad Gateway",
    "500 Internal Server Error",
    "HTTP 503",
    "a 504 gateway timeout",
    "ERR_CONNECTION_RESET",
    "error E1042",
    "error code E-2207",
    "TypeError: Cannot read properties of undefined",
    "a NullPointerException",
    "429 Too Many Requests",
    "ECONNREFUSED",
    "SSL_ERROR_BAD_CERT_DOMAIN",
    "error 0x80070005",
    "a blank white screen",
    "a spinning loader that never finishes",
]
INFRA_ERRORS = [
    "OOMKilled",
    "exit code 137",
    "CUDA out of memory",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "connection pool exhausted",
    "disk quota exceeded",
]
ACTIONS = [
    "open it",
    "click Save",
    "filter by date",
    "upload a file",
    "switch workspaces",
    "load more than 50 rows",
    "sort by status",
    "log in from Safari",
    "refresh the page",
    "export last month's data",
]
FEATURES = [
    "bulk export",
    "dark mode",
    "SAML single sign-on",
    "custom fields on contacts",
    "a Zapier integration",
    "scheduled CSV reports",
    "audit log export",
    "role-based permissions",
    "webhook retries",
    "multi-currency invoices",
    "a Linux desktop app",
    "keyboard shortcuts",
    "saved filters",
    "a Gantt view",
    "recurring reports",
    "German localisation",
    "Jira sync",
    "an undo button",
    "bulk delete",
    "a public status API",
]
INTEGRATIONS = [
    "Slack",
    "Salesforce",
    "HubSpot",
    "Zapier",
    "GitHub",
    "Jira",
    "Stripe",
    "Google Drive",
    "Teams",
]
PLANS = ["Starter", "Team", "Business", "Pro", "Growth"]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge", "Chrome on Android", "Safari on iPhone"]
WHEN = [
    "this morning",
    "since yesterday",
    "since the last release",
    "since 08:30 UTC",
    "since Monday",
    "for the past hour",
    "around 14:00 CET",
    "since the update last night",
]
TEAMS = [
    "our whole support team",
    "all 40 of our agents",
    "about 200 internal users",
    "every customer on our EU workspace",
    "the entire sales org (120 people)",
    "all 15 of our warehouse staff",
    "roughly 350 users",
]
OBJECTS = ["contacts", "tickets", "invoices", "projects", "tasks", "orders", "users", "reports"]
SETTINGS = [
    "the timezone setting",
    "notification preferences",
    "the API keys page",
    "the data retention setting",
    "custom domain settings",
    "the webhook secret",
    "branding options",
]
AMOUNTS = ["$49", "$99", "$249", "$1,200", "€79", "£35", "$18.50", "$640"]


def _invoice(rng: random.Random) -> str:
    return f"INV-{rng.randint(1000, 99999)}"


def _order(rng: random.Random) -> str:
    return f"#{rng.randint(10000, 999999)}"


@dataclass
class Template:
    name: str
    urgency: int
    subjects: list[str]
    bodies: list[str]
    # Marks situations whose urgency can't be argued down by "no rush" (outages, breaches).
    hard: bool = False
    tags: set[str] = field(default_factory=set)


T = Template

TEMPLATES: dict[str, list[Template]] = {
    "bug": [
        T(
            "error_on_action",
            3,
            ["{area} error", "Error when I {action}", "{area} broken", "Getting {error}", "{area}: {error}"],
            [
                "Every time I {action} in the {area} I get {error}.",
                "The {area} throws {error} when I {action}. It worked fine last week.",
                "I keep seeing {error} on the {area} {when}. Nothing changed on our side.",
                "When I try to {action}, the {area} just shows {error}.",
            ],
        ),
        T(
            "slow",
            2,
            ["{area} very slow", "Slow {area}", "Performance problem", "{area} takes forever"],
            [
                "The {area} takes almost a minute to load {when}.",
                "Loading the {area} has become really slow, sometimes 30+ seconds.",
                "Is something wrong? The {area} is crawling {when}.",
            ],
        ),
        T(
            "export_crash",
            3,
            ["Export crashes", "Export fails on big files", "{area} crash", "Crash on large dataset"],
            [
                "The export crashes as soon as the file is bigger than 10k rows.",
                "Exporting {object} crashes the tab with {error} on large accounts.",
                "Our nightly export of {object} has been failing {when} with {error}.",
            ],
        ),
        T(
            "outage",
            5,
            ["Production outage", "{area} down", "URGENT: cannot access {area}", "Site down", "Outage!!"],
            [
                "We have been unable to access the {area} {when}. {team} are blocked. We see {error}.",
                "Everything is down for us: {team} can't log in or load the {area}. Logs show {error}.",
                "Your service is down {when}. {team} cannot work and we're losing orders. Error: {error}.",
            ],
            hard=True,
        ),
        T(
            "partial_outage",
            4,
            ["Intermittent {error}", "API unstable", "{area} failing for many users", "Degraded service"],
            [
                "Roughly a third of requests to the {area} fail with {error} {when}. "
                "Several teams are affected.",
                "Many of our users report the {area} failing with {error} {when}.",
                "The public API returns {error} intermittently {when}, "
                "our integration is failing for most customers.",
            ],
            hard=True,
        ),
        T(
            "wrong_data",
            3,
            ["Wrong numbers in {area}", "Report totals incorrect", "Data mismatch"],
            [
                "The totals in the {area} don't match our exported {object}; revenue is off by about 12%.",
                "The {area} shows duplicated {object} {when}.",
                "Numbers in the weekly report are wrong, some {object} are counted twice.",
            ],
        ),
        T(
            "ui_glitch",
            1,
            ["Small UI glitch", "Typo on {area}", "Layout issue", "Button misaligned"],
            [
                "Minor thing: the Save button on the {area} overlaps the footer in {browser}.",
                "There's a typo on the {area} header, it says 'Setings'.",
                "The icons on the {area} look blurry on my retina screen. Not urgent.",
            ],
        ),
        T(
            "button_dead",
            2,
            ["Button does nothing", "Can't {action}", "{area} not responding in {browser}"],
            [
                "Clicking the button to {action} does nothing in {browser}.",
                "In {browser} I can't {action}, the page just ignores my click.",
                "Nothing happens when I {action} on the {area}. Other browsers seem fine.",
            ],
        ),
        T(
            "data_loss",
            5,
            ["Data disappeared!", "Lost all our {object}", "Records deleted after update", "DATA LOSS"],
            [
                "All of our {object} disappeared from the {area} {when}. "
                "This is critical data and we have no copy.",
                "After your update our {object} are gone. Months of data lost.",
                "Half of our {object} were deleted without anyone touching them. "
                "Please tell me you have backups.",
            ],
            hard=True,
        ),
        T(
            "webhooks",
            3,
            ["Webhooks not firing", "Webhook deliveries failing", "Missing webhook events"],
            [
                "Our webhooks stopped firing {when}; the delivery log shows {error}.",
                "We are not receiving webhook events for new {object} anymore.",
                "Webhook deliveries to our endpoint fail with {error} and are never retried.",
            ],
        ),
        T(
            "mobile_crash",
            3,
            ["App crashes on launch", "Mobile app crash", "iOS app closes immediately"],
            [
                "The mobile app crashes right after the splash screen {when}.",
                "Since updating the app it closes as soon as I open {object}.",
                "Android app crashes when I try to {action}.",
            ],
        ),
        T(
            "integration_sync",
            3,
            [
                "{integration} sync failing",
                "{integration} integration broken",
                "Sync error with {integration}",
            ],
            [
                "The {integration} sync has been failing {when} with {error}.",
                "Our {object} are no longer syncing to {integration}; the integration page shows {error}.",
                "{integration} integration stopped working, new {object} don't show up.",
            ],
        ),
        T(
            "infra",
            3,
            ["Deployment failing", "Pod keeps crashing", "{infra_error} on our workers", "Deploy fails"],
            [
                "Our pods keep restarting with {infra_error} after we scaled the inference workload.",
                "Every deploy fails with {infra_error} {when}.",
                "The worker containers die with {infra_error} when processing large {object}.",
            ],
        ),
    ],
    "billing": [
        T(
            "double_charge",
            3,
            ["Charged twice", "Double charge on {invoice}", "Duplicate payment", "Billing error"],
            [
                "I was charged twice for my subscription this month, see invoice {invoice}.",
                "Why was I billed {amount} two times? Invoice {invoice} appears twice on my card statement.",
                "Our card was charged twice for {invoice}. Please check.",
            ],
        ),
        T(
            "higher_invoice",
            2,
            [
                "Invoice higher than usual",
                "Unexpected charge",
                "Why is my bill {amount}?",
                "Question about {invoice}",
            ],
            [
                "My invoice {invoice} is {amount} higher than last month and I didn't change anything.",
                "Can you explain the extra line items on {invoice}? We're on the {plan} plan.",
                "I got an invoice for {amount} that I don't understand.",
            ],
        ),
        T(
            "refund",
            2,
            ["Refund request", "Refund for unused months", "Can I get my money back?"],
            [
                "We stopped using the product in March, can we get a refund for the unused months?",
                "I'd like a refund of {amount} for the annual plan I bought by mistake.",
                "Requesting a refund for invoice {invoice}, we upgraded to the wrong plan.",
            ],
        ),
        T(
            "billed_after_cancel",
            3,
            ["Billed after cancelling", "Still being charged", "Cancelled but charged"],
            [
                "I cancelled my subscription last month but you still billed me {amount} ({invoice}).",
                "We cancelled the {plan} plan weeks ago and got charged again today.",
                "Why am I still being charged after cancellation? Invoice {invoice}.",
            ],
        ),
        T(
            "vat",
            1,
            ["VAT on invoice", "Company details on invoice", "Need VAT number added", "Tax question"],
            [
                "Please add our VAT number to invoice {invoice}, our finance team needs it.",
                "The VAT on {invoice} looks wrong, we are a business in Germany with a valid VAT ID.",
                "Can you change the billing address on our invoices to our new office?",
            ],
        ),
        T(
            "payment_method",
            1,
            ["Update credit card", "Change payment method", "Pay by bank transfer?"],
            [
                "How do I update the credit card we pay with?",
                "Can we pay invoice {invoice} by bank transfer instead of card?",
                "Our company card expires next month, where do I change the payment method?",
            ],
        ),
        T(
            "downgrade",
            2,
            ["Downgrade before renewal", "Plan change", "Switch to {plan} plan"],
            [
                "Our renewal is coming up and I want to downgrade to the {plan} plan first.",
                "How will I be billed if we switch from {plan} to a smaller plan mid-cycle?",
                "We'd like to reduce our seats from 25 to 10 before the next invoice.",
            ],
        ),
        T(
            "payment_failed",
            3,
            ["Payment failed", "Card declined", "Account will be suspended?"],
            [
                "Our payment for {invoice} failed and we got an email saying the account will be suspended.",
                "The card was declined but it works everywhere else. Please don't suspend us.",
                "Payment of {amount} keeps failing at checkout.",
            ],
        ),
        T(
            "outage_credit",
            2,
            ["Credit for outage", "SLA credit request", "Compensation for downtime"],
            [
                "Can we get a credit for the outage last week? It cost us half a day.",
                "Per our SLA we're requesting a service credit for the downtime on Tuesday.",
                "We'd like a credit on {invoice} for the hours the service was unavailable.",
            ],
        ),
        T(
            "receipt",
            1,
            ["Need a receipt", "Copy of invoice", "Invoice PDF"],
            [
                "Could you send me a PDF copy of invoice {invoice}?",
                "I need receipts for the last three months for our accountant.",
                "Where do I download past invoices?",
            ],
        ),
        T(
            "unused_resources",
            3,
            ["Billed for unused resources", "Overage charges", "Usage charges wrong"],
            [
                "My deployment is billing me for resources I didn't use, {amount} in overage on {invoice}.",
                "We were charged {amount} for API overage but our usage graph shows "
                "we stayed under the limit.",
                "The usage charges on {invoice} don't match our actual usage.",
            ],
        ),
        T(
            "discount",
            1,
            ["Nonprofit discount", "Discount for annual plan", "Education pricing"],
            [
                "Do you offer a discount for nonprofits?",
                "Is there a discount if we switch to annual billing on the {plan} plan?",
                "We're a university lab, is there education pricing?",
            ],
        ),
    ],
    "account": [
        T(
            "password_reset",
            1,
            ["Password reset", "Forgot password", "Reset my password", "Can't remember password"],
            [
                "How do I reset my password?",
                "I forgot my password and the reset link doesn't seem to arrive.",
                "Need to reset my password, where is the option?",
            ],
        ),
        T(
            "locked_out",
            3,
            ["Locked out", "Account locked", "Can't log in"],
            [
                "My account got locked after too many login attempts and I can't get back in.",
                "I can't log in anymore, it says my account is disabled.",
                "Locked out of my account {when}, the reset email never arrives.",
            ],
        ),
        T(
            "lost_2fa",
            3,
            ["Lost 2FA device", "Two-factor problem", "New phone, can't log in"],
            [
                "I lost my phone and can't pass two-factor authentication anymore.",
                "Got a new phone and my authenticator codes are gone, how do I get back in?",
                "The 2FA code is always rejected as invalid.",
            ],
        ),
        T(
            "change_email",
            1,
            ["Change email address", "Update login email", "New email"],
            [
                "How do I change the email address on my account?",
                "I'd like to update my login email to my new work address.",
                "Please change my account email, I changed companies.",
            ],
        ),
        T(
            "teammate",
            1,
            ["Add a teammate", "Invite user", "Remove a user", "Seats"],
            [
                "How do I add a teammate to our workspace?",
                "I invited a colleague but the invite email never arrived.",
                "Please remove a former employee's access to our account.",
            ],
        ),
        T(
            "delete_account",
            2,
            ["Delete my account", "Close account", "Account deletion"],
            [
                "Please delete my account and all my data.",
                "How can I close our workspace permanently?",
                "I want my account removed, I no longer use the service.",
            ],
        ),
        T(
            "sso_login",
            3,
            ["SSO login failing", "Okta login broken", "SAML error"],
            [
                "SSO login fails with an invalid SAML response {when}.",
                "Our Okta login redirects back to the login page in a loop.",
                "Nobody on our team can sign in through Azure AD {when}.",
            ],
        ),
        T(
            "hacked",
            5,
            ["Account compromised", "Suspicious login", "Someone accessed my account", "Security issue"],
            [
                "Someone logged into my account from another country and changed my email.",
                "I got alerts for logins I didn't make and our API keys were used from an unknown IP.",
                "I think our account was hacked, there are users I never invited.",
            ],
            hard=True,
        ),
        T(
            "api_key",
            3,
            ["API key invalid", "401 after key rotation", "Token rejected", "API auth"],
            [
                "Getting 401s after rotating my API key, the new key returns invalid.",
                "Our API token suddenly returns 401 Unauthorized.",
                "I regenerated the API key but every request now fails with 403 Forbidden.",
            ],
        ),
        T(
            "ownership",
            2,
            ["Transfer ownership", "Change account owner", "Owner left the company"],
            [
                "Our account owner left the company, how do we transfer ownership to me?",
                "Please make me the owner of our workspace, the previous admin is gone.",
                "How do I transfer the organization to another admin?",
            ],
        ),
        T(
            "username",
            1,
            ["Change username", "Update my name", "Profile details"],
            [
                "How can I change my display name?",
                "My name is misspelled on my profile, can I fix it?",
                "I want to change my username.",
            ],
        ),
        T(
            "verify_email",
            2,
            ["Verification email missing", "Can't verify account", "Confirm email"],
            [
                "I never received the verification email after signing up.",
                "The email confirmation link says it has expired.",
                "My account is stuck in unverified state.",
            ],
        ),
    ],
    "how-to": [
        T(
            "export_howto",
            1,
            ["How to export", "Export {object} to CSV", "Exporting data"],
            [
                "How do I export my {object} to CSV?",
                "Is there a way to download all {object} as a spreadsheet?",
                "What's the best way to get our {object} out into Excel?",
            ],
        ),
        T(
            "integration_setup",
            1,
            ["Set up {integration}", "Connect {integration}", "{integration} integration question"],
            [
                "How do I connect {integration} to my workspace?",
                "What are the steps to set up the {integration} integration?",
                "Can you walk me through linking {integration}?",
            ],
        ),
        T(
            "find_setting",
            1,
            ["Where is the setting", "Can't find {setting}", "Settings question"],
            [
                "Where can I find {setting}?",
                "I'm looking for {setting} but can't find it in the menu.",
                "How do I change {setting}?",
            ],
        ),
        T(
            "api_usage",
            2,
            ["API question", "Creating {object} via API", "How to use the API"],
            [
                "How do I create {object} through the API? The docs only show the list endpoint.",
                "Which endpoint should I use to update {object} in bulk?",
                "Is there an example of paginating {object} with the public API?",
            ],
        ),
        T(
            "schedule",
            1,
            ["Scheduling reports", "Recurring export", "Automate report"],
            [
                "Is it possible to schedule the weekly report to go out by email?",
                "How do I set up a recurring export of {object}?",
                "Can I automate the monthly summary?",
            ],
        ),
        T(
            "webhook_setup",
            1,
            ["Configure webhooks", "Webhook setup", "How do webhooks work"],
            [
                "How do I configure a webhook for new {object}?",
                "How can I verify the webhook signature?",
                "Where do I register a webhook endpoint?",
            ],
        ),
        T(
            "import",
            1,
            ["Import {object}", "CSV import help", "Migrating data"],
            [
                "How do I import {object} from a CSV file?",
                "We're migrating from another tool, how do we bring our {object} over?",
                "What format does the CSV import expect for {object}?",
            ],
        ),
        T(
            "permissions",
            1,
            ["Permissions setup", "Roles question", "Restrict access"],
            [
                "How do I give someone read-only access to the {area}?",
                "What's the difference between the Admin and Member roles?",
                "How can I restrict who sees {object}?",
            ],
        ),
        T(
            "embed",
            1,
            ["Embed dashboard", "Share a report", "Public link"],
            [
                "Can I embed the {area} in our intranet?",
                "How do I share a report with someone outside our team?",
                "How do I create a public link to a dashboard?",
            ],
        ),
        T(
            "custom_domain",
            2,
            ["Custom domain", "DNS setup", "CNAME question"],
            [
                "How do I point our custom domain to the help center? Which CNAME do I need?",
                "What DNS records do I need for a custom domain?",
                "Setting up our own domain, the docs mention a TXT record, where do I get it?",
            ],
        ),
        T(
            "filters",
            1,
            ["Filtering {object}", "Search tips", "How to filter"],
            [
                "How do I filter {object} by date range?",
                "Can I search {object} by a custom field?",
                "How do I combine two filters in the {area}?",
            ],
        ),
        T(
            "notifications_howto",
            1,
            ["Notification settings", "Turn off emails", "Slack alerts"],
            [
                "How do I stop getting an email for every new {object}?",
                "How can I send alerts to a Slack channel?",
                "How do I set up a daily digest instead of instant notifications?",
            ],
        ),
    ],
    "feature-request": [
        T(
            "please_add",
            1,
            ["Feature request: {feature}", "Please add {feature}", "Request: {feature}", "Suggestion"],
            [
                "Please add {feature}, it would save us hours every week.",
                "It would be great to have {feature}.",
                "Feature request: {feature}. We'd use it daily.",
            ],
        ),
        T(
            "plans_to_support",
            1,
            ["Any plans for {feature}?", "Roadmap question", "{feature} on the roadmap?"],
            [
                "Are there any plans to support {feature}?",
                "Is {feature} on your roadmap?",
                "Will you ever add {feature}? Competitors have it.",
            ],
        ),
        T(
            "blocking_deal",
            2,
            ["{feature} needed", "Blocker for rollout", "Missing {feature}"],
            [
                "We need {feature} before we can roll out to the rest of the company.",
                "Our security team requires {feature}, please consider adding it.",
                "Without {feature} we can't move our other teams over.",
            ],
        ),
        T(
            "wish",
            1,
            ["Idea", "Would love {feature}", "Small wish"],
            [
                "Love the product! One wish: {feature}.",
                "Would love to see {feature} in the {area}.",
                "Small idea: {feature} in the {area} would make it much nicer.",
            ],
        ),
        T(
            "add_plus_complaint",
            2,
            ["Feature request + complaint", "Request and feedback", "Please add {feature} (and a gripe)"],
            [
                "Can you add {feature}? Also the {area} is too slow with large accounts.",
                "Please add {feature}. Also the existing {area} is clunky and times out sometimes.",
                "Could we get {feature}? Separately, the {area} is a bit slow lately.",
            ],
        ),
        T(
            "improve_existing",
            1,
            ["Improve {area}", "Enhancement for {area}", "Make {area} better"],
            [
                "It would be nice if the {area} let us pick columns.",
                "Could the {area} remember my last filter? Small enhancement request.",
                "Please let us customize the {area} layout.",
            ],
        ),
        T(
            "integration_request",
            1,
            ["Integration request", "Support for {integration}?", "Native {integration} integration"],
            [
                "Please build a native {integration} integration.",
                "Any chance of a deeper {integration} integration, two-way sync?",
                "We'd love {integration} support for {object}.",
            ],
        ),
        T(
            "api_request",
            1,
            ["API enhancement", "New endpoint request", "API feature"],
            [
                "Could you add an API endpoint to bulk update {object}?",
                "Please expose {object} in the public API.",
                "It would help if the API supported filtering {object} by updated date.",
            ],
        ),
        T(
            "vote",
            1,
            ["+1 for {feature}", "Voting for {feature}", "Upvote"],
            [
                "+1 for {feature}, our team keeps asking for it.",
                "Adding my vote for {feature}.",
                "Another request for {feature} from us.",
            ],
        ),
        T(
            "mobile_request",
            1,
            ["Mobile app request", "Offline mode", "Tablet support"],
            [
                "Please add offline mode to the mobile app.",
                "Would love an iPad version of the mobile app.",
                "Could the mobile app support {feature}?",
            ],
        ),
    ],
    "other": [
        T(
            "thanks",
            1,
            ["Thank you!", "Great support", "Kudos"],
            [
                "Just wanted to say thanks, your team was super helpful yesterday.",
                "The new {area} looks great, nice work!",
                "Thanks for the quick fix last week, much appreciated.",
            ],
        ),
        T(
            "partnership",
            1,
            ["Partnership inquiry", "Reseller program", "Agency partnership"],
            [
                "We're an agency and would like to become a reseller. Who should I talk to?",
                "Do you have a partner program for consultancies?",
                "I'd like to discuss a co-marketing partnership.",
            ],
        ),
        T(
            "press",
            1,
            ["Press inquiry", "Interview request", "Podcast invitation"],
            [
                "I'm a journalist writing about support tooling, could I interview your CEO?",
                "Would someone from your team join our podcast next month?",
                "Press request: do you have a media kit?",
            ],
        ),
        T(
            "job",
            1,
            ["Job application", "Open positions?", "Internship"],
            [
                "Are you hiring frontend engineers? I'd love to apply.",
                "I sent my CV for the support role, could you confirm you got it?",
                "Do you offer internships for students?",
            ],
        ),
        T(
            "sales",
            1,
            ["Demo request", "Pricing for large team", "Talk to sales"],
            [
                "Could we book a demo for our team of 60?",
                "I'd like to talk to sales about a custom contract.",
                "Do you offer an on-premise version?",
            ],
        ),
        T(
            "compliance",
            2,
            ["Security questionnaire", "SOC 2 report", "DPA request", "GDPR question"],
            [
                "Our procurement team needs your SOC 2 report and a completed security questionnaire.",
                "Can you send us your data processing agreement to sign?",
                "Where is customer data hosted? We need this for our GDPR records.",
            ],
        ),
        T(
            "spam",
            1,
            ["SEO services", "Grow your traffic", "Business proposal"],
            [
                "Hi, we can get your website to page one of Google in 30 days. Interested?",
                "We offer cheap offshore development services, reply for a quote.",
                "Dear sir, I have a business proposal for you.",
            ],
        ),
        T(
            "event",
            1,
            ["Sponsorship", "Conference invitation", "Meetup"],
            [
                "Would you like to sponsor our developer meetup in Berlin?",
                "We'd like to invite you to speak at our conference in June.",
                "Any interest in a booth at our trade show?",
            ],
        ),
        T(
            "general_feedback",
            2,
            ["Feedback", "General complaint", "Not happy"],
            [
                "Honestly your onboarding emails are too frequent, please send fewer.",
                "Your support chat is hard to find on the website.",
                "I filled in your survey but the form was broken.",
            ],
        ),
        T(
            "misc_question",
            1,
            ["Quick question", "Office location", "Company info"],
            [
                "Do you have an office in London?",
                "Who is the right contact for a W-9 form?",
                "Is your company planning an IPO? Just curious.",
            ],
        ),
    ],
}

GREETINGS = [
    "",
    "",
    "",
    "Hi,",
    "Hello team,",
    "Hey there,",
    "Hi support,",
    "Good morning,",
    "Dear support team,",
]
SIGNOFFS = ["", "", "", "Thanks!", "Thanks in advance.", "Cheers", "Best regards", "Thank you", "thx"]
ANGRY_OPENERS = [
    "This is unacceptable.",
    "I'm really frustrated.",
    "Seriously?",
    "This is ridiculous.",
    "Not happy at all.",
    "What is going on?!",
]
CONTEXT = [
    "We're a team of {size} on the {plan} plan.",
    "I've attached a screenshot.",
    "Our account is registered under the finance team.",
    "We use the product every day for customer onboarding.",
    "I'm the admin for our workspace.",
]
TRIED = [
    "I already cleared my cache and tried another browser.",
    "Restarting the app didn't help.",
    "I tried logging out and back in.",
    "We followed the steps in your docs but nothing changed.",
    "I already contacted support last week about this.",
    "We rolled back our last config change, no difference.",
]
EVIDENCE = [
    "Request ID req_{rid} in case that helps.",
    "Logs attached show {error} from the API gateway.",
    "The browser console shows {error}.",
    "Happens in {browser} and the desktop app.",
]
# Modifiers that move the urgency label; (kind, phrases).
CHURN = [
    "We're seriously evaluating alternatives.",
    "If this isn't fixed we will cancel our contract.",
    "Honestly considering switching to a competitor.",
    "We are about to churn over this.",
]
REPEATED = [
    "This is the third time this week.",
    "Same problem again, it keeps happening.",
    "This keeps happening every few days.",
    "Second time this month this has failed.",
]
DEADLINE = [
    "We have a board demo tomorrow morning.",
    "Our launch is on Friday and we need this working.",
    "Need this sorted before end of day, our quarter closes tonight.",
    "Payroll runs in two hours.",
]
NO_RUSH = [
    "No rush.",
    "Not urgent, whenever you get a chance.",
    "Low priority, just curious.",
    "No hurry at all.",
]
SECOND_TOPIC = {
    "billing": "Also, unrelated, where do I download my invoices?",
    "account": "Also, how do I add another admin?",
    "how-to": "Unrelated question: can I export this to CSV?",
    "feature-request": "Side note: dark mode would be nice someday.",
    "bug": "Also the search felt a bit slow today.",
    "other": "By the way, great job on the new design.",
}


def _label_urgency(base: int, category: str, mods: set[str], tier: str, hard: bool) -> int:
    """The labeling guideline for urgency, applied to what a generated ticket says."""
    score = base
    if "no_rush" in mods and not hard:
        score -= 1
    if "repeated" in mods and base >= 2:
        score += 1
    if "deadline" in mods and base >= 2:
        score += 1
    if tier == "enterprise" and base >= 3:
        score += 1
    if "churn" in mods:
        score = max(score + 1, 4)
    return max(1, min(5, score))


_WORD = re.compile(r"[A-Za-z]{5,}")


def _typos(text: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(text))
    if not words:
        return text
    chars = list(text)
    for match in rng.sample(words, k=min(len(words), rng.randint(1, 3))):
        i = rng.randrange(match.start() + 1, match.end() - 1)
        if rng.random() < 0.5:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = ""
    return "".join(chars)


def _fill(text: str, slots: dict[str, str]) -> str:
    filled = text.format(**slots)
    return filled[0].upper() + filled[1:] if filled else filled


def _slots(rng: random.Random) -> dict[str, str]:
    return {
        "area": rng.choice(AREAS),
        "error": rng.choice(ERRORS),
        "infra_error": rng.choice(INFRA_ERRORS),
        "action": rng.choice(ACTIONS),
        "feature": rng.choice(FEATURES),
        "integration": rng.choice(INTEGRATIONS),
        "plan": rng.choice(PLANS),
        "browser": rng.choice(BROWSERS),
        "when": rng.choice(WHEN),
        "team": rng.choice(TEAMS),
        "object": rng.choice(OBJECTS),
        "setting": rng.choice(SETTINGS),
        "amount": rng.choice(AMOUNTS),
        "invoice": _invoice(rng),
        "order": _order(rng),
        "size": str(rng.choice([3, 8, 12, 25, 60, 140])),
        "rid": f"{rng.getrandbits(40):010x}",
    }


def generate_one(category: str, template: Template, rng: random.Random) -> dict:
    slots = _slots(rng)
    subject = _fill(rng.choice(template.subjects), slots)
    core = _fill(rng.choice(template.bodies), slots)
    mods: set[str] = set()
    # Angry openers only where a customer has something to be angry about.
    angry_weight = 2 if category in {"bug", "billing", "account"} else 0
    tone = rng.choices(["calm", "terse", "angry"], weights=[6, 3, angry_weight])[0]
    parts: list[str] = []
    if tone == "angry":
        parts.append(rng.choice(ANGRY_OPENERS))
    elif tone == "calm":
        parts.append(rng.choice(GREETINGS))
    parts.append(core)
    if tone != "terse":
        if rng.random() < 0.3:
            parts.append(_fill(rng.choice(CONTEXT), slots))
        if category in {"bug", "account", "billing"} and rng.random() < 0.35:
            parts.append(_fill(rng.choice(TRIED), slots))
        if category == "bug" and rng.random() < 0.35:
            parts.append(_fill(rng.choice(EVIDENCE), slots))
    roll = rng.random()
    if category in {"bug", "account", "billing"}:
        if roll < 0.12:
            mods.add("repeated")
            parts.append(rng.choice(REPEATED))
        elif roll < 0.22:
            mods.add("deadline")
            parts.append(rng.choice(DEADLINE))
        elif roll < 0.30:
            mods.add("churn")
            parts.append(rng.choice(CHURN))
        elif roll < 0.38 and tone != "angry":
            mods.add("no_rush")
            parts.append(rng.choice(NO_RUSH))
    elif roll < 0.15:
        mods.add("no_rush")
        parts.append(rng.choice(NO_RUSH))
    elif roll < 0.2 and category == "feature-request":
        mods.add("churn")
        parts.append(rng.choice(CHURN))
    if rng.random() < 0.08:
        others = [c for c in SECOND_TOPIC if c != category]
        parts.append(SECOND_TOPIC[rng.choice(others)])
    if tone == "calm":
        parts.append(rng.choice(SIGNOFFS))
    body = " ".join(p for p in parts if p)
    tier = rng.choices(["", "free", "pro", "business", "enterprise"], weights=[4, 3, 2, 2, 2])[0]
    if rng.random() < 0.15:
        body = _typos(body, rng)
    if rng.random() < 0.12:
        body = body.lower()
        subject = subject.lower()
    urgency = _label_urgency(template.urgency, category, mods, tier, template.hard)
    return {
        "subject": subject,
        "body": body,
        "customer_tier": tier,
        "category": category,
        "urgency": urgency,
        "lang": "en",
        "source": f"template:{category}/{template.name}",
    }


def generate(seed: int = SEED, per_category: int = PER_CATEGORY) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    # One body once: a repeated body under another subject would sit on both sides of the split.
    seen: set[str] = set()
    # The triage article's sample tickets are the test, so they never appear in the data.
    samples = {ticket["body"].lower() for ticket in SAMPLE_TICKETS}
    for category, templates in TEMPLATES.items():
        made = 0
        attempts = 0
        while made < per_category and attempts < per_category * 20:
            attempts += 1
            row = generate_one(category, templates[made % len(templates)], rng)
            key = row["body"].lower()
            if key in seen or key in samples:
                continue
            seen.add(key)
            rows.append(row)
            made += 1
    return rows


def _row_id(row: dict) -> str:
    text = f"{row['subject']}\n{row['body']}".encode()
    return hashlib.sha256(text).hexdigest()[:12]


def build() -> list[dict]:
    handwritten = [json.loads(line) for line in HANDWRITTEN.read_text().splitlines() if line.strip()]
    for row in handwritten:
        row.setdefault("customer_tier", "")
        row.setdefault("lang", "en")
        row["source"] = "hand"
    written = []
    for name in WRITTEN:
        path = DATA_DIR / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    row.pop("id", None)
                    written.append({**row, "source": f"written:{name.removesuffix('.jsonl')}"})
    rows = []
    bodies = set()
    for row in handwritten + written + generate():
        # Separate writers sometimes wrote the same short ticket ("refund??"): keep the first.
        if row["body"] in bodies:
            continue
        bodies.add(row["body"])
        row["id"] = _row_id(row)
        rows.append(row)
    return rows


def main() -> None:
    rows = build()
    with OUTPUT.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(rows)} tickets to {OUTPUT}")


if __name__ == "__main__":
    main()
