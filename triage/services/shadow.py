"""Shadow comparisons: a second model answers a sample of done steps in the background.

A router task may name a *shadow model* and a *sample rate*. When one of its steps is done, the
pipeline asks :func:`shadow_enqueue` whether the step is in the sample (:func:`shadow_sampled`, a
hash of the step id: the same step always gets the same answer, and about ``rate`` of all steps are
sampled); a sampled step's ``shadow_compare_task`` is sent once the step's result has committed.
The worker then re-builds the step's request (the task's system prompt and the ticket), routes it
to the shadow model alone (``only_model``) and writes a :class:`ShadowComparison` with both answers
and whether they agree.

Isolation: the shadow's ModelCall row names no ticket and no step, so ticket costs, steps, pages
and analytics never count it (its cost is on the comparison); the ticket is never read for writing,
and whatever the shadow does (fails, hangs, the broker is down) never reaches the ticket's run.

Only answers that can be compared are shadowed: the category (agreement: the same category) and
the urgency score (within one point, and on the same side of the router's escalation decision).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum

from triage.models import ModelCall, Router, ShadowComparison, TriageStep
from triage.pipeline.subtasks import SUBTASKS, Subtask, answers_disagree, subtask_messages
from triage.routing import RoutingError, route
from triage.routing.config import TaskSpec, snapshot_current, snapshot_fresh

log = logging.getLogger(__name__)

# The subtasks whose answers can be compared; other tasks' shadow settings are not used.
# the subtasks whose answers can be compared (they define a disagreement)
SHADOWED = tuple(name for name, subtask in SUBTASKS.items() if subtask.disagreement is not None)


def _step_fraction(step_id: int) -> float:
    """A stable pseudo-random number in [0, 1) for a step id (the same in every process)."""
    digest = hashlib.blake2b(f"shadow:{step_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def shadow_sampled(task_spec: TaskSpec | None, step_id: int) -> bool:
    """Whether the task's shadow model also answers this step: ``rate`` of the step ids, decided
    by a hash of the id (0: none, 1: all); never without a shadow model or for an uncompared task."""
    if task_spec is None or task_spec.shadow_model_id is None or task_spec.name not in SHADOWED:
        return False
    rate = task_spec.shadow_sample_rate
    if rate <= 0:
        return False
    return rate >= 1 or _step_fraction(step_id) < rate


def shadow_enqueue(*, router_id: int, task_name: str, step_id: int) -> bool:
    """Called when a step's result is kept (inside its transaction): when the step is sampled, send
    its comparison once the transaction commits. Never raises: a shadow must not touch the ticket."""
    try:
        router = snapshot_current().routers_by_id.get(router_id)
        task_spec = router.tasks.get(task_name) if router else None
        if not shadow_sampled(task_spec, step_id):
            return False
        transaction.on_commit(lambda: _send(step_id))
        return True
    except Exception:
        log.warning("step %s: could not schedule its shadow comparison", step_id, exc_info=True)
        return False


def _send(step_id: int) -> None:
    from triage.pipeline.tasks import shadow_compare_task

    try:
        shadow_compare_task.delay(step_id)
    except Exception:  # the broker is down: this sample is lost, the ticket goes on
        log.warning("step %s: could not send its shadow comparison", step_id, exc_info=True)


def shadow_agrees(subtask: Subtask, primary: Any, shadow: Any, router: Router) -> bool | None:
    """Whether two answers agree, by the subtask's own comparison (the cascade's): the same category;
    urgency scores at most one point apart with the same escalation decision. None when they can't
    be compared."""
    reason = answers_disagree(subtask, primary, shadow, router)
    return None if reason is None else not reason


def shadow_compare(step_id: int) -> ShadowComparison | None:
    """Ask the step's shadow model the step's request and record the comparison (once per step).

    None when there is nothing to compare: the step is gone, not done, re-run since, its task no
    longer has a usable shadow model, or it was compared already (a redelivered message)."""
    step = TriageStep.objects.select_related("ticket__router").filter(pk=step_id).first()
    if step is None or step.status != TriageStep.Status.DONE or not isinstance(step.result, dict):
        return None
    if ShadowComparison.objects.filter(step_id=step_id).exists():
        return None
    ticket = step.ticket
    router = ticket.router
    snapshot = snapshot_fresh()
    router_spec = snapshot.routers_by_id.get(router.pk)
    task_spec = router_spec.tasks.get(step.task_name) if router_spec else None
    subtask = SUBTASKS.get(step.task_name)
    if task_spec is None or task_spec.shadow_model_id is None or subtask is None:
        return None
    model = snapshot.models_by_id.get(task_spec.shadow_model_id)
    if model is None or not model.usable:
        return None
    messages = subtask_messages(system_prompt=task_spec.system_prompt, router=router, ticket=ticket)
    shadow_result: Any = None
    error = ""
    try:
        result = route(
            router,
            messages,
            task=step.task_name,
            validator=lambda text: subtask.parse(text, router),
            json_mode=True,
            ticket_id=None,  # counted apart: no ticket's cost, step or page includes it
            step_id=None,
            max_tokens=subtask.max_tokens,
            temperature=subtask.temperature,
            only_model=model.id,
        )
        shadow_result, attempts = result.parsed, result.attempts
    except RoutingError as exc:
        error, attempts = str(exc)[:2000], exc.attempts
    call_ids = [a.call_id for a in attempts if a.call_id is not None]
    cost = ModelCall.objects.filter(pk__in=call_ids).aggregate(total=Sum("cost"))["total"] or Decimal(0)
    agreed = None if error else shadow_agrees(subtask, step.result, shadow_result, router)
    return ShadowComparison.objects.create(
        ticket=ticket,
        step=step,
        task_name=step.task_name,
        primary_model=step.served_by,
        shadow_model=model.slug,
        primary_result=step.result,
        shadow_result=shadow_result,
        agreed=agreed,
        call_id=call_ids[-1] if call_ids else None,
        cost=cost,
        error=error,
    )


def shadow_agreement(router: Router | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
    """Per (task, primary model, shadow model): comparisons, how many could be compared and agreed,
    the agreement rate (of those compared; None when none was), failed shadows and their cost."""
    comparisons = ShadowComparison.objects.all()
    if router is not None:
        comparisons = comparisons.filter(ticket__router=router)
    if since is not None:
        comparisons = comparisons.filter(created_at__gte=since)
    rows = (
        comparisons.values("task_name", "primary_model", "shadow_model")
        .annotate(
            n=Count("id"),
            compared=Count("id", filter=Q(agreed__isnull=False)),
            agreed_n=Count("id", filter=Q(agreed=True)),
            failed=Count("id", filter=~Q(error="")),
            cost_total=Sum("cost"),
        )
        .order_by("task_name", "primary_model", "shadow_model")
    )
    return [
        {
            "task": row["task_name"],
            "primary_model": row["primary_model"],
            "shadow_model": row["shadow_model"],
            "comparisons": row["n"],
            "compared": row["compared"],
            "agreed": row["agreed_n"],
            "rate": row["agreed_n"] / row["compared"] if row["compared"] else None,
            "failed": row["failed"],
            "cost": row["cost_total"] or Decimal(0),
        }
        for row in rows
    ]
