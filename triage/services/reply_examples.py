"""Agents' approved replies as the offline reply drafter's examples (``triage.local_models.examples``).

Every approved reply counts, edited or not (``reply_approve`` stores one per ticket). The drafter
asks for ``reply_examples_version`` (one aggregate query) at most every few seconds and loads the
examples only when it changed. Read-only: this module never writes a row.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max
from django.db.models.functions import Left, Right

from triage.local_models.examples import ReplyExample, set_example_source
from triage.local_models.language import detect_language
from triage.local_models.text import MAX_BODY_CHARS
from triage.models import ApprovedReply

# The newest approvals are the examples: enough to cover the recurring questions, and the index
# over them rebuilds in about a second.
MAX_EXAMPLES = 2000
# Of a long body, the drafter reads what it reads of a new ticket, and the end (where it is signed).
SIGNATURE_CHARS = 300


def reply_examples_version() -> tuple[int, datetime | None]:
    """Changes whenever a reply is approved, re-approved or deleted with its ticket."""
    latest = ApprovedReply.objects.aggregate(count=Count("id"), latest=Max("approved_at"))
    return latest["count"], latest["latest"]


def reply_examples() -> list[ReplyExample]:
    """The newest approved replies with their tickets, newest first."""
    rows = (
        ApprovedReply.objects.order_by("-approved_at", "-id")
        .annotate(head=Left("ticket__body", MAX_BODY_CHARS), tail=Right("ticket__body", SIGNATURE_CHARS))
        .values_list("ticket__subject", "head", "tail", "ticket__language", "ticket__account_id", "text")
    )[:MAX_EXAMPLES]
    examples = []
    for subject, head, tail, language, account_id, text in rows:
        body = head if len(head) < MAX_BODY_CHARS else f"{head}\n{tail}"
        examples.append(
            ReplyExample(
                subject=subject,
                body=body,
                reply=text,
                # Tickets stored before languages were detected have none: detect it now.
                language=language or detect_language(f"{subject}\n{body}").code or "en",
                account_id=account_id,
            )
        )
    return examples


def reply_examples_connect() -> None:
    set_example_source(reply_examples, version=reply_examples_version)
