"""Step rows: create, claim, complete, fail, skip, and settle what a dead run left. Crash safety lives here.

Every write is a conditional ``filter(...).update(...)`` whose row count says whether it applied:
a step is claimed only while pending, current and its ticket is owned by the claiming run; its
result is written only while that run still holds it. A step that is ``done`` (or ``skipped``/
``failed``) is never run again unless an agent asks for a re-run, which makes a new current row
and keeps the old one as history.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from triage.models import CallOutcome, ModelCall, Ticket, TriageStep
from triage.pipeline.subtasks import SUBTASKS, subtask_names
from triage.routing.audit import calls_interrupt

FINISHED = (TriageStep.Status.DONE, TriageStep.Status.SKIPPED, TriageStep.Status.FAILED)

INTERRUPTED_ERROR = (
    "interrupted: the worker stopped while this step's model call was in flight. The call may have "
    "been billed, so it was not asked again; re-run the step to try again."
)


def steps_create(ticket: Ticket) -> None:
    """Pending rows for every subtask, written with the ticket so pages show every step at once."""
    TriageStep.objects.bulk_create([TriageStep(ticket=ticket, task_name=name) for name in subtask_names()])


def steps_ensure(ticket: Ticket) -> dict[str, TriageStep]:
    """The current step row of each subtask, creating pending rows that are missing."""
    existing = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    missing = [TriageStep(ticket=ticket, task_name=name) for name in subtask_names() if name not in existing]
    if missing:
        TriageStep.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    return existing


def _settle(step: TriageStep, updated: int, values: dict[str, Any]) -> bool:
    """After a conditional update: the step object takes the values it wrote, or the row as it is."""
    if updated:
        for name, value in values.items():
            setattr(step, name, value)
    else:
        step.refresh_from_db()
    return bool(updated)


def step_claim(step: TriageStep, *, run_id: uuid.UUID) -> bool:
    """Take the step for this run: still pending and current, and the ticket still this run's."""
    values = {"status": TriageStep.Status.RUNNING, "run_id": run_id, "started_at": timezone.now()}
    owned = Exists(Ticket.objects.filter(pk=OuterRef("ticket_id"), run_id=run_id))
    claimed = TriageStep.objects.filter(owned, pk=step.pk, is_current=True, status=TriageStep.Status.PENDING)
    return _settle(step, claimed.update(**values), values)


def _held(step: TriageStep, run_id: uuid.UUID) -> Any:
    """The step's row while this run still holds it (not retired, not taken over)."""
    return TriageStep.objects.filter(
        pk=step.pk, run_id=run_id, status=TriageStep.Status.RUNNING, is_current=True
    )


def step_complete(step: TriageStep, *, run_id: uuid.UUID, **result: Any) -> bool:
    """Write a served step's result (inside the transaction that completes its model call's row).
    False when the run no longer holds it (re-triaged or taken over): the answer is not kept, its
    cost row is."""
    values = {
        "status": TriageStep.Status.DONE,
        "error": "",
        "finished_at": timezone.now(),
        **result,
    }
    values["raw_output"] = str(values.get("raw_output", ""))[:20_000]
    return _settle(step, _held(step, run_id).update(**values), values)


def step_fail(
    step: TriageStep, *, run_id: uuid.UUID, error: str, attempts: list[dict[str, Any]], result: Any = None
) -> bool:
    """Every model failed. With a ``result`` (a subtask's fallback) later steps read it and the
    ticket needs attention instead of failing."""
    values = {
        "status": TriageStep.Status.FAILED,
        "error": error[:5000],
        "attempts": attempts,
        "result": result,
        "degraded": result is not None,
        "latency_ms": sum(int(a.get("latency_ms") or 0) for a in attempts),
        "finished_at": timezone.now(),
    }
    return _settle(step, _held(step, run_id).update(**values), values)


def _pending(step: TriageStep) -> Any:
    return TriageStep.objects.filter(pk=step.pk, is_current=True, status=TriageStep.Status.PENDING)


def step_skip(step: TriageStep, *, reason: str, degraded: bool = False) -> bool:
    """Settle a step that need not (or can't) run as skipped, with its reason, shown on the page;
    ``degraded`` when the ticket needs attention for it (the router lacks the step's task)."""
    values = {
        "status": TriageStep.Status.SKIPPED,
        "skip_reason": reason[:200],
        "finished_at": timezone.now(),
        "degraded": degraded,
    }
    return _settle(step, _pending(step).update(**values), values)


def time_limit_error(limit_seconds: float) -> str:
    return (
        f"not run: this ticket's triage passed its time limit ({limit_seconds:g} s, "
        "TRIAGE_TASK_SOFT_TIME_LIMIT) before the step could start; re-run the ticket to try again"
    )


def step_stop_at_time_limit(step: TriageStep, *, limit_seconds: float) -> bool:
    """Settle a step no model was asked for as failed because the run ran out of time."""
    values = {
        "status": TriageStep.Status.FAILED,
        "error": time_limit_error(limit_seconds),
        "finished_at": timezone.now(),
    }
    return _settle(step, _pending(step).update(**values), values)


@transaction.atomic
def steps_take_over(ticket: Ticket, *, run_id: uuid.UUID, reask: bool) -> list[str]:
    """Settle the steps a dead run left running, as the run that took the ticket over.

    A step with a model call still pending (its request may have reached the provider and been
    billed) is settled as interrupted, its call rows marked interrupted at their worst-case cost,
    and it is not asked again unless ``reask`` (``TRIAGE_REASK_INTERRUPTED_STEPS``) says to pay
    twice. A step with no pending call never had a request in flight: it goes back to pending and
    runs. Returns the names of the steps whose calls were interrupted.
    """
    left = TriageStep.objects.filter(
        ticket=ticket, is_current=True, status=TriageStep.Status.RUNNING
    ).exclude(run_id=run_id)
    in_flight = Exists(ModelCall.objects.filter(step=OuterRef("pk"), outcome=CallOutcome.PENDING))
    interrupted = list(left.filter(in_flight).values_list("pk", "task_name"))
    calls_interrupt(ModelCall.objects.filter(step_id__in=[pk for pk, _ in interrupted]))
    for pk, name in interrupted:
        if reask:
            continue
        fallback = SUBTASKS[name].fallback_result if name in SUBTASKS else None
        TriageStep.objects.filter(pk=pk, status=TriageStep.Status.RUNNING).update(
            status=TriageStep.Status.FAILED,
            result=fallback,
            degraded=True,
            error=INTERRUPTED_ERROR,
            finished_at=timezone.now(),
        )
    # never sent, or sent again on purpose: back to pending for this run
    left.filter(status=TriageStep.Status.RUNNING).update(status=TriageStep.Status.PENDING, run_id=None)
    return [name for _, name in interrupted]


@transaction.atomic
def steps_reset(ticket: Ticket, names: list[str]) -> None:
    """Retire the current rows of ``names`` (kept as history) and add fresh pending ones."""
    ticket.steps.filter(is_current=True, task_name__in=names).update(is_current=False)
    TriageStep.objects.bulk_create([TriageStep(ticket=ticket, task_name=name) for name in names])
