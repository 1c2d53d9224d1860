"""The ticket page for a ticket from a connector: who wrote in, the email thread with attachments,
and what was sent out about it (webhooks, write-back) with its state. All of it escaped."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.web.conftest import HOSTILE
from triage.models import Connector, Delivery, TicketMessage, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_an_email_ticket_shows_the_sender_the_thread_and_what_was_sent_out(
    agent_client: Client, make_ticket: Any
) -> None:
    source = Connector.objects.create(name="support-mail", kind="postmark")
    ticket = make_ticket(
        subject="Invoice charged twice",
        body="We were charged twice for INV-20931.",
        connector=source,
        channel="email",
        external_id="abc-1@mail.example.com",
        customer_email="dana@example.com",
        customer_name="Dana Smith",
    )
    TicketMessage.objects.create(
        ticket=ticket,
        connector=source,
        message_id="abc-1@mail.example.com",
        body=ticket.body,
        attachments=[{"name": "invoice.pdf", "content_type": "application/pdf", "size": 48213, "stored": ""}],
    )
    TicketMessage.objects.create(
        ticket=ticket,
        connector=source,
        message_id="abc-2@mail.example.com",
        sender_email="dana@example.com",
        sender_name="Dana Smith",
        body=f"Any news? {HOSTILE}",
    )
    endpoint = WebhookEndpoint.objects.create(
        name="ops-hook", url="http://127.0.0.1:9/", events=["ticket.triaged"], secret_env="X"
    )
    now = timezone.now()
    made = {"endpoint": endpoint, "ticket": ticket, "payload": {}, "next_attempt_at": now}
    Delivery.objects.create(**made, event="ticket.triaged", status="delivered", attempts=1)
    Delivery.objects.create(
        **made, event="ticket.escalated", attempts=3, last_error="no answer: ConnectError"
    )
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Dana Smith &lt;dana@example.com&gt;" in html
    assert "support-mail" in html
    assert "invoice.pdf (application/pdf, 47.1\xa0KB)" in html
    assert "Replies in the thread" in html and "Any news?" in html
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "<code>ticket.triaged</code> to ops-hook: delivered" in html
    assert "ticket.escalated</code> to ops-hook: pending after 3 attempts" in html
    assert "no answer: ConnectError" in html


def test_a_ticket_from_the_api_shows_no_connector_sections(agent_client: Client, make_ticket: Any) -> None:
    html = agent_client.get(f"/tickets/{make_ticket().pk}/").content.decode()
    assert "Replies in the thread" not in html and "Sent out" not in html
