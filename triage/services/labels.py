"""Agents' labels: what agents' work says a ticket's category and urgency really are.

Two sources, read with the ORM only (no model is run here):

* **correction**: an agent corrected the ticket's category or urgency (a ``Feedback`` of kind
  correction on field ``category`` / ``urgency``). Its ``new_value`` is that field's label; when a
  field was corrected more than once, the latest correction wins. A field nobody corrected is not
  labeled (``None``): that the agent corrected one field doesn't vouch for the other.
* **confirmed**: nobody corrected the ticket's category or urgency, it was triaged at least
  ``TRIAGE_LABEL_CONFIRM_DAYS`` days ago (time for an agent to object), and its reply was approved
  without edits (``ApprovedReply.edited`` false: an agent read the ticket and accepted the result).
  Its current ``category`` and ``urgency_score`` are then the labels.

Used to retrain the built-in local models (``triage.services.retrain``) and to evaluate models
against what agents decided.

Generated text (the customer reply, the escalation brief) has no value to compare with a label:
agents judge the answer they were shown instead (``text_verdicts``). A thumb on the step says good
or bad of the model that served it; an approved reply says good of the draft's model when the agent
sent the draft unedited or kept at least ``DRAFT_KEPT`` of its words (difflib's similarity ratio
over word lists), bad when they rewrote it. Per model, the latest of these judgements wins.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from triage.models import ApprovedReply, Feedback, Router, Ticket, TriageStep
from triage.pipeline.subtasks import REPLY, URGENCY

LABELED_FIELDS = ("category", "urgency")
URGENCY_RANGE = range(1, 6)
DRAFT_KEPT = 0.9  # an approval that kept this share of the draft (difflib ratio) accepts the draft


@dataclass(frozen=True)
class AgentLabel:
    """One ticket's agent labels; ``category`` or ``urgency`` is ``None`` when not labeled."""

    ticket_id: int
    subject: str
    body: str
    customer_tier: str
    category: str | None
    urgency: int | None
    source: Literal["correction", "confirmed"]


def _category(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _urgency(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        score = int(value)
    except (TypeError, ValueError):
        return None
    return score if score in URGENCY_RANGE else None


def _corrections(router: Router | None) -> QuerySet[Feedback]:
    corrections = Feedback.objects.filter(kind=Feedback.Kind.CORRECTION, field__in=LABELED_FIELDS)
    return corrections if router is None else corrections.filter(ticket__router=router)


def corrected_values(*, router: Router | None = None) -> dict[int, dict[str, Any]]:
    """Per ticket id, the latest corrected value of each corrected field (``category``/``urgency``)."""
    latest: dict[int, dict[str, Any]] = {}
    # oldest first, so a later correction of the same field overwrites an earlier one
    rows = _corrections(router).order_by("created_at", "id").values_list("ticket_id", "field", "new_value")
    for ticket_id, field, value in rows.iterator():
        latest.setdefault(ticket_id, {})[field] = value
    return latest


def agent_labels(*, router: Router | None = None, now: datetime | None = None) -> list[AgentLabel]:
    """Every ticket agents labeled (of ``router``, or of all routers), ordered by ticket id."""
    now = now or timezone.now()
    corrected = corrected_values(router=router)
    tickets = Ticket.objects.all() if router is None else Ticket.objects.filter(router=router)
    fields = ("id", "subject", "body", "customer_tier", "category", "urgency_score")
    labels: list[AgentLabel] = []
    # a correlated EXISTS on the feedback's ticket index: PostgreSQL runs it as one index probe per
    # ticket even before it has statistics (an IN over a join to tickets was planned as nested loops
    # over both tables for 1,000 freshly written tickets: 18 s, against 0.13 s)
    any_correction = Exists(
        Feedback.objects.filter(
            ticket=OuterRef("pk"), kind=Feedback.Kind.CORRECTION, field__in=LABELED_FIELDS
        )
    )

    for ticket in tickets.filter(any_correction).only(*fields):
        values = corrected.get(ticket.id, {})
        category = _category(values.get("category"))
        urgency = _urgency(values.get("urgency"))
        if category is not None or urgency is not None:
            labels.append(_label(ticket, category, urgency, "correction"))

    confirmed = tickets.filter(
        ~any_correction,
        triaged_at__lte=now - timedelta(days=settings.TRIAGE_LABEL_CONFIRM_DAYS),
        approved_reply__edited=False,
    )
    for ticket in confirmed.only(*fields):
        category = _category(ticket.category)
        urgency = _urgency(ticket.urgency_score)
        if category is not None or urgency is not None:
            labels.append(_label(ticket, category, urgency, "confirmed"))

    return sorted(labels, key=lambda label: label.ticket_id)


def _label(
    ticket: Ticket, category: str | None, urgency: int | None, source: Literal["correction", "confirmed"]
) -> AgentLabel:
    return AgentLabel(
        ticket_id=ticket.id,
        subject=ticket.subject,
        body=ticket.body,
        customer_tier=ticket.customer_tier,
        category=category,
        urgency=urgency,
        source=source,
    )


@dataclass(frozen=True)
class TextVerdicts:
    """Agents' verdicts on one ticket's answers of a text task: model slug -> accepted."""

    ticket_id: int
    subject: str
    body: str
    customer_tier: str
    urgency: int | None  # the ticket's urgency (tiered pools serve by it)
    verdicts: dict[str, bool]
    source: Literal["verdict"] = "verdict"


def draft_kept(draft: str, sent: str) -> bool:
    """Whether the reply an agent sent kept the draft (at least ``DRAFT_KEPT`` similar, word by
    word: a few hundred words compare in well under a millisecond)."""
    draft_words, sent_words = draft.split(), sent.split()
    if draft_words == sent_words:
        return True
    matcher = difflib.SequenceMatcher(None, draft_words, sent_words, autojunk=False)
    # the cheap upper bounds first: most rewrites fail them without the full comparison
    return (
        matcher.real_quick_ratio() >= DRAFT_KEPT
        and matcher.quick_ratio() >= DRAFT_KEPT
        and matcher.ratio() >= DRAFT_KEPT
    )


def text_verdicts(*, task_name: str, router: Router | None = None) -> list[TextVerdicts]:
    """Every ticket (of ``router``, or all) whose ``task_name`` answer an agent judged, by ticket id.
    ``urgency`` is the one the answer was routed with (the current urgency step's score; an
    agent's later correction doesn't redraft the reply)."""
    events: list[tuple[datetime, int, str, bool]] = []  # (when, ticket, model, accepted)
    if task_name == REPLY:
        approvals = ApprovedReply.objects.exclude(draft_model="")
        if router is not None:
            approvals = approvals.filter(ticket__router=router)
        for when, ticket_id, model, edited, draft, sent in approvals.values_list(
            "approved_at", "ticket_id", "draft_model", "edited", "draft_text", "text"
        ).iterator():
            events.append((when, ticket_id, model, not edited or draft_kept(draft, sent)))
    thumbs = Feedback.objects.filter(
        task_name=task_name, kind__in=(Feedback.Kind.THUMBS_UP, Feedback.Kind.THUMBS_DOWN)
    ).exclude(model_slug="")
    if router is not None:
        thumbs = thumbs.filter(ticket__router=router)
    for when, ticket_id, model, kind in thumbs.values_list(
        "created_at", "ticket_id", "model_slug", "kind"
    ).iterator():
        events.append((when, ticket_id, model, kind == Feedback.Kind.THUMBS_UP))
    verdicts: dict[int, dict[str, bool]] = {}
    for _, ticket_id, model, accepted in sorted(events, key=lambda event: event[0]):
        verdicts.setdefault(ticket_id, {})[model] = accepted  # the latest judgement of a model wins
    routed_urgency = dict(
        TriageStep.objects.filter(
            ticket_id__in=list(verdicts), task_name=URGENCY, is_current=True
        ).values_list("ticket_id", "result__score")
    )
    tickets = Ticket.objects.filter(id__in=list(verdicts)).only(
        "id", "subject", "body", "customer_tier", "urgency_score"
    )
    return sorted(
        (
            TextVerdicts(
                ticket_id=ticket.id,
                subject=ticket.subject,
                body=ticket.body,
                customer_tier=ticket.customer_tier,
                urgency=_urgency(routed_urgency.get(ticket.id, ticket.urgency_score)),
                verdicts=verdicts[ticket.id],
            )
            for ticket in tickets
        ),
        key=lambda row: row.ticket_id,
    )
