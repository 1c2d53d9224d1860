"""``local/reply-drafter``: a short customer reply built from templates and the ticket's own specifics.

The reply depends on the category and urgency the local classifier and scorer compute from the
ticket text (the pipeline runs the steps concurrently, so they are not in the request). Templates
are filled only with values found in the ticket (invoice numbers, amounts, error codes, feature
names, product area, times); a sentence whose value is missing is replaced, never left with a gap.
Replies are at most four sentences and only promise what a person will do next: they never say a
refund was issued, a fix shipped or anything else was already done. FAQ answers are used where a
routine question matches the shipped FAQ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from triage.local_models.classifier import classify
from triage.local_models.registry import Message
from triage.local_models.support_bot import faq_answer_for
from triage.local_models.text import (
    Specifics,
    extract_specifics,
    split_sentences,
    ticket_from_messages,
    ticket_text,
)
from triage.local_models.urgency import ESCALATION_SCORE, UrgencyAssessment, assess
from triage.ticket_text import TicketText

TASK = "draft_customer_reply"
MAX_SENTENCES = 4
TICKET_FAQ_SIMILARITY = 0.7
_COMPLAINT = re.compile(
    r"\b(?:slow|crash\w*|broken|times? out|clunky|fails?|error|bug|doesn'?t work)\b", re.IGNORECASE
)


def _join(values: Sequence[str]) -> str:
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _opener(category: str, urgency: UrgencyAssessment, specifics: Specifics, body: list[str]) -> str:
    signals = urgency.signals
    if signals.has("churn threat"):
        return "I'm sorry we've let you down, and I understand you're weighing whether to stay with us."
    if signals.has("security"):
        return "Thank you for flagging this so quickly; we take possible unauthorised access very seriously."
    if urgency.score >= ESCALATION_SCORE:
        if signals.has("repeated failure"):
            return "I'm sorry this has happened again, and I understand how disruptive it is for your team."
        who = " to your team" if signals.has("many users blocked") else ""
        return f"I'm sorry for the disruption this is causing{who}."
    if urgency.sentiment in {"angry", "frustrated"}:
        return "I'm sorry for the frustration this has caused."
    if category == "other" and urgency.sentiment == "positive":
        return "Thank you for your kind message!"
    if category == "feature-request":
        return "Thank you for taking the time to share this with us."
    topic = {
        # Name the invoice here unless the next sentence already does.
        "billing": f"invoice {specifics.invoices[0]}"
        if specifics.invoices and not any(specifics.invoices[0] in sentence for sentence in body)
        else "your billing question",
        "bug": f"the problem with the {specifics.area}" if specifics.area else "the problem you're seeing",
        "account": "your account",
        "how-to": "your question",
        "feature-request": "your suggestion",
        "other": "",
    }[category]
    return f"Thanks for getting in touch about {topic}." if topic else "Thanks for getting in touch."


def _details(specifics: Specifics) -> str:
    """'the 502 Bad Gateway error on the dashboard since 09:14 UTC', or '' when nothing specific is known."""
    parts = []
    if specifics.errors:
        named = _join(list(specifics.errors[:2]))
        # "the 500 Internal Server Error", not "the 500 Internal Server Error error".
        noun = "" if named.lower().endswith(("error", "exception")) else " error"
        parts.append(f"the {named}{noun}{'s' if noun and len(specifics.errors) > 1 else ''}")
    if specifics.area:
        parts.append(f"{'on' if parts else 'with'} the {specifics.area}")
    if specifics.times:
        parts.append(f"({specifics.times[0].removeprefix('since ')} onwards)")
    if not parts:
        return ""
    text = " ".join(parts)
    return text if specifics.errors else f"the problem {text}"


def _body(
    category: str, urgency: UrgencyAssessment, specifics: Specifics, faq: str | None, text: str
) -> list[str]:
    high = urgency.score >= ESCALATION_SCORE
    if category == "billing":
        if faq and not high and not specifics.invoices:
            return [faq]
        if specifics.invoices:
            amount = f" for {specifics.amounts[0]}" if specifics.amounts else ""
            return [
                f"Our billing team will review invoice {_join(list(specifics.invoices[:2]))}{amount} "
                "and confirm exactly what was charged and why."
            ]
        return [
            "Our billing team will review the charges on your account and confirm what happened.",
            "If you can, please reply with the invoice number so we can find the charge quickly.",
        ]
    if category == "bug":
        details = _details(specifics)
        if high:
            first = (
                f"Our engineers are treating {details or 'this'} as high priority and will investigate it."
            )
        else:
            first = f"Our engineers will look into {details or 'this problem'}."
        if specifics.errors:
            return [first]
        return [
            first,
            "If you can, please reply with the exact error message and when it started, "
            "which helps us find the cause faster.",
        ]
    if category == "account":
        if urgency.signals.has("security"):
            return [
                "Please change your password and revoke any API keys or sessions "
                "you don't recognise right away.",
                "Our team will review the recent activity on your account with you.",
            ]
        if faq and not high:
            return [faq]
        errors = f" (including the {_join(list(specifics.errors[:2]))} responses)" if specifics.errors else ""
        return [f"Our account team will look into your access{errors} and reply here with next steps."]
    if category == "how-to":
        if faq:
            return [faq]
        where = (
            f" for the {specifics.integration} integration"
            if specifics.integration
            else (f" for the {specifics.area}" if specifics.area else "")
        )
        return [f"A member of our team will reply with step-by-step instructions{where}."]
    if category == "feature-request":
        feature = f"including adding {specifics.features[0]}" if specifics.features else "like this one"
        sentences = [
            f"Our product team reviews every suggestion, {feature}, though I can't promise a timeline."
        ]
        if specifics.area and specifics.errors:
            sentences.append(
                f"The {specifics.errors[0]} error on the {specifics.area} is a separate problem, "
                "and our engineers will look at it too."
            )
        elif _COMPLAINT.search(text):
            where = f" with the {specifics.area}" if specifics.area else ""
            sentences.append(
                f"The problem you mention{where} is in this ticket too, so our engineers can look at it."
            )
        return sentences
    return ["A member of our team will read your message and reply if anything is needed from us."]


def _closing(category: str, urgency: UrgencyAssessment, answered_from_faq: bool) -> str:
    if category == "other" and urgency.score < ESCALATION_SCORE:
        return ""  # the body already says a person will reply if needed
    if answered_from_faq:
        return "If that doesn't solve it, just reply here and we'll help further."
    if urgency.score >= ESCALATION_SCORE:
        return "We'll keep you updated here as soon as we know more."
    return "We'll reply here as soon as we've looked into it."


def draft_reply(ticket: TicketText) -> str:
    category = classify(ticket).category
    urgency = assess(ticket)
    specifics = extract_specifics(ticket)
    # A ticket is longer than a chat question, so it needs a closer match to get a FAQ answer.
    match = (
        faq_answer_for(ticket, minimum=TICKET_FAQ_SIMILARITY)
        if category in {"billing", "account", "how-to"}
        else None
    )
    faq = match.entry.answer if match else None
    body = _body(category, urgency, specifics, faq, ticket_text(ticket))
    sentences = [
        _opener(category, urgency, specifics, body),
        *body,
        _closing(category, urgency, faq is not None and faq in body),
    ]
    sentences = [sentence for sentence in sentences if sentence]
    return " ".join(_at_most(sentences, MAX_SENTENCES))


def _at_most(sentences: list[str], limit: int) -> list[str]:
    # Keep the opener and the closing; drop middle sentences first.
    while sum(len(split_sentences(s)) for s in sentences) > limit and len(sentences) > 2:
        del sentences[-2]
    return sentences


class ReplyDrafter:
    slug = "local/reply-drafter"
    tasks = frozenset({TASK})

    def reply(self, messages: Sequence[Message], *, task: str | None) -> str:
        if task != TASK:
            raise ValueError(f"{self.slug} only serves {TASK}, not {task!r}")
        return json.dumps({"reply": draft_reply(ticket_from_messages(messages))})
