"""Orchestration of one ticket's triage: the critical path is urgency, then the slower of reply and
brief; classification runs beside urgency. Safe to run twice for the same ticket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from triage.models import LLMModel, Provider, Router, Ticket, TriageStep
from triage.once import PerProcess
from triage.pipeline.statements import row_update
from triage.pipeline.steps import (
    FINISHED,
    INTERRUPTED_ERROR,
    step_claim,
    step_claim_renew,
    step_complete,
    step_fail,
    step_lease,
    step_mark_interrupted,
    step_skip,
    step_stop_at_time_limit,
    step_was_interrupted,
    steps_claim_pending,
    steps_held,
    steps_load,
    steps_reset,
)
from triage.pipeline.subtasks import (
    ALL_STEPS,
    BRIEF,
    CLASSIFY,
    DEFAULT_URGENCY,
    REPLY,
    URGENCY,
    escalation_decision,
    subtask_for,
    subtask_messages,
)
from triage.routing import RouteResult, RoutingError, audit_flush, route
from triage.routing.config import snapshot_fresh

log = logging.getLogger(__name__)

# Outcomes that mean "this model was never really tried", so falling back past them is not a failure.
_NOT_TRIED = {"skipped_unconfigured"}


def triage_ticket(*, ticket_id: int) -> None:
    """Run every current step of the ticket that isn't finished, then settle the ticket's status."""
    started = ticket_start(ticket_id)
    if started is None:
        return
    ticket, steps = started
    # Celery's time limits do nothing under the thread pool, so the run keeps its own: no step
    # starts after it (a call already started ends by the router's request deadline)
    time_limit = RunTimeLimit(float(settings.TRIAGE_TASK_SOFT_TIME_LIMIT))
    prompts = task_prompts(ticket.router)
    deadline = float(ticket.router.request_deadline_seconds)
    pool = step_pool()
    first = steps_claim_pending([steps[CLASSIFY], steps[URGENCY]], deadline_seconds=deadline)
    classify = pool.submit(
        _in_thread, step_run, ticket, steps[CLASSIFY], prompts=prompts, time_limit=time_limit, claimed=first
    )
    urgency_step = step_run(ticket, steps[URGENCY], prompts=prompts, time_limit=time_limit, claimed=first)
    if urgency_step.status not in FINISHED:
        # this run's time ran out waiting for another live run that holds urgency, or a re-triage
        # retired it: the run that holds it, or the re-triage's, finishes the ticket
        log.warning("ticket %s: urgency is another run's; leaving the ticket to it", ticket.pk)
        _wait(classify)
        _audit_flush(ticket)
        return
    urgency = urgency_step.result if urgency_step.result else dict(DEFAULT_URGENCY)
    score = int(urgency["score"])
    escalate, reason = escalation_decision(urgency=urgency, threshold=ticket.router.escalation_threshold)
    together = [steps[REPLY], steps[BRIEF]] if escalate else [steps[REPLY]]
    out_of_time = time_limit.passed()
    second = set() if out_of_time else steps_claim_pending(together, deadline_seconds=deadline)
    reply = pool.submit(
        _in_thread, step_run, ticket, steps[REPLY],
        prompts=prompts, time_limit=time_limit, urgency=score, claimed=second,
    )  # fmt: skip
    if escalate or out_of_time:  # out of time, the brief is stopped with that reason, not skipped
        step_run(ticket, steps[BRIEF], prompts=prompts, time_limit=time_limit, urgency=score, claimed=second)
    else:
        step_skip(steps[BRIEF], reason=reason)
    _wait(classify, reply)
    ticket_settle(ticket, list(steps.values()))
    _audit_flush(ticket)


def _audit_flush(ticket: Ticket) -> None:
    """The model-call rows (the audit trail behind the stats) are written off the path; the task
    ends, and its worker slot frees, once the writer has taken this ticket's rows (or after the
    flush's timeout, logged). The steps, which the ticket's page and API show, were written as each
    one ended, so settling doesn't wait for the rows."""
    if not audit_flush():
        log.warning("ticket %s: its model-call rows were not written within the flush timeout", ticket.pk)


_pool: PerProcess[ThreadPoolExecutor] = PerProcess()


def step_pool() -> ThreadPoolExecutor:
    """One pool per process (a forked child starts its own) for the steps that run beside the
    ticket's own thread. Its threads live on, so their database and cache connections are reused
    instead of opened for every ticket."""
    return _pool.get(
        lambda: ThreadPoolExecutor(max_workers=settings.TRIAGE_STEP_THREADS, thread_name_prefix="triage-step")
    )


def _in_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``func`` in a pool thread; its connection is kept (or closed once stale or broken)."""
    close_old_connections()
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()


def _wait(*futures: Future[Any]) -> None:
    for future in futures:
        future.result()


def ticket_start(ticket_id: int) -> tuple[Ticket, dict[str, TriageStep]] | None:
    """Mark the ticket triaging and count the run; the ticket and its current steps, or None when
    there is nothing for this delivery to do.

    A duplicate delivery (a sweep of a long backlog, a redelivered message) finds the ticket settled,
    or being triaged by a worker that holds a live step lease: it leaves without counting a run, so
    only real recoveries from a crash count toward ``TRIAGE_MAX_RUNS``.
    """
    close_old_connections()
    now = timezone.now()
    started = row_update(
        Ticket,
        ticket_id,
        {"status": Ticket.Status.TRIAGING, "updated_at": now},
        set_sql="{triage_runs} = {triage_runs} + 1",
        where="{status} = %s",
        params=[Ticket.Status.QUEUED],
    )
    if not started:
        running = Ticket.objects.filter(pk=ticket_id, status=Ticket.Status.TRIAGING).first()
        if running is None:
            log.info("ticket %s is gone or already settled; nothing to triage", ticket_id)
            return None
        if steps_held(running):
            log.info("ticket %s is being triaged by another worker; duplicate delivery ignored", ticket_id)
            return None
        # the run that was triaging it died: this is a recovery, and it counts
        Ticket.objects.filter(pk=ticket_id).update(triage_runs=F("triage_runs") + 1, updated_at=now)
    ticket, steps = steps_load(ticket_id)
    if ticket.triage_runs > settings.TRIAGE_MAX_RUNS:
        ticket_fail(
            ticket, reason=f"gave up after {ticket.triage_runs - 1} attempts to triage (worker crashes?)"
        )
        return None
    return ticket, steps


def task_prompts(router: Router) -> dict[str, str]:
    """Each task's system prompt, from the routing configuration this process holds (an admin's
    edit bumps its version, so the next ticket sees it); read from the database if it lacks the router."""
    spec = snapshot_fresh().routers_by_id.get(router.pk)
    if spec is None:
        return dict(router.tasks.values_list("name", "system_prompt"))
    return {name: task.system_prompt for name, task in spec.tasks.items()}


@dataclass(frozen=True)
class RunTimeLimit:
    """A run's time limit (``TRIAGE_TASK_SOFT_TIME_LIMIT``), counted from its start."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def passed(self) -> bool:
        return time.monotonic() - self.started >= self.seconds


def step_run(
    ticket: Ticket,
    step: TriageStep,
    *,
    prompts: dict[str, str],
    time_limit: RunTimeLimit,
    urgency: int | None = None,
    claimed: Collection[int] = (),
) -> TriageStep:
    """Run one step unless it is finished; wait out another worker's live lease instead of racing it.
    ``claimed``: ids this run has already claimed together (``steps_claim_pending``).

    A step whose run died mid-call is settled as interrupted, not asked again (it may have been
    billed), unless ``TRIAGE_REASK_INTERRUPTED_STEPS`` says to pay for a second call. Past the run's
    time limit no step starts: one nobody holds (or this run claimed and never started) fails with
    the reason, one a dead run left is settled as interrupted, one another live run holds is left to
    that run (returned unfinished).
    """
    deadline = float(ticket.router.request_deadline_seconds)
    if step.pk in claimed:
        if time_limit.passed():
            step_stop_at_time_limit(step, limit_seconds=time_limit.seconds, claimed_here=True)
            return step
        if step_claim_renew(step, deadline_seconds=deadline):
            _step_execute(ticket, step, prompts.get(step.task_name, ""), urgency=urgency)
            return step
        # another run took it over while it waited for a thread: handled below like any held step
    while step.status not in FINISHED:
        reask = settings.TRIAGE_REASK_INTERRUPTED_STEPS and not time_limit.passed()
        if step_was_interrupted(step) and not reask:
            fallback = dict(DEFAULT_URGENCY) if step.task_name == URGENCY else None
            if step_mark_interrupted(step, result=fallback):
                log.warning("ticket %s: step %s interrupted mid-call; not asked again", ticket.pk, step.pk)
            continue
        if time_limit.passed():
            if step_stop_at_time_limit(step, limit_seconds=time_limit.seconds):
                log.warning("ticket %s: step %s not started, time limit passed", ticket.pk, step.pk)
            break
        if step_claim(step, deadline_seconds=deadline):
            _step_execute(ticket, step, prompts.get(step.task_name, ""), urgency=urgency)
            break
        step.refresh_from_db()
        if not step.is_current:
            break  # an agent asked for a re-run meanwhile: the run that started takes the new row
        if step.status not in FINISHED:
            time.sleep(0.5)  # another worker holds the lease; it finishes or the lease expires
    return step


def _step_execute(ticket: Ticket, step: TriageStep, system_prompt: str, *, urgency: int | None) -> None:
    subtask = subtask_for(step.task_name, ticket.router)
    messages = subtask_messages(system_prompt=system_prompt, router=ticket.router, ticket=ticket)
    try:
        result = route(
            ticket.router,
            messages,
            task=step.task_name,
            validator=subtask.validator,
            json_mode=True,
            ticket_id=ticket.pk,
            step_id=step.pk,
            max_tokens=subtask.max_tokens,
            urgency=urgency,
        )
    except RoutingError as exc:
        attempts = [asdict(a) for a in exc.attempts]
        if step.task_name == URGENCY:
            step_complete(
                step,
                result=dict(DEFAULT_URGENCY),
                raw_output="",
                served_by="",
                attempts=attempts,
                latency_ms=sum(a["latency_ms"] for a in attempts),
                prompt_tokens=0,
                completion_tokens=0,
                cost=0,
                degraded=True,
                status=TriageStep.Status.FAILED,
                error=f"every model failed; urgency defaulted to 3. {exc}",
            )
        else:
            step_fail(step, error=str(exc), attempts=attempts)
        return
    step_complete(
        step,
        result=result.parsed,
        raw_output=result.content,
        served_by=result.served_by,
        attempts=[asdict(a) for a in result.attempts],
        latency_ms=result.latency_ms,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost=result.cost,
        degraded=served_by_last_resort_after_failures(result),
    )


def served_by_last_resort_after_failures(result: RouteResult) -> bool:
    """True when configured models really failed and a local model answered instead."""
    real_failures = [a for a in result.attempts[:-1] if a.outcome not in _NOT_TRIED]
    if not real_failures:
        return False
    return LLMModel.objects.filter(slug=result.served_by, provider__kind=Provider.Kind.LOCAL).exists()


def ticket_settle(ticket: Ticket, steps: list[TriageStep]) -> None:
    """Set the final status from the ticket's current steps, with the reason shown to agents.

    ``steps`` are this run's step objects (run here, or waited for while another run held them, then
    re-read), so nothing is read back. The update applies only while the ticket is still being
    triaged and its current steps are exactly these, all finished: after a re-triage asked meanwhile
    (the ticket queued again, new step rows), the run that re-triage started settles the ticket.
    """
    # urgency's failure (scored 3 instead) and an interrupted step are degraded: the ticket needs
    # attention, it did not fail
    failed = [s for s in steps if s.status == TriageStep.Status.FAILED and not s.degraded]
    degraded = [s for s in steps if s.degraded]
    if failed:
        status = Ticket.Status.FAILED
        reason = "; ".join(f"{s.task_name} could not be served: {s.error[:300]}" for s in failed)
    elif degraded:
        status = Ticket.Status.NEEDS_ATTENTION
        reason = "; ".join(_degraded_reason(s) for s in degraded)
    else:
        status, reason = Ticket.Status.TRIAGED, ""
    by_name = {s.task_name: s for s in steps}
    category = (by_name[CLASSIFY].result or {}).get("category", "") if CLASSIFY in by_name else ""
    urgency = (by_name[URGENCY].result or {}).get("score") if URGENCY in by_name else None
    escalated = BRIEF in by_name and by_name[BRIEF].status == TriageStep.Status.DONE
    now = timezone.now()
    this_run = [s.pk for s in steps]
    # still triaging, and no current step is unfinished or not one of this run's (a re-triage's)
    one_per_step = ", ".join(["%s"] * len(this_run))
    where = (
        "{status} = %s AND NOT EXISTS (SELECT 1 FROM {step.table} WHERE {step.ticket} = {table}.{pk} "  # noqa: S608 - only placeholders joined in
        "AND {step.is_current} = %s AND ({step.status} IN (%s, %s) OR {step.pk} NOT IN ("
        + one_per_step
        + ")))"
    )
    unfinished = [TriageStep.Status.PENDING, TriageStep.Status.RUNNING]
    row_update(
        Ticket,
        ticket.pk,
        {
            "status": status,
            "attention_reason": reason,
            "category": category or "",
            "urgency_score": urgency,
            "escalated": escalated,
            "triaged_at": now,
            "updated_at": now,
        },
        where=where,
        params=[Ticket.Status.TRIAGING, True, *unfinished, *this_run],
        others={"step": TriageStep},
    )


def _degraded_reason(step: TriageStep) -> str:
    if step.error == INTERRUPTED_ERROR:
        return (
            f"{step.task_name} was interrupted by a worker crash mid-call and not asked again "
            "(it may have been billed); re-run the step"
        )
    if step.task_name == URGENCY and step.status == TriageStep.Status.FAILED:
        return "urgency could not be scored by any model; defaulted to 3"
    return f"{step.task_name}: configured models failed, answered by the local fallback {step.served_by}"


def ticket_fail(ticket: Ticket, *, reason: str) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.FAILED, attention_reason=reason, updated_at=timezone.now()
    )


@transaction.atomic
def ticket_retriage(*, ticket: Ticket, step: str | None = None) -> Ticket:
    """Re-run one step or all of them; earlier results stay in the step history."""
    from triage.pipeline.tasks import triage_ticket_task

    if step is not None and step not in ALL_STEPS:
        raise ValueError(f"unknown step {step!r}; choose one of {', '.join(ALL_STEPS)}")
    names = [step] if step else list(ALL_STEPS)
    if step == URGENCY:
        names = [URGENCY, REPLY, BRIEF]  # the reply tier and the escalation decision follow urgency
    steps_reset(ticket, names)
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.QUEUED, triage_runs=0, attention_reason="", updated_at=timezone.now()
    )
    transaction.on_commit(lambda: triage_ticket_task.delay(ticket.pk))
    ticket.refresh_from_db()
    return ticket


def tickets_sweep_stuck() -> list[int]:
    """Re-enqueue tickets left ``triaging`` or ``queued`` past a lease (a lost message or dead worker)."""
    from triage.pipeline.tasks import triage_ticket_task

    now = timezone.now()
    cutoff = now - 2 * step_lease()
    stuck = list(
        Ticket.objects.filter(
            status__in=[Ticket.Status.TRIAGING, Ticket.Status.QUEUED], updated_at__lt=cutoff
        )
        .exclude(
            steps__is_current=True, steps__status=TriageStep.Status.RUNNING, steps__lease_expires_at__gt=now
        )
        .values_list("pk", flat=True)[:500]
    )
    for ticket_id in stuck:
        Ticket.objects.filter(pk=ticket_id).update(updated_at=timezone.now())
        triage_ticket_task.delay(ticket_id)
    if stuck:
        log.warning("re-enqueued %d stuck tickets", len(stuck))
    return stuck
