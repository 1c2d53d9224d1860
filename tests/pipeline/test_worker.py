"""The pipeline on a real Celery worker: enqueue on commit, crash safety, no double billing."""

from __future__ import annotations

import json
import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from tests.pipeline.conftest import BRIEF_OK, CLASSIFY_OK, urgency_json
from tests.support.stub_openai import StubOpenAI, delayed
from triage.models import Ticket
from triage.presets import SAMPLE_TICKETS_FILE
from triage.services.tickets import ticket_submit

pytestmark = pytest.mark.django_db(transaction=True)

SETTLED = {"triaged", "needs_attention", "failed"}


def _wait_for(ticket: Ticket, statuses: set[str], timeout: float = 60) -> list[str]:
    """Poll the ticket until it reaches one of ``statuses``; returns every status seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ticket.refresh_from_db()
        if not seen or seen[-1] != ticket.status:
            seen.append(ticket.status)
        if ticket.status in statuses:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"ticket stayed {ticket.status} (seen {seen})")


def test_submitted_ticket_is_triaged_by_the_worker_through_each_status(
    stub_triage_router: Any, stub_openai: StubOpenAI, live_worker: Any
) -> None:
    stub_openai.set_default("stub-urgency", delayed(0.3, urgency_json(5)))
    ticket = ticket_submit(router=stub_triage_router, subject="Production outage", body="Dashboard down.")
    seen = _wait_for(ticket, SETTLED)
    assert seen[0] == "queued" and "triaging" in seen and seen[-1] == "triaged", live_worker.log()
    assert ticket.steps.filter(is_current=True, status="done").count() == 4


def test_ticket_wall_time_follows_the_critical_path(
    stub_triage_router: Any, stub_openai: StubOpenAI, live_worker: Any
) -> None:
    for model, content in (
        ("stub-classify", CLASSIFY_OK),
        ("stub-urgency", urgency_json(5)),
        ("stub-reply-premium", '{"reply": "We are on it."}'),
        ("stub-brief", BRIEF_OK),
    ):
        stub_openai.set_default(model, delayed(0.3, content))
    ticket = ticket_submit(router=stub_triage_router, subject="Outage", body="Everything is down.")
    _wait_for(ticket, SETTLED)
    steps = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    assert ticket.status == "triaged"

    def overlap(first: str, second: str) -> bool:
        a, b = steps[first], steps[second]
        return a.started_at < b.finished_at and b.started_at < a.finished_at

    # two calls deep, not four: classification beside urgency, then reply beside the brief, and the
    # second pair starts once urgency is known (timings from the step rows, not a wall-clock limit)
    assert overlap("classify_ticket", "urgency_detection")
    assert overlap("draft_customer_reply", "escalate_complex_issue")
    assert steps["draft_customer_reply"].started_at >= steps["urgency_detection"].finished_at
    assert steps["escalate_complex_issue"].started_at >= steps["urgency_detection"].finished_at


def test_a_worker_killed_mid_ticket_leaves_a_row_for_every_paid_call_and_its_tickets_settle_after_restart(
    stub_triage_router: Any, stub_openai: StubOpenAI, tmp_path: Any
) -> None:
    """SIGKILL with calls in flight, then a worker back, with the production lease and sweep
    (TRIAGE_RUN_LEASE_SECONDS=30, TRIAGE_SWEEP_SECONDS=15): every ticket settles within 90 s of the
    restart, no call that may have been billed is asked again, and every request that reached the
    model server has its ModelCall row."""
    from tests.pipeline.worker import LiveWorker
    from tests.support.fixtures import STUB_KEY_ENV
    from triage.models import ModelCall

    stub_openai.set_default("stub-reply-premium", delayed(1.5, '{"reply": "We are on it."}'))
    stub_openai.set_default("stub-brief", delayed(1.5, BRIEF_OK))
    env = {STUB_KEY_ENV: "stub-secret-key", "TRIAGE_RUN_LEASE_SECONDS": "30", "TRIAGE_SWEEP_SECONDS": "15"}
    worker = LiveWorker(concurrency=8, extra_env=env, log=tmp_path / "worker.log", beat=True).start()
    try:
        tickets = [
            ticket_submit(router=stub_triage_router, subject=f"Outage {n}", body=f"Region {n} is down.")
            for n in range(6)
        ]
        models = ("stub-classify", "stub-urgency", "stub-reply-premium", "stub-reply-cheap", "stub-brief")
        sent = ModelCall.objects.exclude(outcome__startswith="skipped")
        deadline = time.monotonic() + 60
        # kill once every ticket's reply and brief are in flight (1.5 s each: no row can be written
        # until they answer) and every request whose row is written has reached the server. (A row is
        # written just before its request: a kill between the two would leave a row for a request
        # that never left, counted as possibly billed; this moment has none.)
        while not (
            stub_openai.request_count("stub-reply-premium") == len(tickets)
            and stub_openai.request_count("stub-brief") == len(tickets)
            and sent.count() == sum(stub_openai.request_count(m) for m in models)
        ):
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.01)
        worker.kill()  # every reply and brief in flight
        in_flight = ModelCall.objects.filter(outcome="pending").count()
        assert in_flight == 2 * len(tickets)  # their rows were written before the requests left
        worker.start()
        back = time.monotonic()
        for ticket in tickets:
            _wait_for(ticket, SETTLED, timeout=max(back + 90 - time.monotonic(), 1))
        settled_within = time.monotonic() - back
    finally:
        worker.stop()

    assert settled_within < 90, f"settled {settled_within:.0f} s after the restart\n{worker.log()}"
    requests = sum(stub_openai.request_count(m) for m in models)
    rows = ModelCall.objects.exclude(outcome__startswith="skipped")
    assert rows.count() == requests  # every request that reached the model server has its row
    assert not rows.filter(outcome="pending").exists()
    interrupted = rows.filter(outcome="interrupted")
    assert interrupted.count() == in_flight and all(c.cost > 0 and c.tokens_estimated for c in interrupted)
    for ticket in tickets:
        ticket.refresh_from_db()
        # never two requests for one step of one ticket: a call that may have been billed is not re-asked
        for model in ("stub-classify", "stub-urgency", "stub-reply-premium", "stub-brief"):
            asked = [
                r for r in stub_openai.requests(model) if ticket.body in r.body["messages"][-1]["content"]
            ]
            assert len(asked) <= 1, (ticket.subject, model)
        if ticket.calls.filter(outcome="interrupted").exists():
            assert ticket.status == "needs_attention" and "interrupted" in ticket.attention_reason
        else:
            assert ticket.status == "triaged"


def test_triage_batch_prints_each_tickets_results_and_models(
    stub_triage_router: Any, stub_openai: StubOpenAI, live_worker: Any
) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "triage_batch", str(SAMPLE_TICKETS_FILE), "--router", "triage-router", stdout=out, stderr=err
    )
    text = out.getvalue()
    assert text.count("category: bug") == 7
    assert "classify_ticket=stub-classify" in text and "urgency:  5 (frustrated)" in text
    assert "7/7" in err.getvalue()  # the progress bar reached the end


def test_triage_batch_json_has_the_articles_shape(
    stub_triage_router: Any, stub_openai: StubOpenAI, live_worker: Any, tmp_path: Any
) -> None:
    path = tmp_path / "tickets.json"
    path.write_text(
        json.dumps([{"subject": "API auth", "body": "401s"}, {"subject": "", "body": "no subject"}])
    )
    out = StringIO()
    call_command("triage_batch", str(path), "--json", stdout=out, stderr=StringIO())
    data = json.loads(out.getvalue())
    assert data["count"] == 2
    first, second = data["results"]
    assert first["urgency"]["score"] == 5 and first["reply"] and first["escalation_summary"]
    assert {r["task"] for r in first["routes"]} == {
        "classify_ticket",
        "urgency_detection",
        "draft_customer_reply",
        "escalate_complex_issue",
    }
    assert all(r["mode"] == "router" and r["total_tokens"] > 0 for r in first["routes"])
    assert second["ticket_index"] == 1 and "subject" in second["error"]


def test_the_worker_logs_one_json_line_per_model_call_with_its_fields(
    stub_triage_router: Any, stub_openai: StubOpenAI, tmp_path: Any
) -> None:
    from tests.pipeline.worker import LiveWorker
    from tests.support.fixtures import STUB_KEY_ENV

    worker = LiveWorker(
        concurrency=4,
        extra_env={STUB_KEY_ENV: "stub-secret-key", "LOG_FORMAT": "json"},
        log=tmp_path / "w.log",
    ).start()
    try:
        ticket = ticket_submit(router=stub_triage_router, subject="Outage", body="Secret body text 42.")
        _wait_for(ticket, SETTLED)
    finally:
        worker.stop()
    lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    calls = [line for line in lines if str(line.get("message", "")).startswith("model call ")]
    assert len(calls) == 4, worker.log()
    assert {c["task"] for c in calls} == {
        "classify_ticket", "urgency_detection", "draft_customer_reply", "escalate_complex_issue"
    }  # fmt: skip
    for call in calls:
        assert call["router"] == stub_triage_router.name and call["ticket_id"] == ticket.pk
        assert call["outcome"] == "ok" and call["model"].startswith("stub-") and call["latency_ms"] >= 0
    assert "Secret body text" not in worker.log()  # never a ticket's text
