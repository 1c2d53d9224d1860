"""``local/brief-writer``: an extractive escalation brief for the human who picks the ticket up.

Every field is made of the ticket's own sentences, sorted by what they say (problem, impact,
evidence, what was tried), plus the urgency signals the local scorer saw; only the next steps are
written here, chosen from the category and the signals. Nothing is paraphrased or invented, so a
field with no supporting sentence says that the ticket does not state it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from triage.local_models.classifier import classify
from triage.local_models.registry import Message
from triage.local_models.text import Specifics, extract_specifics, split_sentences, ticket_from_messages
from triage.local_models.urgency import UrgencyAssessment, assess
from triage.ticket_text import TicketText

TASK = "escalate_complex_issue"

_TRIED = re.compile(
    r"\b(?:tried|already|restart\w*|reinstall\w*|clear(?:ed)? (?:my |the )?cache|followed|rolled back|"
    r"contacted support|sent logs|regenerated|rotat\w+|switched|reconnected|checked)\b",
    re.IGNORECASE,
)
_IMPACT = re.compile(
    r"\b(?:users|team (?:is|are|can'?t|cannot|has been|have been)|agents|employees|customers|staff|people|"
    r"blocked|can'?t work|cannot work|idle|"
    r"losing|revenue|sales|orders|production|deadline|payroll|launch|tomorrow|contract|renewal|"
    r"alternatives|competitor|affected)\b",
    re.IGNORECASE,
)
_EVIDENCE = re.compile(
    r"\b(?:logs?|console|screenshot|request id|req_\w+|trace\w*|error|status page|stack|shows?|"
    r"[45]\d\ds?|\d{1,2}:\d{2}|INV-?\d+)\b",
    re.IGNORECASE,
)
# Sentences about what follows from the problem (threats, deadlines), not the problem itself.
_CONSEQUENCE = re.compile(
    r"\b(?:alternatives|competitor|another vendor|cancel (?:our|my|the)|deadline|launch|payroll|"
    r"board demo|threatening|escalate|churn|unless)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(r"^(?:thanks|thank you|cheers|best|best regards|regards|thx)\b", re.I)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^,.!?]{0,25}[,.!]\s*", re.I
)


@dataclass(frozen=True)
class Brief:
    summary: str
    problem: str
    impact: str
    evidence: str
    tried: str
    next_steps: list[str]

    def as_json(self) -> str:
        return json.dumps(self.__dict__)


def _content_sentences(ticket: TicketText) -> list[str]:
    sentences = []
    for sentence in split_sentences(_GREETING.sub("", ticket.body.strip(), count=1)):
        if _SIGN_OFF.match(sentence) and len(sentence.split()) <= 4:
            continue
        sentence = sentence[0].upper() + sentence[1:]
        sentences.append(sentence if sentence[-1] in ".!?" else sentence + ".")
    return sentences


def _next_steps(category: str, urgency: UrgencyAssessment, specifics: Specifics) -> list[str]:
    signals = urgency.signals
    steps: list[str] = []
    if signals.has("security"):
        steps.append(
            "Lock the affected account, revoke its sessions and API keys, and involve the security team."
        )
    if signals.has("data loss"):
        steps.append(
            "Check backups and the change history for the missing records before anything else is changed."
        )
    if signals.has("outage") or signals.has("many users blocked"):
        area = specifics.area or "affected service"
        steps.append(
            f"Check the health of the {area} and recent deploys; open an incident if it is not already open."
        )
    if specifics.errors:
        when = f" around {specifics.times[0].removeprefix('since ')}" if specifics.times else ""
        steps.append(
            f"Search the logs for {', '.join(specifics.errors[:2])}{when} and find the failing component."
        )
    if category == "billing":
        invoice = ", ".join(specifics.invoices[:2]) or "the customer's recent invoices"
        steps.append(
            f"Verify the charges on {invoice} in the billing system before promising any refund or credit."
        )
    if category == "account" and not signals.has("security"):
        steps.append("Check the account's login, SSO and API key history for what changed.")
    if signals.has("churn threat") or signals.enterprise:
        steps.append("Tell the account manager and agree who owns the relationship until this is resolved.")
    if not specifics.errors and category == "bug":
        steps.append("Ask the customer for the exact error, the time it started and a screenshot.")
    steps.append("Reply to the customer with what is being done and when they will hear from us next.")
    return steps


def write_brief(ticket: TicketText) -> Brief:
    category = classify(ticket).category
    urgency = assess(ticket)
    specifics = extract_specifics(ticket)
    sentences = _content_sentences(ticket)
    tried = [s for s in sentences if _TRIED.search(s)]
    impact = [s for s in sentences if s not in tried and _IMPACT.search(s)]
    evidence = [s for s in sentences if _EVIDENCE.search(s)]
    problem = [s for s in sentences if s not in tried and not _CONSEQUENCE.search(s)] or sentences
    problem_text = " ".join(problem[:2]) or ticket.subject
    tier = f"{ticket.customer_tier.capitalize()} customer" if ticket.customer_tier else "Customer"
    signals = ", ".join(urgency.signals.seen) or "none"
    summary = (
        f'{tier} reports "{ticket.subject or "a problem"}" ({category}, urgency {urgency.score}/5). '
        f"{problem[0] if problem else ''} Signals: {signals}."
    ).replace("  ", " ")
    impact_text = " ".join(impact[:3])
    if urgency.signals.seen:
        impact_text = f"{impact_text} Urgency signals: {signals}.".strip()
    return Brief(
        summary=summary,
        problem=problem_text,
        impact=impact_text or "Not stated in the ticket.",
        evidence=" ".join(dict.fromkeys(evidence[:3])) or "None provided in the ticket.",
        tried=" ".join(tried[:3]) or "Nothing stated in the ticket.",
        next_steps=_next_steps(category, urgency, specifics),
    )


class BriefWriter:
    slug = "local/brief-writer"
    tasks = frozenset({TASK})

    def reply(self, messages: Sequence[Message], *, task: str | None) -> str:
        if task != TASK:
            raise ValueError(f"{self.slug} only serves {TASK}, not {task!r}")
        return write_brief(ticket_from_messages(messages)).as_json()
