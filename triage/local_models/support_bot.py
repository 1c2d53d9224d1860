"""``local/support-bot``: the support chat bot's last resort when every remote model is down.

It answers a FAQ-like question from the shipped FAQ (see ``faq``) and nothing else; any other
question gets an honest apology and the promise that a person will follow up, naming the
specifics it understood (an invoice number, an error code) so the customer knows they were read.

Task choice: ``tasks`` is empty, meaning "any request", because the support-bot router falls back
to this model for requests that matched none of its tasks (``task=None``); an explicit set would
make ``local_model_serves`` refuse those. The four triage tasks are declared in ``refuses``, so a
router that lists it as a fallback never asks it one (and ``reply`` refuses them with a ValueError).
The answer is plain text, not JSON.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from triage.local_models.faq import FaqMatch, faq_index
from triage.local_models.registry import Message
from triage.local_models.text import extract_specifics, ticket_from_messages, ticket_text
from triage.ticket_text import TicketText

SUPPORT_TASKS = frozenset({"general_faq", "billing_support", "technical_troubleshooting"})
TRIAGE_TASKS = frozenset(
    {"classify_ticket", "urgency_detection", "draft_customer_reply", "escalate_complex_issue"}
)
FAQ_SIMILARITY = 0.55
# A problem report needs a near-verbatim FAQ match: a policy answer to "I was charged twice" is not help.
PROBLEM_FAQ_SIMILARITY = 0.85
_PROBLEM = re.compile(
    r"\b(?:wrong|twice|still|fail\w*|crash\w*|error\w*|broken|not working|doesn'?t work|can'?t|cannot|"
    r"won'?t|charged|billed|keeps|invalid|timing out|timeout|higher|unexpected|why|[45]\d\ds?)\b",
    re.IGNORECASE,
)


def faq_answer_for(ticket: TicketText, *, minimum: float = FAQ_SIMILARITY) -> FaqMatch | None:
    """The FAQ entry that answers this question, if one clearly does."""
    text = ticket_text(ticket)
    match = faq_index().match(text)
    if match is None:
        return None
    needed = PROBLEM_FAQ_SIMILARITY if _PROBLEM.search(text) else minimum
    return match if match.similarity >= needed else None


def apology(ticket: TicketText, task: str | None) -> str:
    specifics = extract_specifics(ticket)
    details = [*specifics.invoices[:1], *specifics.errors[:1]]
    team = {"billing_support": "billing", "technical_troubleshooting": "technical support"}.get(
        task or "", "support"
    )
    noted = f" They will see the details you gave, including {' and '.join(details)}." if details else ""
    return (
        "I'm sorry, I can't answer this reliably right now."
        f" A member of our {team} team will follow up with you here as soon as possible.{noted}"
    )


class SupportBot:
    slug = "local/support-bot"
    tasks: frozenset[str] = frozenset()
    refuses: frozenset[str] = TRIAGE_TASKS

    def reply(self, messages: Sequence[Message], *, task: str | None) -> str:
        if task in TRIAGE_TASKS:
            raise ValueError(f"{self.slug} does not serve the triage task {task!r}")
        ticket = ticket_from_messages(messages)
        match = faq_answer_for(ticket)
        if match is not None:
            return match.entry.answer
        return apology(ticket, task)
