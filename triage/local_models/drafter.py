"""``local/reply-drafter``: a short customer reply in the ticket's language, from an agent's approved
reply to a similar ticket or from templates filled with the ticket's own specifics.

The ticket's language is detected offline (``language.detect_language``; a text too short to tell
counts as English). The draft is the first of these that fits:

1. An approved reply (``examples``): the one an agent approved for the most similar earlier ticket
   in the same language, if it is similar enough, fitted to this ticket (its invoice numbers, order
   ids, amounts, error codes, times and the customer's name swapped in). An example that would keep
   anything of its own customer is passed over for the next closest.
2. Templates (``phrases``: English, German, French, Spanish, Portuguese, Italian and Dutch), chosen
   by the category and urgency the local classifier and scorer compute from the ticket text (the
   pipeline runs the steps concurrently, so they are not in the request) and filled only with
   values found in the ticket (invoice numbers, amounts, error codes, feature names, product area,
   times); a sentence whose value is missing is replaced, never left with a gap. For an English
   billing, account or how-to ticket whose routine question matches the shipped FAQ, the FAQ answer
   is the body (the FAQ is English only, so other languages never get one).
3. A ticket in any other language (Polish, Japanese...) gets an English reply that first says a
   colleague will answer in the customer's language, then names the specifics it understood; it
   guesses no category, since the models weren't trained on the language.

The JSON answer carries ``language`` (the ticket's language code) and ``language_supported``
(false when the reply is in English because the drafter can't write the ticket's language) besides
``reply``; the pipeline's reply parser reads only ``reply``.

Replies are at most four sentences and only promise what a person will do next: they never say a
refund was issued, a fix shipped or anything else was already done (an approved reply that does is
not reused).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from triage.local_models.classifier import classify
from triage.local_models.examples import example_reply, without_since
from triage.local_models.language import detect_language
from triage.local_models.phrases import (
    PHRASES,
    UNSUPPORTED_DETAILS,
    UNSUPPORTED_NOTICE,
    UNSUPPORTED_NOTICE_UNKNOWN,
    english_language_name,
    phrase,
)
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

Say = Callable[..., str]


@dataclass(frozen=True)
class Draft:
    reply: str
    language: str  # the ticket's language, "en" when undetermined
    language_supported: bool  # False: the reply is in English, not the ticket's language


def _joiner(say: Say) -> Callable[[Sequence[str]], str]:
    def join(values: Sequence[str]) -> str:
        if len(values) <= 1:
            return "".join(values)
        return ", ".join(values[:-1]) + f" {say('join.and')} " + values[-1]

    return join


def _opener(
    say: Say,
    category: str,
    urgency: UrgencyAssessment,
    specifics: Specifics,
    body: list[str],
    *,
    faq_answered: bool = False,
) -> str:
    signals = urgency.signals
    if signals.has("churn threat"):
        return say("opener.churn")
    if signals.has("security"):
        return say("opener.security")
    if urgency.score >= ESCALATION_SCORE:
        if signals.has("repeated failure"):
            return say("opener.again")
        return say("opener.disruption_team" if signals.has("many users blocked") else "opener.disruption")
    if urgency.sentiment in {"angry", "frustrated"}:
        return say("opener.frustration")
    if category == "other" and urgency.sentiment == "positive":
        return say("opener.kind")
    if category == "feature-request":
        return say("opener.suggestion")
    # A billing ticket, or a question the FAQ doesn't answer, that names an invoice: name it here
    # unless the body already does (a FAQ answer is about the question, not the invoice).
    if (
        (category == "billing" or (category == "how-to" and not faq_answered))
        and specifics.invoices
        and not any(specifics.invoices[0] in sentence for sentence in body)
    ):
        return say("opener.invoice", invoice=specifics.invoices[0])
    if category == "billing":
        return say("opener.billing")
    if category == "bug":
        return say("opener.bug_area", area=specifics.area) if specifics.area else say("opener.bug")
    if category == "account":
        return say("opener.account")
    if category == "how-to":
        return say("opener.question")
    return say("opener.plain")


def _details(say: Say, specifics: Specifics) -> str:
    """'the 502 Bad Gateway error on the dashboard (09:14 UTC onwards)', or '' when nothing specific
    is known."""
    parts = []
    if specifics.errors:
        errors = list(specifics.errors[:2])
        named = _joiner(say)(errors)
        # "the 500 Internal Server Error", not "the 500 Internal Server Error error".
        self_named = named.lower().endswith(("error", "exception"))
        plural = "_plural" if self_named and len(errors) > 1 else ("s" if len(errors) > 1 else "")
        parts.append(say(f"details.{'named' if self_named else 'error'}{plural}", errors=named))
        if specifics.area:
            parts.append(say("details.on_area", area=specifics.area))
    elif specifics.area:
        parts.append(say("details.problem_area", area=specifics.area))
    if specifics.times:
        if not parts:
            parts.append(say("details.problem"))
        parts.append(say("details.since", time=without_since(specifics.times[0])))
    return " ".join(parts)


def _body(
    say: Say, category: str, urgency: UrgencyAssessment, specifics: Specifics, faq: str | None, text: str
) -> list[str]:
    high = urgency.score >= ESCALATION_SCORE
    join = _joiner(say)
    if category == "billing":
        if faq and not high and not specifics.invoices:
            return [faq]
        if specifics.invoices:
            invoices = list(specifics.invoices[:2])
            key = "billing.invoices" if len(invoices) > 1 else "billing.invoice"
            if specifics.amounts:
                return [say(f"{key}_amount", invoices=join(invoices), amount=specifics.amounts[0])]
            return [say(key, invoices=join(invoices))]
        return [say("billing.charges"), say("billing.ask_invoice")]
    if category == "bug":
        details = _details(say, specifics)
        if high:
            first = say("bug.high", details=details) if details else say("bug.high_unspecified")
        else:
            first = say("bug.look", details=details) if details else say("bug.look_unspecified")
        return [first] if specifics.errors else [first, say("bug.ask_error")]
    if category == "account":
        if urgency.signals.has("security"):
            return [say("account.security_steps"), say("account.security_review")]
        if faq and not high:
            return [faq]
        if specifics.errors:
            return [say("account.access_errors", errors=join(list(specifics.errors[:2])))]
        return [say("account.access")]
    if category == "how-to":
        if faq:
            return [faq]
        if specifics.integration:
            return [say("howto.steps_integration", integration=specifics.integration)]
        if specifics.area:
            return [say("howto.steps_area", area=specifics.area)]
        return [say("howto.steps")]
    if category == "feature-request":
        if specifics.features:
            sentences = [say("feature.named", feature=specifics.features[0])]
        else:
            sentences = [say("feature.generic")]
        if specifics.area and specifics.errors:
            sentences.append(say("feature.separate_error", error=specifics.errors[0], area=specifics.area))
        elif _COMPLAINT.search(text):
            if specifics.area:
                sentences.append(say("feature.complaint_area", area=specifics.area))
            else:
                sentences.append(say("feature.complaint"))
        return sentences
    return [say("other.read")]


def _closing(say: Say, category: str, urgency: UrgencyAssessment, answered_from_faq: bool) -> str:
    if category == "other" and urgency.score < ESCALATION_SCORE:
        return ""  # the body already says a person will reply if needed
    if answered_from_faq:
        return say("closing.faq")
    if urgency.score >= ESCALATION_SCORE:
        return say("closing.updates")
    return say("closing.reply")


def _speaker(language: str) -> Say:
    """The phrase lookup for ``language``."""

    def say(key: str, **values: str) -> str:
        return phrase(language, key, **values)

    return say


def _named_for(language: str, specifics: Specifics) -> Specifics:
    """The specifics as ``language``'s sentences name them."""
    if language == "en" or not specifics.area:
        return specifics
    # The other languages name an area after a neutral noun, as a proper name: "im Bereich Export".
    return replace(specifics, area=specifics.area[0].upper() + specifics.area[1:])


def template_reply(ticket: TicketText, *, language: str = "en") -> str:
    """The reply from templates in ``language`` (one of ``phrases.PHRASES``)."""
    category = classify(ticket).category
    urgency = assess(ticket)
    say, specifics = _speaker(language), _named_for(language, extract_specifics(ticket))
    # A ticket is longer than a chat question, so it needs a closer match to get a FAQ answer.
    match = (
        faq_answer_for(ticket, minimum=TICKET_FAQ_SIMILARITY)
        if language == "en" and category in {"billing", "account", "how-to"}
        else None
    )
    faq = match.entry.answer if match else None
    body = _body(say, category, urgency, specifics, faq, ticket_text(ticket))
    faq_answered = faq is not None and faq in body
    sentences = [
        _opener(say, category, urgency, specifics, body, faq_answered=faq_answered),
        *body,
        _closing(say, category, urgency, faq_answered),
    ]
    return " ".join(_at_most([s for s in sentences if s], MAX_SENTENCES))


def unsupported_language_reply(ticket: TicketText, *, language: str) -> str:
    """An English reply saying a colleague will answer in the customer's language."""
    name = english_language_name(language)
    notice = UNSUPPORTED_NOTICE.format(language=name) if name else UNSUPPORTED_NOTICE_UNKNOWN
    specifics = extract_specifics(ticket)
    details = [*specifics.invoices[:1], *specifics.orders[:1], *specifics.errors[:1]]
    sentences = [
        notice,
        UNSUPPORTED_DETAILS.format(details=_joiner(_speaker("en"))(details)) if details else "",
        phrase("en", "closing.reply"),
    ]
    return " ".join(s for s in sentences if s)


def draft(ticket: TicketText) -> Draft:
    language = detect_language(ticket_text(ticket)).code or "en"
    adapted = example_reply(ticket, language=language)
    if adapted is not None:
        return Draft(adapted, language, True)
    if language not in PHRASES:
        return Draft(unsupported_language_reply(ticket, language=language), language, False)
    return Draft(template_reply(ticket, language=language), language, True)


def draft_reply(ticket: TicketText) -> str:
    return draft(ticket).reply


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
        result = draft(ticket_from_messages(messages))
        return json.dumps(
            {
                "reply": result.reply,
                "language": result.language,
                "language_supported": result.language_supported,
            }
        )
