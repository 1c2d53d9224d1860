"""The audit trail: rows written off the request path by a per-process writer, none lost."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer, server_error
from triage.models import ModelCall, Ticket
from triage.routing import audit, audit_flush, route

MESSAGES = [{"role": "user", "content": "Where is my invoice?"}]


@pytest.fixture
def router(make_model, make_router):
    make_model("model-a")
    make_model("model-b")
    return make_router(tasks={"t": TaskSpec(pool=["model-a", "model-b"])})


def _row(router, **fields):
    values = {
        "router_id": router.pk,
        "task_name": "t",
        "model_slug": "model-a",
        "started_at": timezone.now(),
        "latency_ms": 5,
        "outcome": "ok",
        "cost": Decimal("0.000001"),
    }
    return ModelCall(**{**values, **fields})


@pytest.mark.django_db(transaction=True)
def test_routed_calls_reach_the_audit_trail_through_the_writer(router, stub_openai, monkeypatch):
    stub_openai.set_default("model-a", server_error())
    stub_openai.set_default("model-b", answer("fine"))
    monkeypatch.setattr(audit, "LINGER_SECONDS", 5.0)  # the writer holds rows until a flush

    for _ in range(3):
        route(router, MESSAGES, task="t")

    # the requests returned without writing: the rows wait for the writer
    assert ModelCall.objects.count() == 0
    assert audit_flush() is True
    outcomes = list(ModelCall.objects.order_by("id").values_list("model_slug", "outcome"))
    assert outcomes == [("model-a", "server_error"), ("model-b", "ok")] * 3


@pytest.mark.django_db(transaction=True)
def test_rows_of_concurrent_requests_share_inserts_and_none_is_lost(router, stub_openai):
    stub_openai.set_default("model-a", answer("fine"))

    def work():
        for _ in range(10):
            route(router, MESSAGES, task="t")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert audit_flush() is True
    assert ModelCall.objects.filter(outcome="ok").count() == 60


@pytest.mark.django_db
def test_inside_a_transaction_rows_are_written_with_it(router):
    """A caller's transaction may hold the ticket the rows name: they can't wait for a writer."""
    ticket = Ticket.objects.create(subject="s", body="b", router=router)
    assert connection.in_atomic_block  # the test's transaction

    audit.audit_record([_row(router, ticket_id=ticket.pk)])

    assert ModelCall.objects.filter(ticket=ticket).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_rejects_does_not_take_the_batch_with_it(router, monkeypatch):
    monkeypatch.setattr(audit, "LINGER_SECONDS", 5.0)
    ticket = Ticket.objects.create(subject="s", body="b", router=router)
    audit.audit_record([_row(router, ticket_id=ticket.pk, model_slug="kept-1")])
    audit.audit_record([_row(router, ticket_id=ticket.pk + 1000, model_slug="names-no-ticket")])
    audit.audit_record([_row(router, model_slug="kept-2")])

    assert audit_flush() is True

    assert sorted(ModelCall.objects.values_list("model_slug", flat=True)) == ["kept-1", "kept-2"]


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_retried_until_the_rows_land(router, monkeypatch):
    monkeypatch.setattr(audit, "LINGER_SECONDS", 0.0)
    real_insert = audit.audit_insert
    failures = []

    def flaky_insert(rows):
        if len(failures) < 2:
            failures.append(len(rows))
            from django.db import OperationalError

            raise OperationalError("server closed the connection unexpectedly")
        real_insert(rows)

    monkeypatch.setattr(audit, "audit_insert", flaky_insert)

    audit.audit_record([_row(router, model_slug="after-outage")])

    assert audit_flush() is True
    assert failures == [1, 1]
    assert list(ModelCall.objects.values_list("model_slug", flat=True)) == ["after-outage"]


@pytest.mark.django_db(transaction=True)
def test_a_full_queue_writes_inline_instead_of_dropping(router, monkeypatch):
    monkeypatch.setattr(audit, "QUEUE_MAX", 0)

    audit.audit_record([_row(router, model_slug="inline")])

    # no flush needed: the caller wrote it
    assert list(ModelCall.objects.values_list("model_slug", flat=True)) == ["inline"]


@pytest.mark.django_db(transaction=True)
def test_writer_off_writes_each_request_inline(router, stub_openai, settings):
    settings.ROUTING_AUDIT_BACKGROUND = False
    stub_openai.set_default("model-a", answer("fine"))

    route(router, MESSAGES, task="t")

    assert ModelCall.objects.filter(outcome="ok").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_flush_waits_for_the_rows_queued_before_it_not_for_later_ones(router, monkeypatch):
    """A worker's ticket waits for its own rows before it settles; rows other tickets keep queueing
    (a busy worker never has an empty queue) must not hold it up."""
    writer = audit._writer()
    flush_asked = threading.Event()

    class Hurry(threading.Event):
        def set(self) -> None:  # a flush sets it once it has taken its target
            super().set()
            flush_asked.set()

    monkeypatch.setattr(writer, "_hurry", Hurry())
    release_late = threading.Event()
    real_insert = audit.audit_insert

    def insert(rows):
        if any(row.model_slug == "late" for row in rows):
            release_late.wait(10)  # another ticket's rows, slow to write
        else:
            flush_asked.wait(10)
            audit.audit_record([_row(router, model_slug="late")])  # queued after the flush began
        real_insert(rows)

    monkeypatch.setattr(audit, "audit_insert", insert)
    audit.audit_record([_row(router, model_slug="early")])
    try:
        assert audit_flush(timeout=5) is True
        assert list(ModelCall.objects.values_list("model_slug", flat=True)) == ["early"]
    finally:
        release_late.set()
    assert audit_flush(timeout=5) is True
    assert sorted(ModelCall.objects.values_list("model_slug", flat=True)) == ["early", "late"]
