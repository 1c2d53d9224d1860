"""Outbound webhooks through the delivery service, against a real HTTP receiver on 127.0.0.1: signed,
in order per ticket, backed off and disabled when the receiver fails, given up after a day,
redelivered on request, and visible in /readyz and /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.support.webhook_receiver import WebhookReceiver
from triage.models import Delivery, Ticket, WebhookEndpoint
from triage.services.deliveries import (
    deliveries_record_reply_approved,
    deliveries_record_settled,
    deliveries_redeliver,
    deliveries_send_due,
    delivery_send,
    target_enable,
)
from triage.services.tickets import ticket_submit

pytestmark = pytest.mark.django_db

SECRET = "whsec-test-secret"
ALL_EVENTS = [e.value for e in WebhookEndpoint.Event]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret=SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def endpoint(
    presets: None, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> WebhookEndpoint:
    monkeypatch.setenv("TRIAGE_WEBHOOK_SECRET", SECRET)
    settings.TRIAGE_DELIVERY_BACKOFF_BASE_SECONDS = 0.01
    settings.TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS = 0.05
    return WebhookEndpoint.objects.create(
        name="ops", url=receiver.url, events=ALL_EVENTS, secret_env="TRIAGE_WEBHOOK_SECRET"
    )


def settled_ticket(
    *, status: str = Ticket.Status.TRIAGED, escalated: bool = False, subject: str = "Login broken"
) -> Ticket:
    ticket = ticket_submit(subject=subject, body="I cannot log in since this morning.", enqueue=False)
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status, category="account", urgency_score=4 if escalated else 2, escalated=escalated
    )
    return ticket


def send_all() -> None:
    """What the workers and the sweep do, in one thread: send every due delivery until none is left."""
    for _ in range(50):
        ids = list(
            Delivery.objects.filter(status=Delivery.Status.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return
        for pk in ids:
            delivery_send(delivery_id=pk)
        time.sleep(0.02)  # past the (test-short) backoff of a delivery that was deferred


def test_a_settled_ticket_is_announced_signed_with_the_ticket_and_its_steps(
    endpoint: Any, receiver: Any
) -> None:
    ticket = settled_ticket(escalated=True)
    rows = deliveries_record_settled(ticket.pk)
    assert [r.event for r in rows] == ["ticket.triaged", "ticket.escalated"]
    send_all()
    got = receiver.unique()
    assert [g.event for g in got] == ["ticket.triaged", "ticket.escalated"]
    assert all(g.signature_ok for g in receiver.received)
    first = got[0].body
    assert first["id"] == got[0].delivery_id == str(rows[0].uid)
    assert first["data"]["ticket"]["id"] == ticket.pk
    assert first["data"]["ticket"]["escalated"] is True
    assert first["data"]["ticket"]["body"] == "I cannot log in since this morning."
    assert {s["task"] for s in first["data"]["steps"]} >= {"classify_ticket", "urgency_detection"}
    delivered = Delivery.objects.get(pk=rows[0].pk)
    assert delivered.status == Delivery.Status.DELIVERED
    assert delivered.last_status_code == 200 and delivered.attempts == 1
    assert delivered.last_latency_ms is not None


def test_only_subscribed_events_and_enabled_endpoints_get_deliveries(endpoint: Any, receiver: Any) -> None:
    WebhookEndpoint.objects.create(
        name="escalations-only",
        url=receiver.url,
        events=["ticket.escalated"],
        secret_env="TRIAGE_WEBHOOK_SECRET",
    )
    WebhookEndpoint.objects.create(
        name="off", url=receiver.url, events=ALL_EVENTS, secret_env="TRIAGE_WEBHOOK_SECRET", enabled=False
    )
    calm = settled_ticket(status=Ticket.Status.NEEDS_ATTENTION)
    rows = deliveries_record_settled(calm.pk)
    assert [(r.endpoint.name, r.event) for r in rows] == [("ops", "ticket.needs_attention")]
    approved = deliveries_record_reply_approved(calm.pk)
    assert [(r.endpoint.name, r.event) for r in approved] == [("ops", "ticket.reply_approved")]


def test_a_receiver_that_fails_is_backed_off_then_everything_arrives_in_order(
    endpoint: Any, receiver: WebhookReceiver
) -> None:
    receiver.go_down(mode="refuse")
    tickets = [settled_ticket(escalated=True, subject=f"Outage {i}") for i in range(3)]
    for t in tickets:
        deliveries_record_settled(t.pk)
    for pk in Delivery.objects.order_by("pk").values_list("pk", flat=True):
        delivery_send(delivery_id=pk)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures >= 1 and endpoint.retry_at is not None
    failed = Delivery.objects.filter(attempts__gt=0)
    # the ticket's second event waits behind its first: only first-in-line deliveries were tried
    assert set(failed.values_list("event", flat=True)) == {"ticket.triaged"}
    assert "no answer" in failed.first().last_error
    receiver.come_back()
    send_all()
    got = receiver.unique()
    assert len(got) == 6
    for t in tickets:
        assert [g.event for g in got if g.ticket_id == t.pk] == ["ticket.triaged", "ticket.escalated"]
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.retry_at is None


def test_a_failing_endpoint_is_probed_by_one_delivery_at_a_time(endpoint: Any, receiver: Any) -> None:
    receiver.go_down(mode="503")
    for i in range(5):
        deliveries_record_settled(settled_ticket(subject=f"T{i}").pk)
    first = Delivery.objects.order_by("pk").first()
    delivery_send(delivery_id=first.pk)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(retry_at=timezone.now() - timedelta(seconds=1))
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    Delivery.objects.update(next_attempt_at=a_minute_ago, created_at=a_minute_ago)
    from unittest import mock

    with mock.patch("triage.services.deliveries.deliveries_enqueue") as enqueue:
        handed_on = deliveries_send_due()
    assert handed_on == 1  # one probe, not five requests at a receiver that is down
    assert len(enqueue.call_args.args[0]) == 1
    receiver.come_back()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0, retry_at=None)
    with mock.patch("triage.services.deliveries.deliveries_enqueue") as enqueue:
        assert deliveries_send_due() == 4  # healthy again: the four others go (the probe is queued already)


def test_the_sweep_leaves_a_new_delivery_to_its_own_message(endpoint: Any) -> None:
    from unittest import mock

    deliveries_record_settled(settled_ticket().pk)
    with mock.patch("triage.services.deliveries.deliveries_enqueue") as enqueue:
        assert deliveries_send_due() == 0
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=1))  # its message was lost
    with mock.patch("triage.services.deliveries.deliveries_enqueue") as enqueue:
        assert deliveries_send_due() == 1
    assert enqueue.call_args.args[0] == [Delivery.objects.get().pk]


def test_too_many_failures_in_a_row_disable_the_endpoint_and_turning_it_on_resumes(
    endpoint: Any, receiver: WebhookReceiver, client: Client
) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(max_consecutive_failures=3)
    receiver.go_down(mode="503")
    deliveries_record_settled(settled_ticket().pk)
    delivery = Delivery.objects.get()
    for _ in range(3):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(retry_at=None)
        Delivery.objects.update(next_attempt_at=timezone.now())
        delivery_send(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert "3 failed attempts in a row" in endpoint.disabled_reason
    assert "HTTP 503" in endpoint.disabled_reason
    # disabled: nothing is sent, the delivery stays pending (not lost)
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_id=delivery.pk) is False
    assert receiver.refused_503 == 3
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok"
    assert ready["deliveries"]["disabled_targets"][0]["webhook"] == "ops"
    assert ready["deliveries"]["pending"] == 1
    metrics = client.get("/metrics").content.decode()
    assert 'triage_delivery_target_disabled{kind="webhook",name="ops"} 1.0' in metrics
    assert 'triage_deliveries{status="pending"} 1.0' in metrics
    receiver.come_back()
    target_enable(endpoint)
    send_all()
    assert [g.event for g in receiver.unique()] == ["ticket.triaged"]
    assert Delivery.objects.get().attempts == 4


def test_a_429_waits_as_long_as_the_receiver_asks_without_counting_as_a_failure(
    endpoint: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    import httpx2

    settings.TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS = 3600  # the cap on what a receiver may ask for

    def rate_limited(self: Any, url: str, **kwargs: Any) -> httpx2.Response:
        return httpx2.Response(429, headers={"Retry-After": "120"}, text="slow down")

    monkeypatch.setattr(httpx2.Client, "post", rate_limited)
    deliveries_record_settled(settled_ticket().pk)
    delivery = Delivery.objects.get()
    before = timezone.now()
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 429
    assert delivery.next_attempt_at >= before + timedelta(seconds=119)
    assert endpoint.consecutive_failures == 0
    assert endpoint.retry_at == delivery.next_attempt_at


def test_deliveries_not_made_within_a_day_are_given_up(endpoint: Any) -> None:
    deliveries_record_settled(settled_ticket().pk)
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=25))
    deliveries_send_due()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "given up" in delivery.last_error


def test_redeliver_sends_the_same_delivery_id_again(endpoint: Any, receiver: WebhookReceiver) -> None:
    deliveries_record_settled(settled_ticket().pk)
    send_all()
    delivery = Delivery.objects.get()
    assert deliveries_redeliver([delivery.pk]) == 1
    send_all()
    ids = [r.delivery_id for r in receiver.received]
    assert ids == [str(delivery.uid), str(delivery.uid)]
    assert len(receiver.unique()) == 1  # a receiver that de-duplicates sees it once


def test_a_missing_signing_secret_is_a_failure_that_names_the_variable(
    endpoint: Any, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIAGE_WEBHOOK_SECRET")
    deliveries_record_settled(settled_ticket().pk)
    delivery_send(delivery_id=Delivery.objects.get().pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "TRIAGE_WEBHOOK_SECRET is not set" in delivery.last_error
    assert receiver.received == []


def test_two_workers_cannot_claim_the_same_delivery(endpoint: Any) -> None:
    from triage.services.deliveries import delivery_claim

    deliveries_record_settled(settled_ticket().pk)
    pk = Delivery.objects.get().pk
    assert delivery_claim(pk) is not None
    assert delivery_claim(pk) is None  # held by the first until it records the answer or its lease ends


def test_a_dead_receivers_backlog_does_not_starve_other_endpoints(endpoint: Any, receiver: Any) -> None:
    from unittest import mock

    dead = WebhookEndpoint.objects.create(
        name="dead", url="http://127.0.0.1:9/", events=ALL_EVENTS, secret_env="TRIAGE_WEBHOOK_SECRET"
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(events=["ticket.escalated"])
    for i in range(30):
        deliveries_record_settled(settled_ticket(subject=f"T{i}").pk)  # 30 for the dead one only
    deliveries_record_settled(settled_ticket(escalated=True, subject="Outage").pk)  # and one for each
    WebhookEndpoint.objects.filter(pk=dead.pk).update(disabled_at=timezone.now(), consecutive_failures=20)
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    Delivery.objects.update(created_at=a_minute_ago, next_attempt_at=a_minute_ago)
    with mock.patch("triage.services.deliveries.deliveries_enqueue") as enqueue:
        deliveries_send_due(limit=2)
    handed = Delivery.objects.filter(pk__in=enqueue.call_args.args[0])
    assert [d.endpoint.name for d in handed] == ["ops"]  # the live endpoint's delivery went out


def test_a_huge_retry_after_is_capped(endpoint: Any, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    import httpx2

    settings.TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS = 3600
    monkeypatch.setattr(
        httpx2.Client,
        "post",
        lambda self, url, **kw: httpx2.Response(503, headers={"Retry-After": "99999999999999"}),
    )
    deliveries_record_settled(settled_ticket().pk)
    delivery_send(delivery_id=Delivery.objects.get().pk)
    delivery = Delivery.objects.get()
    assert delivery.attempts == 1 and delivery.last_status_code == 503
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=3601)


def test_redelivering_a_given_up_delivery_restarts_its_clock(
    endpoint: Any, receiver: WebhookReceiver
) -> None:
    deliveries_record_settled(settled_ticket().pk)
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=25))
    deliveries_send_due()
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    deliveries_redeliver([Delivery.objects.get().pk])
    deliveries_send_due()  # the sweep doesn't give it up again at once
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    send_all()
    assert len(receiver.unique()) == 1
