"""The worker's plain-SQL writes store what the ORM would, and their conditions hold."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from triage.models import Router, Ticket, TriageStep
from triage.pipeline.statements import current_steps_with_ticket, prep, row_update, rows_update
from triage.pipeline.steps import (
    step_claim,
    step_claim_renew,
    step_complete,
    step_fail,
    step_skip,
    steps_claim_pending,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def step() -> TriageStep:
    ticket = Ticket.objects.create(router=Router.objects.create(name="r"), subject="s", body="b")
    return TriageStep.objects.create(ticket=ticket, task_name="urgency_detection")


def test_a_completed_step_reads_back_exactly_as_written(step: TriageStep) -> None:
    hostile = "100% sure'); DROP TABLE triage_triagestep; -- {status} %s \u2603"
    result = {"score": 5, "reason": hostile, "nested": [1, None, {"a": True}]}
    attempts = [{"model": "m", "outcome": "ok", "latency_ms": 12, "error": ""}]
    assert step_claim(step, deadline_seconds=30)
    step_complete(
        step, result=result, raw_output=hostile, served_by="stub-urgency", attempts=attempts,
        latency_ms=12, prompt_tokens=40, completion_tokens=9, cost=Decimal("0.0000123456"), degraded=True,
    )  # fmt: skip
    row = TriageStep.objects.get(pk=step.pk)
    assert (row.status, row.result, row.raw_output, row.attempts) == ("done", result, hostile, attempts)
    assert (row.latency_ms, row.prompt_tokens, row.completion_tokens) == (12, 40, 9)
    assert row.cost == Decimal("0.0000123456") and row.degraded is True
    assert row.finished_at == step.finished_at and row.lease_expires_at is None
    assert row.started_at == step.started_at  # the claim's time, as the page shows it


def test_a_step_is_claimed_once_and_only_while_unheld(step: TriageStep) -> None:
    assert step_claim(step, deadline_seconds=30)
    row = TriageStep.objects.get(pk=step.pk)
    assert row.status == "running" and row.lease_expires_at == step.lease_expires_at
    assert row.lease_expires_at > timezone.now() + timedelta(seconds=30)  # beyond the router's deadline
    other = TriageStep.objects.get(pk=step.pk)
    assert not step_claim(other)  # a live lease: another worker waits


def test_an_expired_or_missing_lease_can_be_claimed_again(step: TriageStep) -> None:
    TriageStep.objects.filter(pk=step.pk).update(
        status="running", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert step_claim(step)
    TriageStep.objects.filter(pk=step.pk).update(status="running", lease_expires_at=None)
    assert step_claim(step)


def test_finished_and_retired_steps_are_never_claimed(step: TriageStep) -> None:
    TriageStep.objects.filter(pk=step.pk).update(status="done")
    assert not step_claim(step)
    TriageStep.objects.filter(pk=step.pk).update(status="pending", is_current=False)
    assert not step_claim(step)
    assert TriageStep.objects.get(pk=step.pk).status == "pending"


def test_a_retired_step_keeps_what_it_had_when_a_late_failure_arrives(step: TriageStep) -> None:
    TriageStep.objects.filter(pk=step.pk).update(is_current=False)
    step_fail(step, error="every model failed", attempts=[])
    row = TriageStep.objects.get(pk=step.pk)
    assert (row.status, row.error, row.is_current) == ("pending", "", False)


def test_row_update_counts_rows_and_applies_set_sql_and_conditions_on_other_tables(step: TriageStep) -> None:
    ticket = step.ticket
    queued_and_has_urgency = {
        "where": "{status} = %s AND EXISTS (SELECT 1 FROM {step.table} WHERE {step.ticket} = {table}.{pk} "
        "AND {step.task_name} = %s)",
        "set_sql": "{triage_runs} = {triage_runs} + 1",
        "others": {"step": TriageStep},
    }
    now = timezone.now()
    changed = row_update(
        Ticket, ticket.pk, {"status": "triaging", "updated_at": now},
        params=["queued", "urgency_detection"], **queued_and_has_urgency,
    )  # fmt: skip
    assert changed == 1
    ticket.refresh_from_db()
    assert (ticket.status, ticket.triage_runs, ticket.updated_at) == ("triaging", 1, now)
    # no longer queued: nothing changes
    assert row_update(Ticket, ticket.pk, {"status": "failed"}, params=["queued", "urgency_detection"],
                      **queued_and_has_urgency) == 0  # fmt: skip
    # no such step: nothing changes
    Ticket.objects.filter(pk=ticket.pk).update(status="queued")
    assert row_update(Ticket, ticket.pk, {"status": "failed"}, params=["queued", "draft_customer_reply"],
                      **queued_and_has_urgency) == 0  # fmt: skip
    ticket.refresh_from_db()
    assert (ticket.status, ticket.triage_runs) == ("queued", 1)


def test_prep_gives_a_condition_the_fields_own_database_form(step: TriageStep) -> None:
    later = timezone.now() + timedelta(hours=1)
    TriageStep.objects.filter(pk=step.pk).update(lease_expires_at=later)
    assert row_update(
        TriageStep, step.pk, {"error": "x"}, where="{lease_expires_at} = %s",
        params=[prep(TriageStep, "lease_expires_at", later)],
    ) == 1  # fmt: skip


def _four_steps(step: TriageStep) -> list[TriageStep]:
    names = ["classify_ticket", "draft_customer_reply", "escalate_complex_issue"]
    return [step, *(TriageStep.objects.create(ticket=step.ticket, task_name=name) for name in names)]


def test_steps_that_start_together_are_claimed_in_one_statement(
    step: TriageStep, django_assert_num_queries: Any
) -> None:
    urgency, classify, *_ = _four_steps(step)
    with django_assert_num_queries(1):
        claimed = steps_claim_pending([classify, urgency], deadline_seconds=30)
    assert claimed == {classify.pk, urgency.pk}
    for claimed_step in (classify, urgency):
        row = TriageStep.objects.get(pk=claimed_step.pk)
        assert row.status == "running" and claimed_step.status == "running"
        assert row.started_at == claimed_step.started_at
        assert row.lease_expires_at == claimed_step.lease_expires_at > timezone.now() + timedelta(seconds=30)
    # a second run, from its own copies of the rows: both are held, it takes neither
    again = list(TriageStep.objects.filter(pk__in=claimed).order_by("pk"))
    for copy in again:
        copy.status = "pending"
    assert steps_claim_pending(again) == set()


def test_a_joint_claim_takes_only_the_pending_current_rows_and_says_which(step: TriageStep) -> None:
    urgency, classify, reply, brief = _four_steps(step)
    TriageStep.objects.filter(pk=classify.pk).update(status="done")  # finished by an earlier run
    TriageStep.objects.filter(pk=reply.pk).update(is_current=False)  # retired by a re-triage
    TriageStep.objects.filter(pk=brief.pk).update(  # left running by a dead worker: step_run decides
        status="running", lease_expires_at=timezone.now() - timedelta(minutes=5)
    )
    assert steps_claim_pending([urgency, classify, reply, brief]) == {urgency.pk}
    assert classify.status == reply.status == brief.status == "pending"  # not taken: left as they were
    rows = dict(TriageStep.objects.values_list("pk", "status"))
    assert rows == {urgency.pk: "running", classify.pk: "done", reply.pk: "pending", brief.pk: "running"}


def test_a_joint_claim_of_finished_steps_sends_nothing(
    step: TriageStep, django_assert_num_queries: Any
) -> None:
    step.status = "done"
    with django_assert_num_queries(0):
        assert steps_claim_pending([step]) == set()


def test_a_jointly_claimed_step_that_waited_for_a_thread_gets_a_fresh_lease(step: TriageStep) -> None:
    """The lease must count from the call, or a step queued behind busy threads could run out of
    lease mid-call and be taken for one whose worker died."""
    assert steps_claim_pending([step], deadline_seconds=30)
    claimed_lease = step.lease_expires_at
    step.started_at -= timedelta(seconds=5)  # it waited 5 s for a free step thread
    TriageStep.objects.filter(pk=step.pk).update(started_at=step.started_at)

    assert step_claim_renew(step, deadline_seconds=30)

    row = TriageStep.objects.get(pk=step.pk)
    assert row.lease_expires_at == step.lease_expires_at > claimed_lease  # counted from now
    assert row.started_at == step.started_at > timezone.now() - timedelta(seconds=1)  # the call's time


def test_a_joint_claim_another_run_took_over_is_not_renewed(step: TriageStep) -> None:
    assert steps_claim_pending([step], deadline_seconds=30)
    step.started_at -= timedelta(seconds=5)
    theirs = timezone.now() + timedelta(minutes=10)
    TriageStep.objects.filter(pk=step.pk).update(lease_expires_at=theirs)  # re-claimed by another run

    assert not step_claim_renew(step, deadline_seconds=30)

    assert step.lease_expires_at == theirs  # re-read: the other run's claim stands
    assert TriageStep.objects.get(pk=step.pk).lease_expires_at == theirs


def test_a_joint_claim_used_at_once_is_not_written_again(
    step: TriageStep, django_assert_num_queries: Any
) -> None:
    assert steps_claim_pending([step], deadline_seconds=30)
    with django_assert_num_queries(0):
        assert step_claim_renew(step, deadline_seconds=30)


def test_rows_update_returns_the_keys_its_condition_took(step: TriageStep) -> None:
    urgency, classify, reply, _ = _four_steps(step)
    TriageStep.objects.filter(pk=reply.pk).update(error="keep")
    hostile = "'); DELETE FROM triage_triagestep; -- %s {status}"
    changed = rows_update(
        TriageStep, [urgency.pk, classify.pk, reply.pk], {"error": hostile}, where="{error} = %s", params=[""]
    )
    assert changed == {urgency.pk, classify.pk}
    errors = dict(TriageStep.objects.values_list("pk", "error"))
    assert errors[urgency.pk] == errors[classify.pk] == hostile and errors[reply.pk] == "keep"
    assert rows_update(TriageStep, [], {"error": "x"}) == set()


def test_a_skip_settles_an_unfinished_step_and_never_overwrites_a_finished_one(
    step: TriageStep, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):  # one conditional update; nothing read back
        step_skip(step, reason="urgency 2 < threshold 4")
    row = TriageStep.objects.get(pk=step.pk)
    assert (row.status, row.skip_reason, row.lease_expires_at) == ("skipped", "urgency 2 < threshold 4", None)
    assert (step.status, step.finished_at) == ("skipped", row.finished_at)

    done = TriageStep.objects.create(ticket=step.ticket, task_name="escalate_complex_issue", status="done")
    stale = TriageStep.objects.get(pk=done.pk)
    stale.status = "pending"  # this run's copy predates the other run's answer
    step_skip(stale, reason="urgency 2 < threshold 4")
    assert TriageStep.objects.get(pk=done.pk).status == "done"
    assert stale.status == "done" and stale.skip_reason == ""  # what the other run wrote, read back

    retired = TriageStep.objects.create(
        ticket=step.ticket, task_name="draft_customer_reply", is_current=False
    )
    step_skip(retired, reason="urgency 2 < threshold 4")
    assert TriageStep.objects.get(pk=retired.pk).status == "pending"  # history keeps what it had


def test_a_runs_start_loads_steps_ticket_and_router_as_the_orm_does(step: TriageStep) -> None:
    ticket = step.ticket
    TriageStep.objects.filter(pk=step.pk).update(
        result={"score": 4, "reason": "x"}, cost=Decimal("0.25"), degraded=True, started_at=timezone.now()
    )
    TriageStep.objects.create(ticket=ticket, task_name="classify_ticket", status="done")
    TriageStep.objects.create(ticket=ticket, task_name="classify_ticket", is_current=False)  # history
    loaded = current_steps_with_ticket(ticket.pk)
    expected = TriageStep.objects.select_related("ticket__router").filter(ticket=ticket, is_current=True)

    def fields(obj: object, model: type) -> dict[str, object]:
        return {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}

    assert sorted((fields(s, TriageStep) for s in loaded), key=str) == sorted(
        (fields(s, TriageStep) for s in expected), key=str
    )
    assert len({id(s.ticket) for s in loaded}) == 1  # one ticket object for all its steps
    assert fields(loaded[0].ticket, Ticket) == fields(expected[0].ticket, Ticket)
    assert fields(loaded[0].ticket.router, Router) == fields(expected[0].ticket.router, Router)
    assert all(not s._state.adding for s in loaded)  # saved rows, as the ORM loads them
    assert current_steps_with_ticket(ticket.pk + 1000) == []
