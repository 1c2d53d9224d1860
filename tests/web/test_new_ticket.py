"""The new-ticket form: the same service as the API, its errors inline."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client

from triage.models import Ticket

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true", "HX-Target": "ticket-form"}
GOOD = {
    "subject": "Cannot log in",
    "body": "The login page loops.",
    "customer_tier": "pro",
    "account_id": "a-1",
}


@pytest.fixture(autouse=True)
def _no_worker() -> Any:
    with mock.patch("triage.pipeline.tasks.triage_ticket_task.delay") as delay:
        yield delay


def test_form_page(agent_client: Client, presets: None) -> None:
    html = agent_client.get("/tickets/new/").content.decode()
    assert 'name="subject"' in html and 'name="body"' in html and 'name="customer_tier"' in html
    assert 'hx-post="/tickets/new/"' in html and 'method="post" action="/tickets/new/"' in html


def test_submit_without_htmx_redirects_to_the_new_ticket(agent_client: Client, presets: None) -> None:
    response = agent_client.post("/tickets/new/", GOOD)
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.pk}/"
    assert (ticket.channel, ticket.customer_tier, ticket.account_id) == ("web", "pro", "a-1")
    assert ticket.steps.filter(is_current=True).count() == 4


def test_submit_with_htmx_asks_the_browser_to_navigate(
    agent_client: Client, presets: None, django_capture_on_commit_callbacks: Any, _no_worker: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post("/tickets/new/", GOOD, headers=HX)
    ticket = Ticket.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/tickets/{ticket.pk}/"
    _no_worker.assert_called_once_with(ticket.pk)


def test_validation_errors_are_shown_inline_with_htmx(agent_client: Client, presets: None) -> None:
    response = agent_client.post("/tickets/new/", {**GOOD, "subject": "", "body": ""}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="ticket-form"')
    assert 'id="subject-errors"' in html and "This field cannot be blank." in html
    assert 'aria-invalid="true"' in html
    assert 'value="a-1"' in html  # what the agent typed is kept
    assert not Ticket.objects.exists()


def test_validation_errors_without_htmx_render_the_page(agent_client: Client, presets: None) -> None:
    response = agent_client.post("/tickets/new/", {**GOOD, "body": ""})
    assert response.status_code == 400
    assert b"<html" in response.content and b"This field cannot be blank." in response.content


def test_too_long_subject_is_refused(agent_client: Client, presets: None) -> None:
    response = agent_client.post("/tickets/new/", {**GOOD, "subject": "x" * 201}, headers=HX)
    assert "at most 200 characters" in response.content.decode()
    assert not Ticket.objects.exists()


def test_missing_default_router_is_explained(agent_client: Client, db: None) -> None:
    response = agent_client.post("/tickets/new/", GOOD, headers=HX)
    assert "default router does not exist" in response.content.decode()
