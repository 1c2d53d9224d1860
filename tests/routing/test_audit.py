"""Every attempt has its ModelCall row before its request leaves; the serving row and the caller's
result commit together."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer, delayed, server_error
from triage.models import ModelCall, Ticket
from triage.routing import RoutingError, route
from triage.routing.tokens import count_prompt_tokens

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "My invoice shows the wrong VAT number."}]


@pytest.fixture
def router(make_model, make_router):
    make_model("slow", input_price="2", output_price="10")
    make_model("spare", input_price="1", output_price="1")
    return make_router(tasks={"chat": TaskSpec(pool=["slow", "spare"])})


def test_the_row_is_written_before_the_request_leaves_at_the_most_the_call_can_cost(router, stub_openai):
    stub_openai.set_default("slow", delayed(1.0, "fine"))
    seen_in_flight: list[ModelCall] = []

    def watch() -> None:
        try:
            while stub_openai.request_count("slow") == 0:
                time.sleep(0.01)
            seen_in_flight.extend(ModelCall.objects.filter(model_slug="slow"))
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = route(router, MESSAGES, task="chat", max_tokens=300)
    watcher.join(timeout=10)

    prompt = count_prompt_tokens(MESSAGES)
    [pending] = seen_in_flight  # the request had reached the provider: its row was already there
    assert pending.outcome == "pending" and pending.tokens_estimated
    assert (pending.prompt_tokens, pending.completion_tokens) == (prompt, 300)
    assert pending.cost == (Decimal(prompt) * 2 + 300 * 10) / 1_000_000
    done = ModelCall.objects.get(pk=pending.pk)  # then completed with what the provider reported
    assert (done.outcome, done.prompt_tokens, done.completion_tokens, done.tokens_estimated) == (
        "ok",
        11,
        7,
        False,
    )
    assert done.cost == result.cost == Decimal("0.000092")
    assert result.attempts[-1].call_id == pending.pk


def test_without_a_token_limit_the_worst_case_is_what_the_context_window_leaves(router):
    from triage.routing.audit import CallOrigin, call_open
    from triage.routing.config import snapshot_refresh

    model = next(m for m in snapshot_refresh(None).catalog if m.slug == "slow")
    row = call_open(model, CallOrigin(None, "", None, None), prompt_tokens=1_000, budget=None)
    assert row.completion_tokens == model.context_window - 1_000
    assert row.cost == (Decimal(1_000) * 2 + Decimal(model.context_window - 1_000) * 10) / 1_000_000


def test_every_upstream_request_has_its_row(router, stub_openai):
    stub_openai.set_default("slow", server_error())
    stub_openai.set_default("spare", answer("ok"))
    for _ in range(3):
        route(router, MESSAGES, task="chat")
    requests = stub_openai.request_count("slow") + stub_openai.request_count("spare")
    rows = ModelCall.objects.exclude(outcome__startswith="skipped").count()
    assert requests == rows == 6
    assert not ModelCall.objects.filter(outcome="pending").exists()


def test_the_serving_row_and_the_callers_write_commit_together(router, stub_openai, make_router):
    """A caller whose write fails (a database error inside ``on_served``): neither the step result
    nor the row's completion is kept; the row stays pending, i.e. possibly billed, never lost."""
    stub_openai.set_default("slow", answer("ok"))
    ticket = Ticket.objects.create(subject="s", body="b", router=router)

    def failing_write(result):
        Ticket.objects.filter(pk=ticket.pk).update(category="written-with-the-row")
        raise RuntimeError("database went away mid-write")

    with pytest.raises(RuntimeError):
        route(router, MESSAGES, task="chat", ticket_id=ticket.pk, on_served=failing_write)

    call = ModelCall.objects.get(ticket=ticket)
    assert call.outcome == "pending"
    ticket.refresh_from_db()
    assert ticket.category == ""  # rolled back with the row's completion

    kept = route(router, MESSAGES, task="chat", ticket_id=ticket.pk, on_served=lambda result: None)
    assert ModelCall.objects.get(pk=kept.attempts[-1].call_id).outcome == "ok"


def test_the_sweep_marks_rows_left_pending_by_a_dead_process_as_possibly_billed(router, stub_openai):
    from triage.pipeline.triage import tickets_sweep_stuck

    old = timezone.now() - timedelta(minutes=20)
    stale = ModelCall.objects.create(
        model_slug="slow", started_at=old, outcome="pending", prompt_tokens=10, completion_tokens=500,
        tokens_estimated=True, cost=Decimal("0.00502"),
    )  # fmt: skip
    fresh = ModelCall.objects.create(model_slug="slow", started_at=timezone.now(), outcome="pending")

    tickets_sweep_stuck()

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.outcome == "interrupted" and stale.cost == Decimal("0.00502")  # the worst case, kept
    assert fresh.outcome == "pending"  # may still be in flight


def test_a_failed_route_leaves_no_row_pending(router, stub_openai):
    stub_openai.set_default("slow", server_error())
    stub_openai.set_default("spare", server_error())
    with pytest.raises(RoutingError):
        route(router, MESSAGES, task="chat")
    assert sorted(ModelCall.objects.values_list("outcome", flat=True)) == ["server_error", "server_error"]
