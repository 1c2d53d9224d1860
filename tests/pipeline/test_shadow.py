"""Shadow comparisons: a sample of done steps re-answered by a task's shadow model, apart from the ticket."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from tests.pipeline.conftest import CLASSIFY_OK, urgency_json
from tests.support.stub_openai import StubOpenAI, answer, hang, server_error
from triage.models import ModelCall, RouterTask, ShadowComparison, Ticket, TriageStep
from triage.pipeline.subtasks import CLASSIFY, REPLY, URGENCY
from triage.pipeline.triage import triage_ticket
from triage.routing.config import TaskSpec
from triage.services.shadow import shadow_agreement, shadow_compare, shadow_sampled
from triage.services.tickets import ticket_submit

SHADOW = "stub-shadow"
DELAY = "triage.pipeline.tasks.shadow_compare_task.delay"


def _task_spec(name: str = CLASSIFY, *, rate: float, shadow_model_id: int | None = 7) -> TaskSpec:
    return TaskSpec(
        id=1,
        name=name,
        description="",
        utterances=(),
        system_prompt="",
        policy="manual_ranking",
        expected_input_tokens=300,
        expected_output_tokens=100,
        first_token_timeout_seconds=10.0,
        pool=(),
        shadow_model_id=shadow_model_id,
        shadow_sample_rate=rate,
    )


# --- sampling: no database ------------------------------------------------------------------------
def test_about_the_rate_of_steps_is_sampled_and_always_the_same_ones() -> None:
    spec = _task_spec(rate=0.25)
    sampled = [step_id for step_id in range(1, 201) if shadow_sampled(spec, step_id)]
    assert 30 <= len(sampled) <= 70  # 15% to 35% of 200
    assert sampled == [step_id for step_id in range(1, 201) if shadow_sampled(spec, step_id)]
    five_percent = sum(shadow_sampled(_task_spec(rate=0.05), step_id) for step_id in range(1, 2001))
    assert 50 <= five_percent <= 150  # 2.5% to 7.5% of 2000


def test_rate_zero_samples_none_and_rate_one_all() -> None:
    assert not any(shadow_sampled(_task_spec(rate=0), step_id) for step_id in range(1, 201))
    assert all(shadow_sampled(_task_spec(rate=1), step_id) for step_id in range(1, 201))


def test_no_shadow_without_a_shadow_model_or_for_a_task_that_is_not_compared() -> None:
    assert not any(shadow_sampled(_task_spec(rate=1, shadow_model_id=None), i) for i in range(1, 50))
    assert not any(shadow_sampled(_task_spec(REPLY, rate=1), i) for i in range(1, 50))
    assert all(shadow_sampled(_task_spec(URGENCY, rate=1), i) for i in range(1, 50))
    assert not shadow_sampled(None, 1)


# --- the pipeline and the worker ------------------------------------------------------------------
pipeline = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shadowed_router(stub_triage_router: Any, make_model: Any, stub_openai: StubOpenAI) -> Any:
    """The triage router with ``stub-shadow`` shadowing classification and urgency on every step."""
    shadow = make_model(SHADOW, input_price="3", output_price="6")
    stub_openai.set_default(SHADOW, answer(CLASSIFY_OK))
    _shadow_task(stub_triage_router, CLASSIFY, shadow, "1")
    _shadow_task(stub_triage_router, URGENCY, shadow, "1")
    return stub_triage_router


def _shadow_task(router: Any, name: str, model: Any, rate: str) -> None:
    task = RouterTask.objects.get(router=router, name=name)
    task.shadow_model, task.shadow_sample_rate = model, Decimal(rate)
    task.save()  # its signal publishes the new configuration


@pytest.fixture
def eager_celery() -> Any:
    """``eager()`` makes ``.delay`` run the task at once in the caller (CELERY_TASK_ALWAYS_EAGER)."""
    from triage_site.celery import app

    before = app.conf.task_always_eager

    def eager() -> None:
        app.conf.task_always_eager = True

    yield eager
    app.conf.task_always_eager = before


def _submit(router: Any) -> Ticket:
    return ticket_submit(
        router=router, subject="Production outage", body="Dashboard down since 09:14 UTC, 200 users blocked."
    )


def _triage_capturing_shadows(ticket: Ticket) -> list[int]:
    """Triage the ticket; return the step ids whose shadow comparison was sent (not run)."""
    with mock.patch(DELAY) as delay:
        triage_ticket(ticket_id=ticket.pk)
    return [call.args[0] for call in delay.call_args_list]


def _step_id(ticket: Ticket, name: str) -> int:
    return TriageStep.objects.get(ticket=ticket, task_name=name, is_current=True).pk


def _ticket_state(ticket: Ticket) -> dict[str, Any]:
    from triage.web.selectors import analytics_for, ticket_page

    ticket.refresh_from_db()
    page = ticket_page(ticket.pk)
    steps = TriageStep.objects.filter(ticket=ticket).order_by("id")
    return {
        "ticket": (
            ticket.status,
            ticket.category,
            ticket.urgency_score,
            ticket.escalated,
            ticket.attention_reason,
        ),
        "steps": [(s.task_name, s.status, s.result, s.served_by, s.cost, s.attempts) for s in steps],
        "calls": sorted(ticket.calls.values_list("id", "cost")),
        "page_cost": page.total_cost,
        "page_cards": [(c.name, c.step.pk if c.step else None) for c in page.cards],
        "analytics_cost": analytics_for(router=ticket.router, period="7d").cost_total,
    }


def _page(ticket: Ticket, user: Any) -> str:
    """The ticket page as an agent sees it (its per-request CSRF tokens left out)."""
    client = Client()
    client.force_login(user)
    response = client.get(f"/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]*"', "", response.content.decode())


@pipeline
def test_only_sampled_steps_of_tasks_with_a_shadow_model_are_sent(
    stub_triage_router: Any, make_model: Any
) -> None:
    shadow = make_model(SHADOW)
    _shadow_task(stub_triage_router, CLASSIFY, shadow, "1")
    _shadow_task(stub_triage_router, URGENCY, shadow, "0")  # a shadow model, but no sample
    _shadow_task(stub_triage_router, REPLY, shadow, "1")  # replies are not compared
    ticket = _submit(stub_triage_router)
    sent = _triage_capturing_shadows(ticket)
    assert sent == [_step_id(ticket, CLASSIFY)]


@pipeline
def test_no_shadow_is_sent_without_a_shadow_model(stub_triage_router: Any) -> None:
    ticket = _submit(stub_triage_router)
    assert _triage_capturing_shadows(ticket) == []
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TRIAGED


@pipeline
def test_the_worker_task_records_the_comparison(
    shadowed_router: Any, stub_openai: StubOpenAI, eager_celery: Any
) -> None:
    ticket = _submit(shadowed_router)
    eager_celery()
    triage_ticket(ticket_id=ticket.pk)
    comparisons = {c.task_name: c for c in ShadowComparison.objects.filter(ticket=ticket)}
    assert set(comparisons) == {CLASSIFY, URGENCY}
    assert comparisons[CLASSIFY].agreed is True
    assert comparisons[URGENCY].agreed is None  # the shadow answered a category: no usable score
    assert stub_openai.request_count(SHADOW) == 2
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TRIAGED


@pipeline
def test_a_shadow_is_counted_apart_from_the_ticket(
    shadowed_router: Any, stub_openai: StubOpenAI, agent_user: Any
) -> None:
    ticket = _submit(shadowed_router)
    sent = _triage_capturing_shadows(ticket)
    assert sorted(sent) == sorted([_step_id(ticket, CLASSIFY), _step_id(ticket, URGENCY)])
    before, page_before = _ticket_state(ticket), _page(ticket, agent_user)

    comparison = shadow_compare(_step_id(ticket, CLASSIFY))

    assert comparison is not None and comparison.agreed is True
    call = ModelCall.objects.get(model_slug=SHADOW)
    assert (call.ticket_id, call.step_id, call.task_name, call.outcome) == (None, None, CLASSIFY, "ok")
    assert comparison.call_id == call.pk and comparison.cost == call.cost > 0
    assert _ticket_state(ticket) == before
    assert _page(ticket, agent_user) == page_before
    # a redelivered message doesn't ask (and bill) again
    assert shadow_compare(_step_id(ticket, CLASSIFY)) is None
    assert stub_openai.request_count(SHADOW) == 1


@pipeline
@pytest.mark.parametrize("behaviour", [server_error(500), hang(30)], ids=["fails", "hangs"])
def test_a_failing_or_hanging_shadow_leaves_the_ticket_as_it_settled(
    shadowed_router: Any, stub_openai: StubOpenAI, eager_celery: Any, behaviour: Any
) -> None:
    stub_openai.set_default(SHADOW, behaviour)
    plain, ticket = _submit(shadowed_router), _submit(shadowed_router)
    with mock.patch(DELAY):
        triage_ticket(ticket_id=plain.pk)
    # the shadow runs inside the pipeline's own thread here (eager), the worst place for it to fail
    eager_celery()
    triage_ticket(ticket_id=ticket.pk)

    settled, expected = _ticket_state(ticket), _ticket_state(plain)
    assert settled["ticket"] == expected["ticket"] == (Ticket.Status.TRIAGED, "bug", 5, True, "")
    assert len(settled["calls"]) == len(expected["calls"]) == 4
    assert ticket.calls.filter(model_slug=SHADOW).count() == 0
    comparisons = list(ShadowComparison.objects.filter(ticket=ticket))
    assert len(comparisons) == 2
    assert all(c.agreed is None and c.error and c.shadow_result is None for c in comparisons)
    rows = ModelCall.objects.filter(model_slug=SHADOW)
    assert rows.count() == 2 and not rows.filter(ticket__isnull=False).exists()


@pipeline
def test_agreement_is_kept_per_task_and_model(shadowed_router: Any, stub_openai: StubOpenAI) -> None:
    # primary urgency is 5 (escalates at the router's threshold 4)
    stub_openai.script(
        SHADOW,
        answer(CLASSIFY_OK),  # ticket 1 classify: agrees
        answer(urgency_json(4)),  # ticket 1 urgency: one point apart, both escalate: agrees
        answer(json.dumps({"category": "billing", "confidence": 0.8})),  # ticket 2 classify: disagrees
        answer(urgency_json(3)),  # ticket 2 urgency: 3 doesn't escalate: disagrees
        server_error(500),  # ticket 3 classify: the shadow failed, not compared
    )
    tickets = [_submit(shadowed_router) for _ in range(3)]
    for ticket in tickets:
        _triage_capturing_shadows(ticket)
    for ticket in tickets[:2]:
        shadow_compare(_step_id(ticket, CLASSIFY))
        shadow_compare(_step_id(ticket, URGENCY))
    shadow_compare(_step_id(tickets[2], CLASSIFY))

    rows = {row["task"]: row for row in shadow_agreement(router=shadowed_router)}
    classify, urgency = rows[CLASSIFY], rows[URGENCY]
    assert (classify["primary_model"], classify["shadow_model"]) == ("stub-classify", SHADOW)
    assert (classify["comparisons"], classify["compared"], classify["agreed"], classify["failed"]) == (
        3,
        2,
        1,
        1,
    )
    assert classify["rate"] == 0.5
    assert (urgency["primary_model"], urgency["comparisons"], urgency["agreed"]) == ("stub-urgency", 2, 1)
    shadow_calls = ModelCall.objects.filter(model_slug=SHADOW)
    assert classify["cost"] + urgency["cost"] == sum(c.cost for c in shadow_calls)
    assert shadow_agreement(router=shadowed_router, since=tickets[0].created_at.replace(year=2100)) == []


@pipeline
def test_analytics_shows_shadow_agreement_apart_from_ticket_costs(
    shadowed_router: Any, stub_openai: StubOpenAI, staff_user: Any
) -> None:
    from triage.web.selectors import analytics_for

    ticket = _submit(shadowed_router)
    _triage_capturing_shadows(ticket)
    before = analytics_for(router=shadowed_router, period="7d")
    shadow_compare(_step_id(ticket, CLASSIFY))
    after = analytics_for(router=shadowed_router, period="7d")
    assert after.cost_total == before.cost_total
    assert [(s["task"], s["shadow_model"], s["agreed"]) for s in after.shadow] == [(CLASSIFY, SHADOW, 1)]
    client = Client()
    client.force_login(staff_user)
    page = client.get("/analytics/", {"router": shadowed_router.name})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="shadow-agreement"' in html and SHADOW in html
