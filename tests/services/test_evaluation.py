"""``manage.py evaluate`` and calibration: replayed from stored answers, with known numbers.

The fixture (``evaluation_data``): 20 labeled tickets, a cheap model right on 14 (most with high
confidence), a strong model right on 19, the cascade cheap → strong stored where cheap was unsure.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.services.evaluation_data import (
    CHEAP,
    STRONG,
    label_of,
    make_eval_router,
    make_labeled_tickets,
)
from triage.models import Router, RouterTask, Ticket
from triage.services.evaluation import (
    EvaluationError,
    Replay,
    calibrate,
    evaluate,
    parse_target,
    replay_prepare,
    wilson_interval,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def router() -> Router:
    router = make_eval_router()
    make_labeled_tickets(router, 20)
    return router


@pytest.fixture
def local_always_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local model's opinion is the label (so it disagrees exactly where an answer is wrong)."""

    def opinion(self: Replay, example: Any) -> dict[str, Any]:
        return {"category": example.label, "confidence": 0.9}

    monkeypatch.setattr(Replay, "_local_opinion", opinion)


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(14, 20)
    assert low == pytest.approx(0.4810, abs=1e-4) and high == pytest.approx(0.8545, abs=1e-4)
    assert wilson_interval(20, 20) == (pytest.approx(0.8389, abs=1e-4), 1.0)
    assert wilson_interval(0, 0) == (None, None)


def test_each_model_alone_from_stored_answers(router: Router, local_always_right: None) -> None:
    evaluation = evaluate(router=router, task_name="classify_ticket")
    assert evaluation.examples == 20 and evaluation.sources == {"correction": 20}
    assert evaluation.pool == [CHEAP, STRONG]
    assert evaluation.missing_answers == 0

    cheap = evaluation.candidate(CHEAP)
    assert cheap is not None
    assert (cheap.n, cheap.correct, cheap.accuracy) == (20, 14, pytest.approx(0.7))
    assert (cheap.low, cheap.high) == (pytest.approx(0.4810, abs=1e-4), pytest.approx(0.8545, abs=1e-4))
    assert cheap.strong_share == 0.0
    assert cheap.cost_per_1000 == pytest.approx(0.1)  # $0.0001 a ticket
    assert cheap.p95_latency_ms == 100
    assert cheap.estimated_costs == 0

    strong = evaluation.candidate(STRONG)
    assert strong is not None
    assert (strong.n, strong.correct, strong.accuracy) == (20, 19, pytest.approx(0.95))
    assert strong.strong_share == 1.0
    assert strong.cost_per_1000 == pytest.approx(1.0)
    assert strong.p95_latency_ms == 1000


def test_cascade_at_each_threshold(router: Router, local_always_right: None) -> None:
    evaluation = evaluate(router=router, task_name="classify_ticket")
    for threshold in ("0.50", "0.60", "0.70", "0.80"):
        # the six answers below 0.5 go to strong, which is right on each
        cascade = evaluation.candidate(f"cascade@{threshold}")
        assert cascade is not None
        assert (cascade.n, cascade.correct) == (20, 18)
        assert cascade.strong_share == pytest.approx(0.3)
        assert cascade.cost_per_1000 == pytest.approx(0.4)  # 20 x $0.0001 + 6 x $0.001
        assert cascade.p95_latency_ms == 1100  # cheap then strong
    at_09 = evaluation.candidate("cascade@0.90")
    assert at_09 is not None
    # cheap's two confident wrong answers (0.8) escalate too: strong's stored re-run answers them
    assert (at_09.n, at_09.correct, at_09.accuracy) == (20, 20, 1.0)
    assert at_09.strong_share == pytest.approx(0.4)
    assert at_09.cost_per_1000 == pytest.approx(0.5)
    assert (at_09.low, at_09.high) == (pytest.approx(0.8389, abs=1e-4), 1.0)

    configured = [c for c in evaluation.candidates if c.configured]
    assert [c.key for c in configured] == ["cascade@0.60"]


def test_cascade_with_local_disagreement(router: Router, local_always_right: None) -> None:
    evaluation = evaluate(router=router, task_name="classify_ticket")
    with_local = evaluation.candidate("cascade@0.60+local")
    assert with_local is not None
    # the local model disagrees with cheap's two confident wrong answers: they escalate as well
    assert (with_local.correct, with_local.n) == (20, 20)
    assert with_local.strong_share == pytest.approx(0.4)
    assert with_local.cost_per_1000 == pytest.approx(0.5)


def test_a_cascade_missing_the_second_answer_is_not_replayable(
    router: Router, local_always_right: None
) -> None:
    # drop strong's stored answers of tickets 18 and 19 (the older re-run steps)
    from triage.models import TriageStep

    ids = list(Ticket.objects.filter(subject__in=["Ticket 18", "Ticket 19"]).values_list("id", flat=True))
    TriageStep.objects.filter(ticket_id__in=ids, served_by=STRONG).delete()
    evaluation = evaluate(router=router, task_name="classify_ticket")
    assert evaluation.missing_answers == 2
    assert evaluation.candidate(STRONG).n == 18  # type: ignore[union-attr]
    assert evaluation.candidate("cascade@0.60").n == 20  # type: ignore[union-attr]  (no escalation there)
    assert evaluation.candidate("cascade@0.90").n == 18  # type: ignore[union-attr]


def test_candidates_filter_and_unknown_candidate(router: Router, local_always_right: None) -> None:
    evaluation = evaluate(router=router, task_name="classify_ticket", keys=[CHEAP, "cascade@0.90"])
    assert [c.key for c in evaluation.candidates] == [CHEAP, "cascade@0.90"]
    with pytest.raises(EvaluationError, match="Unknown candidate nope"):
        evaluate(router=router, task_name="classify_ticket", keys=["nope"])


def test_limit_takes_the_newest_labels(router: Router, local_always_right: None) -> None:
    evaluation = evaluate(router=router, task_name="classify_ticket", limit=5)
    assert evaluation.examples == 5
    assert evaluation.candidate(CHEAP).n == 5  # type: ignore[union-attr]


# --- calibration ---------------------------------------------------------------------------------
def test_calibration_picks_the_cheapest_threshold_meeting_the_target(
    router: Router, local_always_right: None
) -> None:
    evaluation = evaluate(router=router, task_name="classify_ticket")
    # 95% of strong's 0.95 = 0.9025: only 0.9 (1.0 right, $0.50) meets it; 0.5-0.8 are 0.90
    found = calibrate(evaluation, parse_target("strong:0.95"), local=False)
    assert found["threshold"] == 0.9
    assert found["accuracy"] == 1.0 and found["n"] == 20
    assert found["cost_per_1000"] == pytest.approx(0.5) and found["strong_share"] == pytest.approx(0.4)
    assert found["low"] == pytest.approx(0.8389, abs=1e-4) and found["high"] == 1.0
    assert found["target"] == "strong:0.95" and found["required"] == pytest.approx(0.9025)
    keys = {"target", "threshold", "accuracy", "low", "high", "strong_share", "cost_per_1000", "n", "at"}
    assert set(found) >= keys
    # 85% right: 0.5 to 0.8 all meet it at $0.40; the cheapest, then the lowest threshold
    assert calibrate(evaluation, parse_target("labels:0.85"), local=False)["threshold"] == 0.5


def test_calibration_reports_none_when_no_threshold_meets_the_target(
    router: Router, local_always_right: None
) -> None:
    evaluation = evaluate(router=router, task_name="classify_ticket", thresholds=(0.5,))
    found = calibrate(evaluation, parse_target("labels:0.95"), local=False)
    assert found["threshold"] is None and found["accuracy"] is None and found["n"] == 0


@pytest.mark.parametrize(
    "text", ["strong", "labels:2", "strong:95", "best:0.9", "labels:abc", "strong:0", "labels:nan"]
)
def test_bad_targets_are_refused(text: str) -> None:
    with pytest.raises(EvaluationError, match="not valid"):
        parse_target(text)


def test_percent_targets() -> None:
    assert parse_target("labels:93%").value == pytest.approx(0.93)
    assert parse_target("strong:95%").text == "strong:0.95"


# --- the command ---------------------------------------------------------------------------------
def run(*args: str) -> str:
    out = StringIO()
    call_command("evaluate", *args, stdout=out)
    return out.getvalue()


def test_command_prints_a_table(router: Router, local_always_right: None) -> None:
    text = run("--router", "eval-router", "--task", "classify_ticket")
    assert "20 labeled ticket(s) (20 correction)" in text
    assert f"{CHEAP} → {STRONG}" in text
    lines = {
        line.split()[0] if not line.startswith("*") else line.split()[1]: line for line in text.splitlines()
    }
    cheap_row = lines[CHEAP].split()
    assert cheap_row[1:] == ["70.0%", "48.1%–85.5%", "0.0%", "0.1000", "100", "20"]
    assert "* cascade@0.60" in text  # the configuration is marked
    assert lines["cascade@0.90"].split()[1:] == ["100.0%", "83.9%–100.0%", "40.0%", "0.5000", "1100", "20"]


def test_command_json(router: Router, local_always_right: None) -> None:
    data = json.loads(run("--router", "eval-router", "--task", "classify_ticket", "--json"))
    by_key = {c["key"]: c for c in data["candidates"]}
    assert by_key[CHEAP]["accuracy"] == pytest.approx(0.7)
    assert by_key[STRONG]["n"] == 20
    assert by_key["cascade@0.50"]["cost_per_1000"] == pytest.approx(0.4)
    assert data["router"] == "eval-router" and data["task"] == "classify_ticket"
    assert data["calibration"] is None


def test_command_calibrates_and_stores_it(router: Router, local_always_right: None) -> None:
    text = run(
        "--router", "eval-router", "--task", "classify_ticket", "--calibrate", "--target", "strong:0.95"
    )
    assert "Calibration" in text and "threshold 0.90" in text
    task = RouterTask.objects.get(router=router, name="classify_ticket")
    assert task.calibration["threshold"] == 0.9 and task.calibration["target"] == "strong:0.95"
    data = json.loads(
        run(
            "--router",
            "eval-router",
            "--task",
            "classify_ticket",
            "--json",
            "--calibrate",
            "--target",
            "labels:0.99",
        )
    )
    assert data["calibration"]["threshold"] == 0.9


def test_command_errors(router: Router) -> None:
    with pytest.raises(CommandError, match="No router named 'nope'.*eval-router"):
        run("--router", "nope", "--task", "classify_ticket")
    with pytest.raises(CommandError, match="has no task 'urgency_detection'.*classify_ticket"):
        run("--router", "eval-router", "--task", "urgency_detection")
    with pytest.raises(CommandError, match="needs --target"):
        run("--router", "eval-router", "--task", "classify_ticket", "--calibrate")
    with pytest.raises(CommandError, match="not valid"):
        run("--router", "eval-router", "--task", "classify_ticket", "--calibrate", "--target", "best:1")


def test_a_task_without_labels_is_refused(router: Router) -> None:
    RouterTask.objects.create(router=router, name="general_faq", description="Answers")
    with pytest.raises(CommandError, match="no labels to score against"):
        run("--router", "eval-router", "--task", "general_faq")


def test_missing_answers_are_priced_and_asked_only_with_yes(presets: None) -> None:
    """Shipped held-out tickets have no stored answers: the estimate is printed; --yes asks them
    (here the pool is the local classifier: in process, free, no network)."""
    from triage.models import LLMModel, PoolEntry

    router = Router.objects.get(name="triage-router")
    task = RouterTask.objects.get(router=router, name="classify_ticket")
    task.pool.all().delete()
    PoolEntry.objects.create(task=task, model=LLMModel.objects.get(slug="local/ticket-classifier"), rank=1)
    text = run("--router", "triage-router", "--task", "classify_ticket", "--include-shipped", "--limit", "3")
    assert "3 answer(s) of 3 ticket(s) are not stored; asking them would cost about $0.0000" in text
    assert "add --yes" in text
    assert "local/ticket-classifier" in text
    data = json.loads(
        run("--router", "triage-router", "--task", "classify_ticket", "--include-shipped", "--limit", "3",
            "--json", "--yes")
    )  # fmt: skip
    local = data["candidates"][0]
    assert local["key"] == "local/ticket-classifier" and local["n"] == 3
    assert data["live_answers"] == 3 and data["sources"] == {"shipped": 3}


# --- the admin -----------------------------------------------------------------------------------
def test_admin_shows_the_calibration_and_applies_it(router: Router, staff_user: User, client: Client) -> None:
    task = RouterTask.objects.get(router=router, name="classify_ticket")
    client.force_login(staff_user)
    page = client.get(reverse("admin:triage_routertask_change", args=[task.pk])).content.decode()
    assert "Not calibrated" in page

    task.calibration = {
        "target": "strong:0.95",
        "threshold": 0.8,
        "local_disagreement": False,
        "accuracy": 0.9,
        "low": 0.7,
        "high": 0.97,
        "strong_share": 0.3,
        "cost_per_1000": 0.4,
        "n": 20,
        "at": "2026-12-06T10:00:00+00:00",
    }
    RouterTask.objects.filter(pk=task.pk).update(calibration=task.calibration, cascade_enabled=False)
    page = client.get(reverse("admin:triage_routertask_change", args=[task.pk])).content.decode()
    assert "Target strong:0.95: threshold 0.80" in page and "90.0%" in page

    response = client.post(
        reverse("admin:triage_routertask_changelist"),
        {"action": "apply_recommended_threshold", "_selected_action": [task.pk]},
        follow=True,
    )
    assert "Cascade threshold applied" in response.content.decode()
    task.refresh_from_db()
    assert str(task.cascade_confidence_threshold) == "0.800" and task.cascade_enabled
    entry = LogEntry.objects.get(object_id=str(task.pk))
    assert "Applied the recommended cascade threshold 0.800" in entry.get_change_message()
    assert entry.user == staff_user


def test_admin_apply_skips_a_task_without_a_recommendation(
    router: Router, staff_user: User, client: Client
) -> None:
    task = RouterTask.objects.get(router=router, name="classify_ticket")
    RouterTask.objects.filter(pk=task.pk).update(calibration={"target": "labels:0.99", "threshold": None})
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:triage_routertask_changelist"),
        {"action": "apply_recommended_threshold", "_selected_action": [task.pk]},
        follow=True,
    )
    assert "No recommended threshold" in response.content.decode()
    task.refresh_from_db()
    assert str(task.cascade_confidence_threshold) == "0.600"
    assert not LogEntry.objects.filter(object_id=str(task.pk)).exists()


# --- scale ---------------------------------------------------------------------------------------
def test_a_thousand_stored_tickets_in_a_few_queries(django_assert_max_num_queries: Any) -> None:
    from triage.local_models.store import trained_models

    trained_models()  # loaded (or trained, once per data version) before the clock starts
    router = make_eval_router(local=True)
    make_labeled_tickets(router, 1000)
    # (its time is a benchmark's figure, not a test's: bench/quality_routing.py prints it)
    with django_assert_max_num_queries(12):
        replay = replay_prepare(router=router, task_name="classify_ticket")
        evaluation = replay.evaluate()
    cheap = evaluation.candidate(CHEAP)
    assert cheap is not None and (cheap.n, cheap.correct) == (1000, 700)
    assert evaluation.candidate("cascade@0.90").correct == 1000  # type: ignore[union-attr]
    # the real local model was asked once per ticket and its verdicts used
    assert evaluation.candidate("cascade@0.60+local").n == 1000  # type: ignore[union-attr]
    assert label_of(0) == "billing"


def test_urgency_is_right_within_one_point(presets: None) -> None:
    """On the preset router: Nano's stored urgency scores against agents' corrections (±1 counts)."""
    from triage.models import Feedback, TriageStep

    router = Router.objects.get(name="triage-router")
    for label, answered in [(4, 3), (4, 1), (2, 5)]:
        ticket = Ticket.objects.create(subject="Down", body="It is down.", router=router, status="triaged")
        step = TriageStep.objects.create(
            ticket=ticket,
            task_name="urgency_detection",
            status="done",
            served_by="openai-gpt-5-nano",
            result={"score": answered, "sentiment": "calm", "escalation_risk": False, "reason": ""},
            cost="0.00001",
        )
        Feedback.objects.create(
            ticket=ticket, step=step, task_name="urgency_detection", kind="correction", field="urgency",
            old_value=answered, new_value=label, model_slug="openai-gpt-5-nano",
        )  # fmt: skip
    evaluation = evaluate(router=router, task_name="urgency_detection")
    assert evaluation.rule == "score within ±1"
    nano = evaluation.candidate("openai-gpt-5-nano")
    assert nano is not None and (nano.n, nano.correct) == (3, 1)
    assert nano.estimated_costs == 0 and nano.cost_per_1000 == pytest.approx(0.01)  # the step's cost
    haiku = evaluation.candidate("anthropic-claude-haiku-4.5")
    assert haiku is not None and haiku.n == 0 and haiku.accuracy is None
    assert evaluation.missing_answers == 3  # Haiku's, for a live run with --yes
