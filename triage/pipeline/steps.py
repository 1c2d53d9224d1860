"""Step rows: create, claim with a lease, complete, skip, fail. The crash-safety lives here.

A step that is ``done`` (or ``skipped``/``failed``) is never run again unless an agent asks for a
re-run, which makes a new current row and keeps the old one as history.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from triage.models import Ticket, TriageStep
from triage.pipeline.statements import (
    can_update_returning,
    current_steps_with_ticket,
    prep,
    row_update,
    rows_update,
)
from triage.pipeline.subtasks import ALL_STEPS

FINISHED = (TriageStep.Status.DONE, TriageStep.Status.SKIPPED, TriageStep.Status.FAILED)


LEASE_MARGIN_SECONDS = 10  # past the router's deadline: a local model's first load, database writes


def step_lease(deadline_seconds: float | None = None) -> timedelta:
    """How long a claim holds: the setting, but always beyond the router's request deadline, so a
    step that is still running is never mistaken for one whose worker died."""
    seconds = float(settings.TRIAGE_STEP_LEASE_SECONDS)
    if deadline_seconds is not None:
        seconds = max(seconds, float(deadline_seconds) + LEASE_MARGIN_SECONDS)
    return timedelta(seconds=seconds)


def _step_settle_row(step: TriageStep, values: dict[str, Any], *, where: str, params: list[Any]) -> bool:
    """Write ``values`` to the step's row where ``where`` holds; the step object then takes them, or
    is re-read when the condition failed (another run changed the row first: keep what it wrote)."""
    changed = row_update(TriageStep, step.pk, values, where=where, params=params)
    if changed:
        for name, value in values.items():
            setattr(step, name, value)
    else:
        step.refresh_from_db()
    return bool(changed)


def steps_held(ticket: Ticket) -> bool:
    """Whether a worker holds a live lease on one of the ticket's current steps."""
    return ticket.steps.filter(
        is_current=True, status=TriageStep.Status.RUNNING, lease_expires_at__gt=timezone.now()
    ).exists()


def steps_create(ticket: Ticket) -> None:
    """Pending rows for every subtask, written with the ticket so pages show four steps at once."""
    TriageStep.objects.bulk_create([TriageStep(ticket=ticket, task_name=name) for name in ALL_STEPS])


def steps_ensure(ticket: Ticket) -> dict[str, TriageStep]:
    """The current step row of each subtask, creating pending rows that are missing."""
    existing = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    missing = [TriageStep(ticket=ticket, task_name=name) for name in ALL_STEPS if name not in existing]
    if missing:
        TriageStep.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    return existing


def steps_load(ticket_id: int) -> tuple[Ticket, dict[str, TriageStep]]:
    """The ticket (with its router) and its current step of each subtask, in one query when every
    step row exists (the usual case: they are written with the ticket)."""
    rows = current_steps_with_ticket(ticket_id)
    if {row.task_name for row in rows} >= set(ALL_STEPS):
        return rows[0].ticket, {row.task_name: row for row in rows}
    ticket = Ticket.objects.select_related("router").get(pk=ticket_id)
    return ticket, steps_ensure(ticket)


def step_claim(step: TriageStep, *, deadline_seconds: float | None = None) -> bool:
    """Take the step for this worker: current, and pending or running under a lease that has expired."""
    now = timezone.now()
    lease_until = now + step_lease(deadline_seconds)
    claimed = row_update(
        TriageStep,
        step.pk,
        {"status": TriageStep.Status.RUNNING, "started_at": now, "lease_expires_at": lease_until},
        # a row a re-triage retired is history: never called for again
        where="{is_current} = %s AND ({status} = %s OR ({status} = %s AND "
        "({lease_expires_at} IS NULL OR {lease_expires_at} < %s)))",
        params=[
            True,
            TriageStep.Status.PENDING,
            TriageStep.Status.RUNNING,
            prep(TriageStep, "lease_expires_at", now),
        ],
    )
    if claimed:
        step.status, step.started_at, step.lease_expires_at = TriageStep.Status.RUNNING, now, lease_until
    return bool(claimed)


def steps_claim_pending(steps: list[TriageStep], *, deadline_seconds: float | None = None) -> set[int]:
    """Take the steps that start together (classification and urgency; the reply and the brief) in
    one statement instead of one each: those still pending and current. The ids taken; a step not
    among them (finished, or held or left running by another run) goes through ``step_run``'s loop,
    which waits out, settles or re-claims it one by one."""
    pending = [step for step in steps if step.status == TriageStep.Status.PENDING]
    if not pending or not can_update_returning(TriageStep):
        return set()  # (an SQLite older than 3.35: each step is claimed on its own, as before)
    now = timezone.now()
    lease_until = now + step_lease(deadline_seconds)
    claimed = rows_update(
        TriageStep,
        [step.pk for step in pending],
        {"status": TriageStep.Status.RUNNING, "started_at": now, "lease_expires_at": lease_until},
        where="{is_current} = %s AND {status} = %s",
        params=[True, TriageStep.Status.PENDING],
    )
    for step in pending:
        if step.pk in claimed:
            step.status, step.started_at, step.lease_expires_at = TriageStep.Status.RUNNING, now, lease_until
    return claimed


INTERRUPTED_ERROR = (
    "interrupted: the worker stopped while this step's model call was in flight. The call may have "
    "been billed, so it was not asked again; re-run the step to try again."
)


def step_was_interrupted(step: TriageStep) -> bool:
    """Whether the step was claimed by a run that died: running, with its lease run out (a lease is
    always longer than the router's deadline, so a live run never looks like this)."""
    return step.status == TriageStep.Status.RUNNING and (
        step.lease_expires_at is None or step.lease_expires_at < timezone.now()
    )


def step_mark_interrupted(step: TriageStep, *, result: dict[str, Any] | None = None) -> bool:
    """Settle a step whose run died mid-call as failed (degraded: the ticket needs attention, it did
    not fail) instead of asking a model again: a call may have been in flight and billed, and a
    re-run would pay for it twice. ``result`` is what later steps read instead (urgency's default).
    False when another run settled or re-claimed it first."""
    now = timezone.now()
    marked = TriageStep.objects.filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True),
        pk=step.pk,
        status=TriageStep.Status.RUNNING,
    ).update(
        status=TriageStep.Status.FAILED,
        result=result,
        degraded=True,
        error=INTERRUPTED_ERROR,
        finished_at=now,
        lease_expires_at=None,
    )
    step.refresh_from_db()
    return bool(marked)


def time_limit_error(limit_seconds: float) -> str:
    return (
        f"not run: this ticket's triage passed its time limit ({limit_seconds:g} s, "
        "TRIAGE_TASK_SOFT_TIME_LIMIT) before the step could start; re-run the ticket to try again"
    )


def step_stop_at_time_limit(step: TriageStep, *, limit_seconds: float, claimed_here: bool = False) -> bool:
    """Settle a step no model was asked for as failed because the run ran out of time: one nobody
    has started, or (``claimed_here``) one this run claimed and never started, still under the lease
    ``step`` holds. False, with the row re-read, when another run holds or finished it: that run
    carries on."""
    values = {
        "status": TriageStep.Status.FAILED,
        "error": time_limit_error(limit_seconds),
        "finished_at": timezone.now(),
        "lease_expires_at": None,
    }
    held = step.lease_expires_at if claimed_here else None
    return _step_settle_row(
        step,
        values,
        # a NULL lease compares as unknown: with nothing held, only a pending row is stopped
        where="{is_current} = %s AND ({status} = %s OR ({status} = %s AND {lease_expires_at} = %s))",
        params=[
            True,
            TriageStep.Status.PENDING,
            TriageStep.Status.RUNNING,
            prep(TriageStep, "lease_expires_at", held),
        ],
    )


CLAIM_WAIT_GRACE = timedelta(seconds=1)  # far inside a lease's margin beyond the router's deadline


def step_claim_renew(step: TriageStep, *, deadline_seconds: float | None = None) -> bool:
    """Restart the lease of a step this run claimed with another (``steps_claim_pending``) and that
    then waited for a free thread, so the lease counts from the call, as a claim made right before it
    does. False, with the row re-read, when the claim is no longer this run's (another run took the
    step over meanwhile): that run's lease is the one that counts."""
    now = timezone.now()
    if step.started_at is not None and now - step.started_at <= CLAIM_WAIT_GRACE:
        return True
    return _step_settle_row(
        step,
        {"started_at": now, "lease_expires_at": now + step_lease(deadline_seconds)},
        where="{is_current} = %s AND {status} = %s AND {lease_expires_at} = %s",
        params=[True, TriageStep.Status.RUNNING, prep(TriageStep, "lease_expires_at", step.lease_expires_at)],
    )


def step_complete(
    step: TriageStep,
    *,
    result: dict[str, Any],
    raw_output: str,
    served_by: str,
    attempts: list[dict[str, Any]],
    latency_ms: int,
    prompt_tokens: int,
    completion_tokens: int,
    cost: Any,
    degraded: bool,
    status: str = TriageStep.Status.DONE,
    error: str = "",
) -> None:
    step.status = status
    step.result = result
    step.raw_output = raw_output[:20_000]
    step.served_by = served_by
    step.attempts = attempts
    step.latency_ms = latency_ms
    step.prompt_tokens = prompt_tokens
    step.completion_tokens = completion_tokens
    step.cost = cost
    step.degraded = degraded
    step.error = error
    step.finished_at = timezone.now()
    step.lease_expires_at = None
    _step_write_result(step)


def _step_write_result(step: TriageStep) -> None:
    """Write the step's result fields, unless a re-triage retired the row meanwhile (its answer then
    stays with this run only: the row keeps what it had when it was retired)."""
    values = {name: getattr(step, name) for name in _RESULT_FIELDS}
    row_update(TriageStep, step.pk, values, where="{is_current} = %s", params=[True])


_RESULT_FIELDS = [
    "status", "result", "raw_output", "served_by", "attempts", "latency_ms", "prompt_tokens",
    "completion_tokens", "cost", "degraded", "error", "finished_at", "lease_expires_at",
]  # fmt: skip


def step_skip(step: TriageStep, *, reason: str) -> None:
    """Settle the step as skipped (with its reason, shown on the page) unless it is finished."""
    now = timezone.now()
    values = {
        "status": TriageStep.Status.SKIPPED,
        "skip_reason": reason,
        "finished_at": now,
        "lease_expires_at": None,
    }
    # a row a re-triage retired meanwhile keeps what it had: it is history
    _step_settle_row(
        step,
        values,
        where="{is_current} = %s AND {status} IN (%s, %s)",
        params=[True, TriageStep.Status.PENDING, TriageStep.Status.RUNNING],
    )


def step_fail(step: TriageStep, *, error: str, attempts: list[dict[str, Any]]) -> None:
    step.status = TriageStep.Status.FAILED
    step.error = error[:5000]
    step.attempts = attempts
    step.finished_at = timezone.now()
    step.lease_expires_at = None
    _step_write_result(step)


@transaction.atomic
def steps_reset(ticket: Ticket, names: list[str]) -> None:
    """Retire the current rows of ``names`` (kept as history) and add fresh pending ones."""
    ticket.steps.filter(is_current=True, task_name__in=names).update(is_current=False)
    TriageStep.objects.bulk_create([TriageStep(ticket=ticket, task_name=name) for name in names])
