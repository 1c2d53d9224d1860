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
from triage.pipeline.triage import tickets_sweep_stuck
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


def test_worker_killed_mid_ticket_finishes_after_restart_without_calling_any_step_twice(
    stub_triage_router: Any, stub_openai: StubOpenAI, live_worker: Any
) -> None:
    stub_openai.set_default("stub-reply-premium", delayed(1.2, '{"reply": "We are on it."}'))
    stub_openai.set_default("stub-brief", delayed(1.2, BRIEF_OK))
    ticket = ticket_submit(router=stub_triage_router, subject="Outage", body="Everything is down.")
    deadline = time.monotonic() + 30
    while stub_openai.request_count("stub-reply-premium") == 0:
        assert time.monotonic() < deadline, live_worker.log()
        time.sleep(0.02)
    live_worker.kill()  # mid-reply: classify and urgency are done, reply and brief in flight
    ticket.refresh_from_db()
    assert ticket.status == "triaging"
    live_worker.start()
    # time passes: the dead worker's step leases run out and the ticket looks stuck to the sweep
    from triage.models import TriageStep

    past = ticket.updated_at.replace(year=2000)
    TriageStep.objects.filter(ticket=ticket, status="running").update(lease_expires_at=past)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=past)
    assert tickets_sweep_stuck() == [ticket.pk]
    _wait_for(ticket, SETTLED)

    # no step was called twice: not the finished ones, and not the two whose calls were in flight
    # (they may have been billed); those two wait for an agent, so the ticket needs attention
    assert [stub_openai.request_count(m) for m in ("stub-classify", "stub-urgency")] == [1, 1]
    assert [stub_openai.request_count(m) for m in ("stub-reply-premium", "stub-brief")] == [1, 1]
    assert ticket.status == "needs_attention", ticket.attention_reason
    assert "draft_customer_reply was interrupted" in ticket.attention_reason
    assert "escalate_complex_issue was interrupted" in ticket.attention_reason
    steps = {s.task_name: s.status for s in ticket.steps.filter(is_current=True)}
    assert steps == {
        "classify_ticket": "done",
        "urgency_detection": "done",
        "draft_customer_reply": "failed",
        "escalate_complex_issue": "failed",
    }


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
    calls = [line for line in lines if line.get("message") == "model call"]
    assert len(calls) == 4, worker.log()
    assert {c["task"] for c in calls} == {
        "classify_ticket", "urgency_detection", "draft_customer_reply", "escalate_complex_issue"
    }  # fmt: skip
    for call in calls:
        assert call["router"] == stub_triage_router.name and call["ticket_id"] == ticket.pk
        assert call["outcome"] == "ok" and call["model"].startswith("stub-") and call["latency_ms"] >= 0
    assert "Secret body text" not in worker.log()  # never a ticket's text
