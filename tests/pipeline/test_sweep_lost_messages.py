"""A queued ticket whose message the broker lost (a Redis restarted without persistence) is sent
again by the sweep: after TRIAGE_RESEND_QUEUED_SECONDS in general, after the short grace
(TRIAGE_RESEND_QUEUED_EMPTY_SECONDS) when the broker's triage queue is empty."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from triage.models import Router, Ticket
from triage.pipeline import tasks, triage

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(tasks.triage_ticket_task, "delay", lambda ticket_id: sent.append(ticket_id))
    return sent


def _queued(seconds_ago: float) -> Ticket:
    router = Router.objects.get_or_create(name="sweep-router")[0]
    ticket = Ticket.objects.create(router=router, subject="Export fails", body="It fails.")
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds_ago))
    return ticket


def _broker_empty(monkeypatch: pytest.MonkeyPatch, empty: bool) -> list[int]:
    asked: list[int] = []

    def answer() -> bool:
        asked.append(1)
        return empty

    monkeypatch.setattr(triage, "broker_queue_is_empty", answer)
    return asked


def test_an_empty_broker_queue_means_the_message_is_lost(monkeypatch: Any, sent: list[int]) -> None:
    _broker_empty(monkeypatch, True)
    lost, fresh = _queued(60), _queued(5)
    assert triage.tickets_sweep_stuck() == [lost.pk] and sent == [lost.pk]
    # sent once: the next sweep waits for the grace again
    assert triage.tickets_sweep_stuck() == [] and sent == [lost.pk]
    assert fresh.pk not in sent


def test_with_messages_waiting_a_queued_ticket_is_sent_again_only_after_the_long_wait(
    monkeypatch: Any, sent: list[int]
) -> None:
    _broker_empty(monkeypatch, False)
    waiting, old = _queued(60), _queued(301)
    assert triage.tickets_sweep_stuck() == [old.pk] and waiting.pk not in sent


def test_the_broker_is_asked_only_past_the_grace(monkeypatch: Any, sent: list[int]) -> None:
    asked = _broker_empty(monkeypatch, True)
    _queued(5)
    assert triage.tickets_sweep_stuck() == [] and asked == []


def test_tickets_of_the_synchronous_triage_api_keep_the_long_wait(monkeypatch: Any, sent: list[int]) -> None:
    # /triage stores its tickets queued and triages them in the request's threads: no message
    _broker_empty(monkeypatch, True)
    compat = _queued(60)
    Ticket.objects.filter(pk=compat.pk).update(channel=Ticket.Channel.COMPAT)
    assert triage.tickets_sweep_stuck() == [] and sent == []


def test_a_broker_that_cannot_answer_counts_as_not_empty(monkeypatch: Any) -> None:
    from triage_site.celery import app

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("LOADING Redis is loading the dataset in memory")

    monkeypatch.setattr(app, "connection_for_write", broken)
    assert triage.broker_queue_is_empty() is False
