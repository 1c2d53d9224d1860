"""Agent actions on a ticket: corrections, thumbs, reply approval, re-runs; with and without htmx."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client

from triage.models import ApprovedReply, Feedback, Ticket, TriageStep

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true", "HX-Target": "ticket-live"}


def test_category_correction_is_stored_as_feedback_with_the_model(
    agent_client: Client, agent_user: Any, make_ticket: Any
) -> None:
    ticket = make_ticket()
    response = agent_client.post(
        f"/tickets/{ticket.pk}/correct/", {"field": "category", "value": "billing"}, headers=HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="ticket-live"')
    assert "Category corrected." in html
    assert 'id="ticket-category">billing<' in html and "(model said bug)" in html
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.field, feedback.old_value, feedback.new_value) == (
        "correction",
        "category",
        "bug",
        "billing",
    )
    assert feedback.model_slug == "openai-gpt-5-nano"
    assert feedback.user == agent_user
    assert feedback.step == ticket.steps.get(task_name="classify_ticket", is_current=True)
    ticket.refresh_from_db()
    assert ticket.category == "billing"
    # the model's output stays as it was produced
    assert feedback.step.result["category"] == "bug"


def test_correction_without_htmx_redirects_back_to_the_ticket(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    response = agent_client.post(f"/tickets/{ticket.pk}/correct/", {"field": "urgency", "value": "5"})
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/#ticket-live"
    ticket.refresh_from_db()
    assert ticket.urgency_score == 5
    feedback = Feedback.objects.get()
    assert (feedback.old_value, feedback.new_value, feedback.model_slug) == (
        2,
        5,
        "anthropic-claude-haiku-4.5",
    )
    page = agent_client.get(response["Location"]).content.decode()
    assert "changed urgency from <strong>2</strong> to <strong>5</strong>" in page
    assert "Urgency corrected." in page  # the notice htmx shows in place, carried over the redirect
    assert "Urgency corrected." not in agent_client.get(response["Location"]).content.decode()  # once


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field": "category", "value": "weather"}, "is not one of this router"),
        ({"field": "urgency", "value": "9"}, "whole number from 1 to 5"),
        ({"field": "subject", "value": "x"}, "Select a valid choice"),
    ],
)
def test_invalid_corrections_show_an_error_and_store_nothing(
    agent_client: Client, make_ticket: Any, data: dict[str, str], message: str
) -> None:
    ticket = make_ticket()
    with_htmx = agent_client.post(f"/tickets/{ticket.pk}/correct/", data, headers=HX)
    assert with_htmx.status_code == 200 and message in with_htmx.content.decode()
    without = agent_client.post(f"/tickets/{ticket.pk}/correct/", data)
    assert without.status_code == 400 and message in without.content.decode()
    assert b"<html" in without.content
    assert not Feedback.objects.exists()


def test_thumbs_up_and_down_per_step(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    reply = ticket.steps.get(task_name="draft_customer_reply")
    response = agent_client.post(
        f"/tickets/{ticket.pk}/thumbs/", {"step": reply.pk, "vote": "down"}, headers=HX
    )
    assert response.status_code == 200
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.task_name, feedback.model_slug) == (
        "thumbs_down",
        "draft_customer_reply",
        "anthropic-claude-haiku-4.5",
    )
    assert 'value="down" aria-pressed="true"' in response.content.decode()
    agent_client.post(f"/tickets/{ticket.pk}/thumbs/", {"step": reply.pk, "vote": "up"})
    assert Feedback.objects.filter(kind="thumbs_up").count() == 1


def test_thumb_for_a_step_of_another_ticket_is_refused(agent_client: Client, make_ticket: Any) -> None:
    ticket, other = make_ticket(), make_ticket()
    step = other.steps.first()
    response = agent_client.post(f"/tickets/{ticket.pk}/thumbs/", {"step": step.pk, "vote": "up"}, headers=HX)
    assert "No such step on this ticket." in response.content.decode()
    assert not Feedback.objects.exists()


def test_approved_reply_is_stored_apart_from_the_draft(
    agent_client: Client, agent_user: Any, make_ticket: Any
) -> None:
    ticket = make_ticket()
    text = "Thanks for writing in. A fix for the export bug ships tomorrow."
    response = agent_client.post(f"/tickets/{ticket.pk}/reply/", {"text": text}, headers=HX)
    assert response.status_code == 200
    assert "Reply approved." in response.content.decode()
    approved = ApprovedReply.objects.get(ticket=ticket)
    assert approved.text == text and approved.edited
    assert approved.draft_text == "Thanks for writing in. We are looking at the export bug now."
    assert approved.draft_model == "anthropic-claude-haiku-4.5"
    assert approved.approved_by == agent_user
    step = ticket.steps.get(task_name="draft_customer_reply")
    assert step.result["reply"] == "Thanks for writing in. We are looking at the export bug now."
    assert Feedback.objects.get().kind == "approval"
    assert 'id="approved-reply"' in response.content.decode()


def test_approving_the_draft_unchanged_is_not_an_edit(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    draft = "Thanks for writing in. We are looking at the export bug now."
    response = agent_client.post(f"/tickets/{ticket.pk}/reply/", {"text": draft})
    assert response.status_code == 302
    assert not ApprovedReply.objects.get().edited


def test_empty_reply_is_refused(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    response = agent_client.post(f"/tickets/{ticket.pk}/reply/", {"text": "   "}, headers=HX)
    assert "This field is required." in response.content.decode()
    assert not ApprovedReply.objects.exists()


def test_rerun_one_step_retires_the_old_row_and_polls_again(
    agent_client: Client, make_ticket: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = make_ticket()
    with (
        mock.patch("triage.pipeline.tasks.triage_ticket_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = agent_client.post(f"/tickets/{ticket.pk}/rerun/", {"step": "classify_ticket"}, headers=HX)
    assert response.status_code == 200
    delay.assert_called_once_with(ticket.pk)
    html = response.content.decode()
    assert "Re-running classify_ticket." in html
    assert "every 1s" in html  # queued again: the live region polls
    assert Ticket.objects.get(pk=ticket.pk).status == "queued"
    rows = TriageStep.objects.filter(ticket=ticket, task_name="classify_ticket")
    assert rows.count() == 2 and rows.filter(is_current=True, status="pending").count() == 1


def test_rerun_all_steps_without_htmx(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    with mock.patch("triage.pipeline.tasks.triage_ticket_task.delay"):
        response = agent_client.post(f"/tickets/{ticket.pk}/rerun/", {"step": ""})
    assert response.status_code == 302
    assert TriageStep.objects.filter(ticket=ticket, is_current=True, status="pending").count() == 4


def test_rerun_unknown_step_is_refused(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    response = agent_client.post(f"/tickets/{ticket.pk}/rerun/", {"step": "make_coffee"}, headers=HX)
    assert "Select a valid choice" in response.content.decode()


def test_actions_need_post(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    for action in ("correct", "thumbs", "reply", "rerun"):
        assert agent_client.get(f"/tickets/{ticket.pk}/{action}/").status_code == 405
