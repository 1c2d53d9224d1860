"""The cascade: a doubtful answer from the cheap pool model goes on to the stronger one.

Triggers: a stated confidence below the task's threshold, disagreement with the built-in local model,
invalid output (as any failover). A confident answer that agrees is served by the cheap model alone.
Every answer is billed, recorded on the step with why it escalated, and shown on the ticket page.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.support.stub_openai import StubOpenAI, answer, server_error
from triage.local_models.registry import get_local_model
from triage.models import ModelCall, PoolEntry, RouterTask, TriageStep
from triage.pipeline.triage import triage_ticket
from triage.routing import config_bump_version
from triage.services.tickets import ticket_submit
from triage.ticket_text import TicketText, ticket_message

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT, BODY = "Charged twice", "I was charged twice for my subscription this month, please refund one."


@pytest.fixture
def cascade_router(stub_triage_router: Any, make_model: Any, stub_openai: StubOpenAI) -> Any:
    """classify_ticket: stub-classify (cheap) then stub-strong, cascading at 0.6 with the local check."""
    strong = make_model("stub-strong", input_price="3", output_price="15")
    task = RouterTask.objects.get(router=stub_triage_router, name="classify_ticket")
    task.selection_policy = "manual_ranking"
    task.cascade_enabled = True
    task.cascade_confidence_threshold = Decimal("0.6")
    task.save()
    PoolEntry.objects.create(task=task, model=strong, rank=2)
    config_bump_version()
    stub_openai.set_default("stub-strong", answer(json.dumps({"category": LOCAL, "confidence": 0.95})))
    return stub_triage_router


def _local_category() -> str:
    local = get_local_model("local/ticket-classifier")
    assert local is not None
    messages = [{"role": "user", "content": ticket_message(TicketText(subject=SUBJECT, body=BODY))}]
    return json.loads(local.reply(messages, task="classify_ticket"))["category"]


LOCAL = "billing"  # what the local classifier says of the ticket above (checked below)


def _classify(router: Any) -> TriageStep:
    ticket = ticket_submit(router=router, subject=SUBJECT, body=BODY)
    triage_ticket(ticket_id=ticket.pk)
    return ticket.steps.get(task_name="classify_ticket", is_current=True)


def test_the_local_classifier_reads_the_fixture_ticket_as_billing() -> None:
    assert _local_category() == LOCAL


def test_a_confident_agreeing_answer_is_served_by_the_cheap_model_alone(
    cascade_router: Any, stub_openai: StubOpenAI
) -> None:
    stub_openai.set_default("stub-classify", answer(json.dumps({"category": LOCAL, "confidence": 0.9})))
    step = _classify(cascade_router)
    assert step.served_by == "stub-classify" and step.answers == [] and step.escalation_reason == ""
    assert stub_openai.request_count("stub-strong") == 0


def test_low_confidence_escalates_and_both_calls_are_billed_and_recorded(
    cascade_router: Any, stub_openai: StubOpenAI
) -> None:
    stub_openai.set_default("stub-classify", answer(json.dumps({"category": LOCAL, "confidence": 0.35})))
    step = _classify(cascade_router)
    assert step.served_by == "stub-strong" and step.escalation_reason == "low confidence 0.35"
    assert [(a["model"], a["doubt"], a["kept"]) for a in step.answers] == [
        ("stub-classify", "low confidence 0.35", False),
        ("stub-strong", "", True),
    ]
    calls = ModelCall.objects.filter(step=step).order_by("id")
    assert [(c.model_slug, c.outcome) for c in calls] == [("stub-classify", "ok"), ("stub-strong", "ok")]
    assert all(c.cost > 0 for c in calls)
    assert step.cost == calls[1].cost  # the step's own cost is its serving call's; the ticket has both
    ticket = step.ticket
    assert sum(c.cost for c in ticket.calls.all()) >= calls[0].cost + calls[1].cost
    assert [a["error"] for a in step.attempts] == ["escalated: low confidence 0.35", ""]


def test_disagreeing_with_the_local_model_escalates(cascade_router: Any, stub_openai: StubOpenAI) -> None:
    stub_openai.set_default(
        "stub-classify", answer(json.dumps({"category": "feature-request", "confidence": 0.9}))
    )
    step = _classify(cascade_router)
    assert step.served_by == "stub-strong" and step.result["category"] == LOCAL
    assert step.escalation_reason == f"disagreed with local ({LOCAL})"


def test_invalid_output_fails_over_as_before(cascade_router: Any, stub_openai: StubOpenAI) -> None:
    stub_openai.set_default("stub-classify", answer("no idea, sorry"))
    step = _classify(cascade_router)
    assert step.served_by == "stub-strong" and step.answers == []
    assert step.attempts[0]["outcome"] == "invalid_output"


def test_when_the_stronger_model_fails_the_doubted_answer_is_kept(
    cascade_router: Any, stub_openai: StubOpenAI
) -> None:
    stub_openai.set_default("stub-classify", answer(json.dumps({"category": LOCAL, "confidence": 0.4})))
    stub_openai.set_default("stub-strong", server_error())
    step = _classify(cascade_router)
    assert step.status == "done" and step.served_by == "stub-classify" and step.result["category"] == LOCAL
    assert [(a["model"], a["kept"]) for a in step.answers] == [("stub-classify", True)]
    assert not ModelCall.objects.filter(step=step, outcome="pending").exists()


def test_without_the_cascade_a_doubtful_answer_is_served(
    cascade_router: Any, stub_openai: StubOpenAI
) -> None:
    RouterTask.objects.filter(name="classify_ticket").update(cascade_enabled=False)
    config_bump_version()
    stub_openai.set_default(
        "stub-classify", answer(json.dumps({"category": "feature-request", "confidence": 0.2}))
    )
    step = _classify(cascade_router)
    assert step.served_by == "stub-classify" and stub_openai.request_count("stub-strong") == 0


def test_the_ticket_page_says_why_the_step_escalated(
    cascade_router: Any, stub_openai: StubOpenAI, staff_user: Any
) -> None:
    stub_openai.set_default("stub-classify", answer(json.dumps({"category": LOCAL, "confidence": 0.35})))
    step = _classify(cascade_router)
    client = Client()
    client.force_login(staff_user)
    html = client.get(f"/tickets/{step.ticket_id}/").content.decode()
    assert "Escalated: low confidence 0.35" in html
    assert "Cascade: 2 answers, each billed" in html and "kept" in html


def test_presets_cascade_classification_and_urgency_from_nano_to_haiku(presets: None) -> None:
    for name in ("classify_ticket", "urgency_detection"):
        task = RouterTask.objects.get(router__name="triage-router", name=name)
        assert task.cascade_enabled
        assert list(task.pool.order_by("rank").values_list("model__slug", flat=True)) == [
            "openai-gpt-5-nano",
            "anthropic-claude-haiku-4.5",
        ]


def test_an_urgency_two_points_from_the_local_scorer_escalates(
    stub_triage_router: Any, make_model: Any, stub_openai: StubOpenAI
) -> None:
    from triage.pipeline.subtasks import SUBTASKS

    strong = make_model("stub-strong-urgency", input_price="3", output_price="15")
    task = RouterTask.objects.get(router=stub_triage_router, name="urgency_detection")
    task.cascade_enabled = True
    task.save()
    PoolEntry.objects.create(task=task, model=strong, rank=2)
    config_bump_version()
    local = get_local_model("local/urgency-scorer")
    assert local is not None
    messages = [{"role": "user", "content": ticket_message(TicketText(subject=SUBJECT, body=BODY))}]
    local_score = SUBTASKS["urgency_detection"].parse(
        local.reply(messages, task="urgency_detection"), stub_triage_router
    )["score"]
    far = 5 if local_score <= 3 else 1
    confident = {"sentiment": "calm", "escalation_risk": False, "reason": "-", "confidence": 0.9}
    stub_openai.set_default("stub-urgency", answer(json.dumps({"score": far, **confident})))
    stub_openai.set_default("stub-strong-urgency", answer(json.dumps({"score": local_score, **confident})))
    ticket = ticket_submit(router=stub_triage_router, subject=SUBJECT, body=BODY)
    triage_ticket(ticket_id=ticket.pk)
    step = ticket.steps.get(task_name="urgency_detection", is_current=True)
    assert step.served_by == "stub-strong-urgency"
    assert step.escalation_reason == f"disagreed with local (urgency {local_score})"
    ticket.refresh_from_db()
    assert ticket.urgency_score == local_score


def test_urgency_one_point_across_the_escalation_line_counts_only_when_the_local_scorer_is_sure() -> None:
    from triage.models import Router
    from triage.pipeline.subtasks import FROM_LOCAL_MODEL, SUBTASKS

    rule = SUBTASKS["urgency_detection"].disagreement
    assert rule is not None
    router = Router(name="r", escalation_threshold=4)
    answer = {"score": 3, "escalation_risk": False}

    def local(score: int, confidence: float) -> dict:
        return {"score": score, "confidence": confidence, FROM_LOCAL_MODEL: True}

    assert rule(answer, local(4, 0.9), router) == "disagreed with local (urgency 4)"
    assert rule(answer, local(4, 0.5), router) == ""  # an unsure 4 vs a 3
    assert rule(answer, local(5, 0.5), router) != ""  # 2 apart: always
    assert rule(answer, local(2, 0.9), router) == ""  # same side, 1 apart
    # a shadow model's answer (not the local scorer's) disagrees across the line whatever it states
    assert rule(answer, {"score": 4, "confidence": 0.3}, router) != ""


# --- the cascade on generated text: calm replies start cheap, a doubtful draft goes on ------------
@pytest.fixture
def reply_cascade(stub_triage_router: Any, make_model: Any, stub_openai: StubOpenAI) -> Any:
    """draft_customer_reply as the presets tier it: calm tickets stub-reply-nano then
    stub-reply-cheap (cascading at 0.6), urgent ones stub-reply-premium."""
    nano = make_model("stub-reply-nano", input_price="0.05", output_price="0.4")
    task = RouterTask.objects.get(router=stub_triage_router, name="draft_customer_reply")
    task.cascade_enabled = True
    task.cascade_confidence_threshold = Decimal("0.6")
    task.save()
    PoolEntry.objects.filter(task=task, model__slug="stub-reply-premium").update(rank=3)
    PoolEntry.objects.filter(task=task, model__slug="stub-reply-cheap").update(rank=2)
    PoolEntry.objects.create(task=task, model=nano, rank=1, max_urgency=3)
    config_bump_version()
    return stub_triage_router


def _reply_json(text: str, confidence: float) -> str:
    return json.dumps({"reply": text, "confidence": confidence})


def _reply_step(router: Any) -> TriageStep:
    ticket = ticket_submit(router=router, subject=SUBJECT, body=BODY)
    triage_ticket(ticket_id=ticket.pk)
    return ticket.steps.get(task_name="draft_customer_reply", is_current=True)


def test_a_calm_ticket_a_confident_cheap_draft_is_kept(reply_cascade: Any, stub_openai: StubOpenAI) -> None:
    from tests.pipeline.conftest import urgency_json

    stub_openai.set_default("stub-urgency", answer(urgency_json(2)))
    nano_draft = "Thanks for telling us: we are checking the duplicate charge and will reply today."
    stub_openai.set_default("stub-reply-nano", answer(_reply_json(nano_draft, 0.9)))
    step = _reply_step(reply_cascade)
    assert step.served_by == "stub-reply-nano" and step.result["reply"] == nano_draft
    assert step.result["confidence"] == 0.9 and step.escalation_reason == ""
    assert stub_openai.request_count("stub-reply-cheap") == 0
    assert stub_openai.request_count("stub-reply-premium") == 0


def test_a_calm_ticket_a_doubtful_cheap_draft_goes_to_the_next_model(
    reply_cascade: Any, stub_openai: StubOpenAI
) -> None:
    from tests.pipeline.conftest import urgency_json

    stub_openai.set_default("stub-urgency", answer(urgency_json(2)))
    stub_openai.set_default("stub-reply-nano", answer(_reply_json("We got your message.", 0.3)))
    step = _reply_step(reply_cascade)
    assert step.served_by == "stub-reply-cheap" and step.escalation_reason == "low confidence 0.30"
    assert [(a["model"], a["kept"]) for a in step.answers] == [
        ("stub-reply-nano", False),
        ("stub-reply-cheap", True),
    ]
    billed = ModelCall.objects.filter(step=step, outcome="ok").values_list("model_slug", flat=True)
    assert sorted(billed) == ["stub-reply-cheap", "stub-reply-nano"]
    assert stub_openai.request_count("stub-reply-premium") == 0


def test_an_urgent_ticket_goes_to_the_premium_reply_model_only(
    reply_cascade: Any, stub_openai: StubOpenAI
) -> None:
    # the fixture's urgency model scores 5: the calm tier (nano, cheap) doesn't serve it
    step = _reply_step(reply_cascade)
    assert step.served_by == "stub-reply-premium"
    assert stub_openai.request_count("stub-reply-nano") == stub_openai.request_count("stub-reply-cheap") == 0


def test_a_pool_that_starts_local_sends_its_unsure_category_answers_on(
    stub_triage_router: Any, make_model: Any, stub_openai: StubOpenAI
) -> None:
    """The local classifier first, a remote model after it, the cascade at 0.7 (README, "Where it is
    weak"): a misleading ticket the local model is unsure of goes on; a plain one stays local, at $0."""
    from triage.models import Provider

    local_provider = Provider.objects.create(name="Built-in local models", kind=Provider.Kind.LOCAL)
    local = make_model("local/ticket-classifier", input_price="0", output_price="0", provider=local_provider)
    strong = make_model("stub-strong", input_price="3", output_price="15")
    stub_openai.set_default("stub-strong", answer(json.dumps({"category": "bug", "confidence": 0.9})))
    task = RouterTask.objects.get(router=stub_triage_router, name="classify_ticket")
    task.selection_policy = "manual_ranking"
    task.cascade_enabled = True
    task.cascade_confidence_threshold = Decimal("0.7")
    task.save()
    task.pool.all().delete()
    PoolEntry.objects.create(task=task, model=local, rank=1)
    PoolEntry.objects.create(task=task, model=strong, rank=2)
    config_bump_version()
    aside = "Thanks for the flowers, they look lovely. By the way nobody on our team could log in today."

    plain = ticket_submit(router=stub_triage_router, subject=SUBJECT, body=BODY)
    triage_ticket(ticket_id=plain.pk)
    misleading = ticket_submit(router=stub_triage_router, subject="Thanks", body=aside)
    triage_ticket(ticket_id=misleading.pk)

    kept = plain.steps.get(task_name="classify_ticket", is_current=True)
    assert kept.served_by == "local/ticket-classifier" and kept.result["category"] == LOCAL
    assert kept.cost == 0
    sent_on = misleading.steps.get(task_name="classify_ticket", is_current=True)
    assert sent_on.served_by == "stub-strong" and sent_on.result["category"] == "bug"
    assert sent_on.escalation_reason.startswith("low confidence 0.")
    assert [a["model"] for a in sent_on.answers] == ["local/ticket-classifier", "stub-strong"]
    assert stub_openai.request_count("stub-strong") == 1
