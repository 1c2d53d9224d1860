"""Connectors end to end with the real parts: a helpdesk webhook in through the URL, a real Celery worker
(with beat) triaging on the built-in local models, write-back to fake Zendesk and Freshdesk servers
that check paths, auth and bodies and answer 429 now and then, and signed webhooks to a receiver
that goes down and comes back. Nothing is lost, nothing is seen twice, order per ticket holds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.pipeline.worker import LiveWorker
from tests.support.fake_helpdesks import FakeFreshdesk, FakeZendesk, zendesk_signed_post
from tests.support.webhook_receiver import WebhookReceiver
from triage.models import Connector, Delivery, Ticket, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

ZD_EMAIL, ZD_TOKEN, ZD_SECRET = "bot@acme.test", "zd-api-token", "zd-webhook-secret"
FD_KEY, FD_SECRET = "fd-api-key", "fd-shared-secret"
HOOK_SECRET = "hook-secret"
SETTLED = (Ticket.Status.TRIAGED, Ticket.Status.NEEDS_ATTENTION, Ticket.Status.FAILED)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ZENDESK_EMAIL": ZD_EMAIL,
        "ZENDESK_API_TOKEN": ZD_TOKEN,
        "ZENDESK_WEBHOOK_SECRET": ZD_SECRET,
        "FRESHDESK_API_KEY": FD_KEY,
        "FRESHDESK_WEBHOOK_SECRET": FD_SECRET,
        "TRIAGE_WEBHOOK_SECRET": HOOK_SECRET,
        # seconds, not minutes: an outage of a few seconds stands for one of ten minutes
        "TRIAGE_DELIVERY_BACKOFF_BASE_SECONDS": "0.2",
        "TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS": "1",
        "TRIAGE_DELIVERY_SWEEP_SECONDS": "0.5",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def worker(transactional_db: None, env: None, tmp_path: Path) -> Iterator[LiveWorker]:
    from triage.services.presets import presets_load
    from triage_site.celery import app

    presets_load()
    app.control.purge()
    live = LiveWorker(concurrency=8, log=tmp_path / "worker.log", beat=True).start()
    try:
        yield live
    finally:
        live.stop()


def wait_for(condition: Callable[[], bool], *, timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def zendesk_webhook(client: Client, ticket_id: int, subject: str, description: str) -> Any:
    body = json.dumps(
        {
            "ticket_id": str(ticket_id),
            "subject": subject,
            "description": description,
            "requester_email": "ops@bigshop.example",
            "requester_name": "Big Shop Ops",
            "tags": "vip tier_enterprise",
        }
    ).encode()
    return zendesk_signed_post(client, "/inbound/zendesk/acme", body, secret=ZD_SECRET)


def test_zendesk_ticket_in_triaged_and_written_back_through_429s_and_an_outage(worker: LiveWorker) -> None:
    zendesk = FakeZendesk(email=ZD_EMAIL, api_token=ZD_TOKEN).start()
    try:
        Connector.objects.create(
            name="acme",
            kind="zendesk",
            secret_env="ZENDESK_WEBHOOK_SECRET",
            base_url=zendesk.base_url,
            credential_envs={"email": "ZENDESK_EMAIL", "api_token": "ZENDESK_API_TOKEN"},
        )
        for zid in (4711, 4712):
            zendesk.add_ticket(zid, tags=["vip"])
        zendesk.rate_limit_every(3, retry_after=1)
        zendesk.go_down("close")  # the helpdesk is down when the results are ready
        client = Client()
        outage_text = (
            "Since 09:10 UTC our checkout is completely down for all 300 of our users. No customer can pay "
            "and we are losing revenue every minute. Production outage, please escalate."
        )
        first = zendesk_webhook(client, 4711, "Production outage: checkout down for all users", outage_text)
        assert first.status_code == 201, first.content
        zendesk_webhook(client, 4712, "How do I export invoices?", "Where is the export button for invoices?")
        assert zendesk_webhook(client, 4711, "Production outage", "redelivered").status_code == 200
        wait_for(lambda: Ticket.objects.filter(status__in=SETTLED).count() == 2, what="both tickets settled")
        wait_for(lambda: Delivery.objects.filter(attempts__gt=0).exists(), what="a write-back attempt")
        time.sleep(1.5)
        zendesk.come_back()
        wait_for(
            lambda: Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 2,
            what="both write-backs delivered",
        )
        outage = Ticket.objects.get(external_id="4711")
        stored = zendesk.ticket(4711)
        assert "vip" in stored["tags"]  # the agent's tag survives
        assert f"triage_{outage.category}" in stored["tags"]
        assert outage.escalated and "triage_escalated" in stored["tags"]
        assert stored["priority"] == "urgent"
        comments = [c for c in stored["comments"] if not c["public"]]
        assert len(comments) == 1 and "AI triage" in comments[0]["body"]
        assert "Escalation brief" in comments[0]["body"]
        assert outage.customer_tier == "enterprise"
        assert any(r.status == 429 for r in zendesk.requests)  # it was rate-limited and waited
    finally:
        zendesk.stop()


def test_freshdesk_write_back_sets_priority_tags_and_a_private_note(worker: LiveWorker) -> None:
    freshdesk = FakeFreshdesk(api_key=FD_KEY).start()
    try:
        Connector.objects.create(
            name="acme-fd",
            kind="freshdesk",
            secret_env="FRESHDESK_WEBHOOK_SECRET",
            base_url=freshdesk.base_url,
            credential_envs={"api_key": "FRESHDESK_API_KEY"},
        )
        freshdesk.add_ticket(88, tags=["from-portal"])
        freshdesk.rate_limit_every(2, retry_after=1)
        body = {
            "ticket_id": "88",
            "subject": "Refund for a double charge",
            "description": "Charged twice for INV-20931.",
            "tags": ["from-portal"],
        }
        response = Client().post(
            "/inbound/freshdesk/acme-fd",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_X_TRIAGE_SECRET=FD_SECRET,
        )
        assert response.status_code == 201, response.content
        wait_for(
            lambda: Delivery.objects.filter(status=Delivery.Status.DELIVERED).exists(), what="the write-back"
        )
        stored = freshdesk.ticket(88)
        ticket = Ticket.objects.get()
        assert "from-portal" in stored["tags"] and f"triage_{ticket.category}" in stored["tags"]
        assert stored["priority"] in (1, 2, 3, 4)
        notes = stored["comments"]
        assert len(notes) == 1 and notes[0]["private"] is True and "AI triage" in notes[0]["body"]
    finally:
        freshdesk.stop()


def test_webhooks_reach_a_receiver_that_was_down_all_in_order_and_each_once(
    worker: LiveWorker, client: Client
) -> None:
    receiver = WebhookReceiver(secret=HOOK_SECRET).start()
    try:
        WebhookEndpoint.objects.create(
            name="ops",
            url=receiver.url,
            events=[e.value for e in WebhookEndpoint.Event],
            secret_env="TRIAGE_WEBHOOK_SECRET",
        )
        receiver.go_down(mode="refuse")
        from triage.services.tickets import ticket_submit

        ids = [
            ticket_submit(
                subject=f"Outage {i}", body="Checkout is down for all 200 of our users, since 09:00."
            ).pk
            for i in range(4)
        ] + [ticket_submit(subject="Invoice copy", body="Could you send me last month's invoice?").pk]
        wait_for(lambda: Ticket.objects.filter(status__in=SETTLED).count() == 5, what="all tickets settled")
        wait_for(lambda: Delivery.objects.filter(attempts__gt=0).exists(), what="a failed attempt")
        time.sleep(2)
        came_back = time.time()
        receiver.come_back()
        expected = Delivery.objects.count()
        wait_for(lambda: len(receiver.unique()) == expected, what="every delivery")
        got = receiver.unique()
        assert all(g.arrived >= came_back for g in got)
        escalated = set(Ticket.objects.filter(escalated=True).values_list("pk", flat=True))
        assert escalated, "the outage tickets are escalated by the local tier"
        for ticket_id in ids:
            events = [g.event for g in got if g.ticket_id == ticket_id]
            status_event = (
                "ticket.triaged"
                if Ticket.objects.get(pk=ticket_id).status == "triaged"
                else "ticket.needs_attention"
            )
            assert events == [status_event] + (["ticket.escalated"] if ticket_id in escalated else [])
        assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == expected
        ready = client.get("/readyz").json()
        assert ready["deliveries"]["pending"] == 0 and ready["deliveries"]["disabled_targets"] == []
    finally:
        receiver.stop()
