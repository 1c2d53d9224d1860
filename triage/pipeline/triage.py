"""Orchestration of one ticket's triage: the subtask registry's phases, run by a run that owns the ticket.

A run takes the ticket (queued, or triaging under a lease that ran out: its run died), renews the
lease while its steps' model calls are in flight, runs each phase's steps side by side in the
per-process step executor and settles the ticket. Safe to run twice for the same ticket: a second
delivery finds the ticket settled or owned by a live run and leaves. The step life cycle, and how a
dead run's ticket is recovered, are drawn in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from triage.models import Feedback, ModelCall, Ticket, TriageStep
from triage.once import PerProcess
from triage.pipeline.steps import (
    INTERRUPTED_ERROR,
    step_claim,
    step_complete,
    step_fail,
    step_skip,
    step_stop_at_time_limit,
    steps_ensure,
    steps_reset,
    steps_take_over,
)
from triage.pipeline.subtasks import (
    SUBTASKS,
    Subtask,
    local_opinion_check,
    subtask_messages,
    subtask_names,
    subtask_phases,
    subtasks_redone_with,
    urgency_of,
)
from triage.routing import RouteResult, RoutingError, route
from triage.routing.audit import calls_interrupt
from triage.routing.config import snapshot_fresh
from triage.services.deliveries import deliveries_record_settled, deliveries_wanted
from triage.services.shadow import shadow_enqueue

log = logging.getLogger(__name__)

# Outcomes that mean "this model was never really tried", so falling back past them is not a failure.
# not failures: a model without its key, and the router's own rules keeping a call local (a budget
# reached, sensitive data); the step card's attempt chain says which
_NOT_TRIED = {"skipped_unconfigured", "skipped_budget", "skipped_sensitive"}
# A call can't last longer than this (the longest router deadline, 900 s, and a margin): a row still
# pending after it belongs to a process that died, whatever it was doing.
CALL_LIFETIME = timedelta(seconds=960)


class TicketBusy(Exception):
    """A re-triage asked while a live run is triaging the ticket."""


def run_lease() -> timedelta:
    return timedelta(seconds=float(settings.TRIAGE_RUN_LEASE_SECONDS))


@dataclass
class Run:
    """One attempt at triaging a ticket, owning it (``Ticket.run_id``) while it works."""

    id: uuid.UUID
    ticket: Ticket
    steps: dict[str, TriageStep]
    prompts: dict[str, str]
    time_limit: float  # TRIAGE_TASK_SOFT_TIME_LIMIT: no step starts after it
    started: float = field(default_factory=time.monotonic)

    def out_of_time(self) -> bool:
        # Celery's own time limits do nothing under the thread pool, so the run keeps its own
        return time.monotonic() - self.started >= self.time_limit


def triage_ticket(*, ticket_id: int) -> None:
    """Run every current step of the ticket that isn't finished, phase by phase, then settle it."""
    run = run_start(ticket_id)
    if run is None:
        return
    results: dict[str, dict[str, Any]] = {}
    for phase in subtask_phases():
        futures = {}
        for subtask in phase:
            step = run.steps[subtask.name]
            if step.status != TriageStep.Status.PENDING:
                continue
            reason = _skip_reason(run, subtask, results)
            if run.out_of_time():  # stopped, not skipped: the ticket says the run ran out of time
                step_stop_at_time_limit(step, limit_seconds=run.time_limit)
            elif reason:
                # a built-in task missing from the router (renamed or deleted in the admin) is no normal skip
                step_skip(step, reason=reason, degraded=subtask.required and subtask.name not in run.prompts)
            else:
                futures[subtask.name] = step_pool().submit(_in_thread, step_run, run, step, subtask, results)
        if not run_wait(run, list(futures.values())):
            log.warning("ticket %s: taken over or re-triaged while this run worked; leaving it", ticket_id)
            return
        for subtask in phase:
            step = run.steps[subtask.name]
            if isinstance(step.result, dict):
                results[subtask.name] = step.result
    ticket_settle(run)


def _skip_reason(run: Run, subtask: Subtask, results: Mapping[str, dict[str, Any]]) -> str:
    router = run.ticket.router
    if subtask.name not in run.prompts:
        return f"router {router.name} has no task {subtask.name}"
    return subtask.skip_reason(router, results)


_pool: PerProcess[ThreadPoolExecutor] = PerProcess()


def step_pool() -> ThreadPoolExecutor:
    """One executor per process (a forked child starts its own) for the steps of every run. Its
    threads live on, so their database and cache connections are reused instead of opened per step."""
    return _pool.get(
        lambda: ThreadPoolExecutor(max_workers=settings.TRIAGE_STEP_THREADS, thread_name_prefix="triage-step")
    )


def _in_thread(func: Any, *args: Any) -> Any:
    """Run ``func`` in a pool thread. Its database connection stays open from step to step (Django's
    per-use health check would cost a query per step); one that failed is closed, so the thread's
    next step reconnects. (A step whose connection broke fails before its call is sent: its row
    could not be written; the run's lease then runs out and the sweep hands the ticket on.)"""
    try:
        return func(*args)
    except Exception:
        close_old_connections()
        raise


def run_wait(run: Run, futures: list[Future[Any]]) -> bool:
    """Wait for the steps, renewing the run's lease meanwhile; False once the ticket is no longer
    this run's (its steps' late results are then refused)."""
    renew_every = run_lease().total_seconds() / 3
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=renew_every)
        if pending and not run_renew(run):
            return False
    for future in futures:
        future.result()  # a step that raised (a database outage) ends the run: its lease runs out
    return True


def run_start(ticket_id: int) -> Run | None:
    """Take the ticket for a new run; None when there is nothing for this delivery to do.

    A duplicate delivery (a sweep of a long backlog, a redelivered message) finds the ticket settled,
    or owned by a live run, and leaves without counting a run, so only real recoveries from a crash
    count toward ``TRIAGE_MAX_RUNS``.
    """
    close_old_connections()
    run_id, now = uuid.uuid4(), timezone.now()
    lapsed = Q(status=Ticket.Status.TRIAGING) & (
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    )
    taken = Ticket.objects.filter(Q(status=Ticket.Status.QUEUED) | lapsed, pk=ticket_id).update(
        status=Ticket.Status.TRIAGING,
        run_id=run_id,
        lease_expires_at=now + run_lease(),
        triage_runs=F("triage_runs") + 1,
        updated_at=now,
    )
    if not taken:
        log.info("ticket %s is settled, gone or owned by a live run; nothing to do", ticket_id)
        return None
    ticket = Ticket.objects.select_related("router").get(pk=ticket_id)
    if ticket.triage_runs > settings.TRIAGE_MAX_RUNS:
        reason = f"gave up after {ticket.triage_runs - 1} attempts to triage (worker crashes?)"
        Ticket.objects.filter(pk=ticket_id, run_id=run_id).update(
            status=Ticket.Status.FAILED, attention_reason=reason, run_id=None, lease_expires_at=None
        )
        return None
    time_limit = float(settings.TRIAGE_TASK_SOFT_TIME_LIMIT)
    steps = steps_ensure(ticket)
    if any(step.status == TriageStep.Status.RUNNING for step in steps.values()):  # a dead run's
        # re-asking an interrupted call needs time to ask it in
        reask = settings.TRIAGE_REASK_INTERRUPTED_STEPS and time_limit > 0
        interrupted = steps_take_over(ticket, run_id=run_id, reask=reask)
        if interrupted:
            log.warning("ticket %s: a dead run's calls were interrupted mid-call: %s", ticket_id, interrupted)
        steps = steps_ensure(ticket)
    return Run(id=run_id, ticket=ticket, steps=steps, prompts=task_prompts(ticket), time_limit=time_limit)


def run_renew(run: Run) -> bool:
    """Extend the run's lease; False when the ticket is no longer this run's."""
    now = timezone.now()
    renewed = Ticket.objects.filter(pk=run.ticket.pk, run_id=run.id, status=Ticket.Status.TRIAGING).update(
        lease_expires_at=now + run_lease()
    )
    return bool(renewed)


def task_prompts(ticket: Ticket) -> dict[str, str]:
    """Each task's system prompt, from the routing configuration this process holds (an admin's
    edit bumps its version, so the next ticket sees it); read from the database if it lacks the router."""
    spec = snapshot_fresh().routers_by_id.get(ticket.router_id)
    if spec is None:
        return dict(ticket.router.tasks.values_list("name", "system_prompt"))
    return {name: task.system_prompt for name, task in spec.tasks.items()}


def step_run(run: Run, step: TriageStep, subtask: Subtask, earlier: Mapping[str, dict[str, Any]]) -> None:
    """Claim the step and route it; its result and its serving call's row commit together."""
    if run.out_of_time():
        step_stop_at_time_limit(step, limit_seconds=run.time_limit)
        return
    if not step_claim(step, run_id=run.id):
        return  # taken over, or retired by a re-triage: another run has it
    ticket, router = run.ticket, run.ticket.router

    def keep_result(result: RouteResult) -> None:
        step_complete(
            step,
            run_id=run.id,
            result=result.parsed,
            raw_output=result.content,
            served_by=result.served_by,
            attempts=[asdict(a) for a in result.attempts],
            latency_ms=result.latency_ms,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            reasoning_tokens=result.reasoning_tokens,
            cached_tokens=result.cached_tokens,
            cost=result.cost,
            answers=result.answers,
            escalation_reason=result.escalation_reason[:200],
            degraded=served_by_last_resort_after_failures(result),
        )
        if step.status == TriageStep.Status.DONE and step.run_id == run.id:  # kept by this run
            shadow_enqueue(router_id=router.pk, task_name=subtask.name, step_id=step.pk)

    messages = subtask_messages(system_prompt=run.prompts.get(subtask.name, ""), router=router, ticket=ticket)
    try:
        route(
            router,
            messages,
            task=subtask.name,
            validator=lambda text: subtask.parse(text, router),
            json_mode=True,
            ticket_id=ticket.pk,
            step_id=step.pk,
            max_tokens=subtask.max_tokens,
            temperature=subtask.temperature,
            urgency=urgency_of(earlier),
            local_check=local_opinion_check(subtask, messages, router),
            on_served=keep_result,
        )
    except RoutingError as exc:
        attempts = [asdict(a) for a in exc.attempts]
        error = str(exc)
        if subtask.fallback_result is not None:
            error = f"every model failed; later steps used the default {subtask.fallback_result}. {exc}"
        step_fail(step, run_id=run.id, error=error, attempts=attempts, result=subtask.fallback_result)


def served_by_last_resort_after_failures(result: RouteResult) -> bool:
    """True when configured models really failed and the last resort (a local model) answered."""
    real_failures = [a for a in result.attempts[:-1] if a.outcome not in _NOT_TRIED]
    return result.last_resort and bool(real_failures)


def ticket_settle(run: Run) -> bool:
    """Set the final status from the run's steps, with the reason shown to agents; only while the
    ticket is still this run's (a re-triage or a takeover meanwhile settles it instead)."""
    steps = [run.steps[name] for name in subtask_names() if name in run.steps]
    # a fallback result (urgency scored 3) and an interrupted step are degraded: the ticket needs
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
    fields: dict[str, Any] = {"category": "", "urgency_score": None, "escalated": False}
    for step in steps:
        fields.update(SUBTASKS[step.task_name].ticket_fields(step))
    fields.update(corrections_kept(steps))
    now = timezone.now()
    announce = deliveries_wanted(run.ticket, status=status, escalated=bool(fields["escalated"]))
    # webhooks and write-back commit with the status they announce: neither without the other
    with transaction.atomic() if announce else nullcontext():
        settled = Ticket.objects.filter(
            pk=run.ticket.pk, run_id=run.id, status=Ticket.Status.TRIAGING
        ).update(
            status=status,
            attention_reason=reason,
            triaged_at=now,
            updated_at=now,
            run_id=None,
            lease_expires_at=None,
            **fields,
        )
        if settled and announce:
            deliveries_record_settled(run.ticket.pk)
    return bool(settled)


# An agent's correction (triage.web.services.ticket_correct) and the ticket field it sets.
CORRECTED_FIELDS = {"category": "category", "urgency": "urgency_score"}


def corrections_kept(steps: list[TriageStep]) -> dict[str, Any]:
    """Agents' corrections of answers that are still current: re-running the classification keeps the
    urgency an agent corrected (and the reverse). A step run again gives a new answer, which replaces
    a correction of the old one. The latest correction of a field wins."""
    corrections = Feedback.objects.filter(
        step__in=[s.pk for s in steps], kind=Feedback.Kind.CORRECTION, field__in=CORRECTED_FIELDS
    ).order_by("created_at", "pk")
    return {CORRECTED_FIELDS[c.field]: c.new_value for c in corrections}


def _degraded_reason(step: TriageStep) -> str:
    if step.error == INTERRUPTED_ERROR:
        return (
            f"{step.task_name} was interrupted by a worker crash mid-call and not asked again "
            "(it may have been billed); re-run the step"
        )
    if step.status == TriageStep.Status.FAILED:
        return f"{step.task_name} could not be served by any model; later steps used its default"
    if step.status == TriageStep.Status.SKIPPED:
        return f"{step.task_name} not run: {step.skip_reason} (add the task to the router in the admin)"
    return f"{step.task_name}: configured models failed, answered by the local fallback {step.served_by}"


@transaction.atomic
def ticket_retriage(*, ticket: Ticket, step: str | None = None) -> Ticket:
    """Re-run one step (and the steps that depend on it) or all of them; earlier results stay in the
    step history. Refused (:class:`TicketBusy`) while a live run is triaging the ticket."""
    from triage.pipeline.tasks import triage_ticket_task

    if step is not None and step not in SUBTASKS:
        raise ValueError(f"unknown step {step!r}; choose one of {', '.join(subtask_names())}")
    now = timezone.now()
    freed = (
        Ticket.objects.filter(pk=ticket.pk)
        .exclude(status=Ticket.Status.TRIAGING, lease_expires_at__gt=now)
        .update(
            status=Ticket.Status.QUEUED,
            triage_runs=0,
            attention_reason="",
            run_id=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    if not freed:
        raise TicketBusy(f"Ticket #{ticket.pk} is being triaged right now; re-run it once it has settled.")
    calls_interrupt(ticket.calls.all())  # no live run owns it: a call still pending was a dead run's
    steps_reset(ticket, subtasks_redone_with(step) if step else subtask_names())
    transaction.on_commit(lambda: triage_ticket_task.delay(ticket.pk))
    ticket.refresh_from_db()
    return ticket


def broker_queue_is_empty() -> bool:
    """Whether the broker holds no message for the triage queue (False when it can't tell). A
    passive declare reports the count (Redis answers a queue with no message left, whose list key
    is gone, as not found)."""
    from kombu.exceptions import ChannelError

    from triage_site.celery import app

    try:
        with app.connection_for_write() as connection:
            declared = connection.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            )
        return int(declared.message_count) == 0
    except ChannelError as error:
        return "NOT_FOUND" in str(error)
    except Exception:  # a broker still loading or unreachable: the sweep goes on with the long wait
        log.warning("could not count the broker's waiting messages", exc_info=True)
        return False


def tickets_sweep_stuck() -> list[int]:
    """Hand tickets whose run died (lease run out) or whose message was lost (queued too long) to a
    worker again, once each; and settle model-call rows left pending by a process that died."""
    from triage.pipeline.tasks import triage_ticket_task

    now = timezone.now()
    resend_after = now - timedelta(seconds=float(settings.TRIAGE_RESEND_QUEUED_SECONDS))
    lost = Q(status=Ticket.Status.QUEUED, updated_at__lt=resend_after)
    # A Redis restarted without persistence drops every waiting message: when the triage queue is
    # empty, a ticket queued past the short grace has no message left (one a worker prefetched
    # is claimed once: the copy finds it claimed and does nothing). /triage's tickets wait queued
    # for a thread of their request, not for a message: they keep the long wait.
    grace = now - timedelta(seconds=float(settings.TRIAGE_RESEND_QUEUED_EMPTY_SECONDS))
    waiting = Q(status=Ticket.Status.QUEUED, updated_at__lt=grace) & ~Q(channel=Ticket.Channel.COMPAT)
    if Ticket.objects.filter(waiting, updated_at__gte=resend_after).exists() and broker_queue_is_empty():
        lost |= waiting
    lapsed = (
        Q(status=Ticket.Status.TRIAGING)
        & (Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True))
        # not handed out since its lease ran out (or long enough ago that the message may be lost)
        & (Q(updated_at__lt=F("lease_expires_at")) | Q(updated_at__lt=resend_after))
    )
    stuck = list(Ticket.objects.filter(lapsed | lost).values_list("pk", flat=True)[:500])
    for ticket_id in stuck:
        Ticket.objects.filter(pk=ticket_id).update(updated_at=now)
        triage_ticket_task.delay(ticket_id)
    if stuck:
        log.warning("re-enqueued %d stuck tickets", len(stuck))
    calls_interrupt(ModelCall.objects.filter(started_at__lt=now - CALL_LIFETIME))
    return stuck
