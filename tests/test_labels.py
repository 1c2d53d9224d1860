"""Agents' labels: corrections (the latest wins) and confirmed tickets (old enough, reply approved
unedited, no correction)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from triage.models import ApprovedReply, Feedback, Router, Ticket
from triage.services.labels import AgentLabel, agent_labels

pytestmark = pytest.mark.django_db


@pytest.fixture
def router(presets: None) -> Router:
    return Router.objects.get(name="triage-router")


def make_ticket(
    router: Router,
    *,
    days_ago: float | None = 10,
    category: str = "billing",
    urgency: int | None = 2,
    approved: bool | None = True,
    edited: bool = False,
) -> Ticket:
    """A triaged ticket; ``approved``: its reply approved (``edited`` or not), ``None``: no approval."""
    now = timezone.now()
    ticket = Ticket.objects.create(
        subject="Charged twice",
        body="I was charged twice on INV-1234.",
        customer_tier="pro",
        router=router,
        status=Ticket.Status.TRIAGED,
        category=category,
        urgency_score=urgency,
        triaged_at=None if days_ago is None else now - timedelta(days=days_ago),
    )
    if approved:
        ApprovedReply.objects.create(
            ticket=ticket, text="Refunded.", draft_text="Refunded.", edited=edited, approved_at=now
        )
    return ticket


def correct(ticket: Ticket, field: str, old: object, new: object) -> Feedback:
    return Feedback.objects.create(
        ticket=ticket,
        task_name="classify_ticket" if field == "category" else "urgency_detection",
        kind=Feedback.Kind.CORRECTION,
        field=field,
        old_value=old,
        new_value=new,
    )


def by_ticket(labels: list[AgentLabel]) -> dict[int, AgentLabel]:
    return {label.ticket_id: label for label in labels}


def test_the_latest_correction_of_a_field_is_its_label(router: Router) -> None:
    ticket = make_ticket(router, days_ago=0, approved=None)
    correct(ticket, "category", "billing", "bug")
    correct(ticket, "category", "bug", "account")
    correct(ticket, "urgency", 2, 4)

    [label] = agent_labels()

    assert label == AgentLabel(
        ticket_id=ticket.id,
        subject="Charged twice",
        body="I was charged twice on INV-1234.",
        customer_tier="pro",
        category="account",
        urgency=4,
        source="correction",
    )


def test_a_correction_labels_only_the_corrected_field_and_wins_over_confirmation(router: Router) -> None:
    # old enough and approved unedited, but an agent corrected its urgency: only that is a label
    ticket = make_ticket(router, days_ago=30, category="billing", urgency=3)
    correct(ticket, "urgency", 3, 5)
    # a thumb or an approval is not a correction
    Feedback.objects.create(ticket=ticket, task_name="classify_ticket", kind=Feedback.Kind.THUMBS_UP)

    [label] = agent_labels()

    assert (label.category, label.urgency, label.source) == (None, 5, "correction")


def test_an_unusable_corrected_value_is_no_label(router: Router) -> None:
    ticket = make_ticket(router, approved=None)
    correct(ticket, "urgency", 2, 9)
    correct(ticket, "category", "billing", "")
    assert agent_labels() == []


def test_a_confirmed_ticket_labels_its_current_category_and_urgency(router: Router) -> None:
    ticket = make_ticket(router, days_ago=8, category="bug", urgency=4)

    [label] = agent_labels()

    assert (label.ticket_id, label.category, label.urgency, label.source) == (
        ticket.id,
        "bug",
        4,
        "confirmed",
    )


def test_confirmation_needs_age_an_unedited_approval_and_no_correction(router: Router) -> None:
    confirmed = make_ticket(router, days_ago=8)
    make_ticket(router, days_ago=2)  # too recent: an agent may still object
    make_ticket(router, days_ago=None)  # never triaged
    make_ticket(router, edited=True)  # the agent rewrote the reply
    make_ticket(router, approved=None)  # nobody approved anything
    corrected = make_ticket(router)
    correct(corrected, "category", "billing", "bug")

    labels = by_ticket(agent_labels())

    assert set(labels) == {confirmed.id, corrected.id}
    assert labels[confirmed.id].source == "confirmed"
    assert (labels[corrected.id].source, labels[corrected.id].urgency) == ("correction", None)


def test_the_confirmation_age_is_a_setting(router: Router, settings: Any) -> None:
    ticket = make_ticket(router, days_ago=2)
    assert agent_labels() == []
    settings.TRIAGE_LABEL_CONFIRM_DAYS = 1
    assert [label.ticket_id for label in agent_labels()] == [ticket.id]


def test_labels_of_one_router(router: Router) -> None:
    other = Router.objects.create(name="other-router")
    mine = make_ticket(router)
    theirs = make_ticket(other)
    correct(theirs, "category", "billing", "bug")

    assert [label.ticket_id for label in agent_labels(router=router)] == [mine.id]
    assert [label.ticket_id for label in agent_labels(router=other)] == [theirs.id]
    assert len(agent_labels()) == 2


# --- agents' verdicts on generated text (the reply, the brief) ------------------------------------
def _thumb(ticket: Ticket, task: str, model: str, up: bool) -> Feedback:
    return Feedback.objects.create(
        ticket=ticket,
        task_name=task,
        kind=Feedback.Kind.THUMBS_UP if up else Feedback.Kind.THUMBS_DOWN,
        field="",
        model_slug=model,
    )


def _approve(ticket: Ticket, draft: str, sent: str, model: str) -> None:
    ApprovedReply.objects.create(
        ticket=ticket,
        text=sent,
        draft_text=draft,
        draft_model=model,
        edited=sent != draft,
        approved_at=timezone.now(),
    )


DRAFT = (
    "Thanks for letting us know about the double charge on INV-1234. We are checking it with billing "
    "and will write back today."
)


def test_a_draft_sent_as_written_or_nearly_is_accepted_and_a_rewrite_is_not(router: Router) -> None:
    from triage.services.labels import draft_kept, text_verdicts

    as_written = make_ticket(router, approved=None)
    _approve(as_written, DRAFT, DRAFT, "nano")
    nearly = make_ticket(router, approved=None)
    _approve(nearly, DRAFT, DRAFT.replace("Thanks", "Thank you"), "nano")
    rewritten = make_ticket(router, approved=None)
    _approve(rewritten, DRAFT, "Hi Dana, your refund for the second charge is on its way.", "nano")
    verdicts = {row.ticket_id: row.verdicts for row in text_verdicts(task_name="draft_customer_reply")}
    assert verdicts == {
        as_written.pk: {"nano": True},
        nearly.pk: {"nano": True},
        rewritten.pk: {"nano": False},
    }
    assert draft_kept(DRAFT, DRAFT + " ") and not draft_kept(DRAFT, "Refund issued.")


def test_thumbs_judge_the_model_that_served_and_the_latest_wins_over_an_approval(router: Router) -> None:
    from triage.services.labels import text_verdicts

    ticket = make_ticket(router, approved=None, urgency=5)
    _approve(ticket, DRAFT, DRAFT, "nano")
    _thumb(ticket, "draft_customer_reply", "nano", up=False)  # sent, then judged bad: the thumb wins
    brief = make_ticket(router, approved=None)
    _thumb(brief, "escalate_complex_issue", "sonnet", up=False)
    _thumb(brief, "escalate_complex_issue", "sonnet", up=True)  # changed their mind
    _thumb(brief, "escalate_complex_issue", "opus", up=False)
    replies = text_verdicts(task_name="draft_customer_reply")
    assert [(r.ticket_id, r.verdicts, r.urgency) for r in replies] == [(ticket.pk, {"nano": False}, 5)]
    briefs = text_verdicts(task_name="escalate_complex_issue", router=router)
    assert [(r.ticket_id, r.verdicts) for r in briefs] == [(brief.pk, {"sonnet": True, "opus": False})]
    # a thumb on another task's step is not a verdict on this one
    assert text_verdicts(task_name="escalate_complex_issue", router=Router.objects.create(name="other")) == []


def test_an_approval_after_a_thumb_down_wins(router: Router) -> None:
    from triage.services.labels import text_verdicts

    ticket = make_ticket(router, approved=None)
    _thumb(ticket, "draft_customer_reply", "nano", up=False)  # the first draft, judged bad
    _approve(ticket, DRAFT, DRAFT, "nano")  # re-run, and the new draft sent as written
    assert [r.verdicts for r in text_verdicts(task_name="draft_customer_reply")] == [{"nano": True}]


def test_the_verdicts_carry_the_urgency_the_answer_was_routed_with(router: Router) -> None:
    from triage.models import TriageStep
    from triage.services.labels import text_verdicts

    ticket = make_ticket(router, approved=None, urgency=5)  # an agent corrected 2 -> 5 afterwards
    TriageStep.objects.create(
        ticket=ticket, task_name="urgency_detection", status="done", result={"score": 2}
    )
    _approve(ticket, DRAFT, DRAFT, "nano")
    assert [r.urgency for r in text_verdicts(task_name="draft_customer_reply")] == [2]
