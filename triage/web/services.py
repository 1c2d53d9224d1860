"""Writes behind the agent pages: corrections, thumbs, reply approval, re-runs, playground runs.

Every write records who did it. Model output on a step is never edited: a correction changes the
ticket's effective value and keeps the old value (and the model that produced it) as feedback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from triage.input_policy import storable_text
from triage.models import (
    ApprovedReply,
    Feedback,
    LLMModel,
    PlaygroundRun,
    Router,
    Ticket,
    TriageStep,
)
from triage.pipeline.subtasks import CLASSIFY, REPLY, URGENCY, subtask_messages, subtask_names
from triage.pipeline.triage import TicketBusy, ticket_retriage
from triage.routing import RoutingError, route
from triage.routing.pricing import dollars
from triage.services.deliveries import deliveries_record_reply_approved

User = AbstractBaseUser | AnonymousUser
CORRECTABLE = {"category": CLASSIFY, "urgency": URGENCY}


def _current_step(ticket: Ticket, task_name: str) -> TriageStep | None:
    return ticket.steps.filter(is_current=True, task_name=task_name).first()


def _user_or_none(user: User) -> Any:
    return user if user.is_authenticated else None


def _check_settled(ticket: Ticket) -> None:
    """Corrections and approvals wait for triage to finish: a run settling later would overwrite
    them with answers the agent never saw (the page says so; this is the server's side of it)."""
    if Ticket.objects.filter(
        pk=ticket.pk, status__in=[Ticket.Status.QUEUED, Ticket.Status.TRIAGING]
    ).exists():
        raise ValidationError(
            "Triage is running on this ticket: corrections and approvals open when it finishes."
        )


@transaction.atomic
def ticket_correct(*, ticket: Ticket, field_name: str, value: str, user: User) -> Feedback:
    """Set the ticket's category or urgency; the feedback row keeps old, new and the model behind old."""
    if field_name not in CORRECTABLE:
        raise ValidationError({"field": f"Only {', '.join(CORRECTABLE)} can be corrected."})
    _check_settled(ticket)
    step = _current_step(ticket, CORRECTABLE[field_name])
    new_value: Any
    if field_name == "category":
        if value not in (ticket.router.categories or []):
            raise ValidationError({"value": f"{value!r} is not one of this router's categories."})
        old_value: Any = ticket.category or None
        new_value = value
        ticket.category = value
        ticket.save(update_fields=["category", "updated_at"])
    else:
        if value not in {"1", "2", "3", "4", "5"}:
            raise ValidationError({"value": "Urgency is a whole number from 1 to 5."})
        old_value = ticket.urgency_score
        new_value = int(value)
        ticket.urgency_score = new_value
        ticket.save(update_fields=["urgency_score", "updated_at"])
    return Feedback.objects.create(
        ticket=ticket,
        step=step,
        task_name=CORRECTABLE[field_name],
        kind=Feedback.Kind.CORRECTION,
        field=field_name,
        old_value=old_value,
        new_value=new_value,
        model_slug=step.served_by if step else "",
        user=_user_or_none(user),
    )


def step_thumb(*, ticket: Ticket, step_id: int, up: bool, user: User) -> Feedback:
    step = ticket.steps.filter(pk=step_id).first()
    if step is None:
        raise ValidationError({"step": "No such step on this ticket."})
    return Feedback.objects.create(
        ticket=ticket,
        step=step,
        task_name=step.task_name,
        kind=Feedback.Kind.THUMBS_UP if up else Feedback.Kind.THUMBS_DOWN,
        model_slug=step.served_by,
        user=_user_or_none(user),
    )


@transaction.atomic
def reply_approve(*, ticket: Ticket, text: str, user: User) -> ApprovedReply:
    """Store the agent's approved reply apart from the model's draft, and note the approval."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "The reply can't be empty."})
    if len(text) > 10_000:
        raise ValidationError({"text": "The reply is too long (at most 10,000 characters)."})
    _check_settled(ticket)
    step = _current_step(ticket, REPLY)
    draft = str((step.result or {}).get("reply", "")) if step and isinstance(step.result, dict) else ""
    approved, _ = ApprovedReply.objects.update_or_create(
        ticket=ticket,
        defaults={
            "text": text,
            "draft_text": draft,
            "draft_model": step.served_by if step else "",
            "edited": text != draft.strip(),
            "approved_by": _user_or_none(user),
            "approved_at": timezone.now(),
        },
    )
    Feedback.objects.create(
        ticket=ticket,
        step=step,
        task_name=REPLY,
        kind=Feedback.Kind.APPROVAL,
        field="reply",
        old_value=draft,
        new_value=text,
        model_slug=step.served_by if step else "",
        user=_user_or_none(user),
    )
    deliveries_record_reply_approved(ticket.pk)
    return approved


def ticket_rerun(*, ticket: Ticket, step: str | None) -> Ticket:
    if step and step not in subtask_names():
        raise ValidationError({"step": f"Unknown step {step!r}."})
    try:
        return ticket_retriage(ticket=ticket, step=step or None)
    except TicketBusy as exc:
        raise ValidationError({"step": str(exc)}) from None


# --- playground ------------------------------------------------------------------------------
@dataclass
class PlaygroundColumn:
    label: str
    requested_model: str = ""
    content: str = ""
    served_by: str = ""
    matched_task: str | None = None
    latency_ms: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: str = "0"
    attempts: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def playground_messages(
    *, router: Router, prompt: str, ticket: Ticket | None, task: str | None
) -> list[dict[str, str]]:
    """A ticket goes in as the pipeline would send it for ``task``; a prompt goes in as it is."""
    if ticket is not None:
        system_prompt = ""
        if task:
            system_prompt = (
                router.tasks.filter(name=task).values_list("system_prompt", flat=True).first() or ""
            )
        return subtask_messages(system_prompt=system_prompt, router=router, ticket=ticket)
    return [{"role": "user", "content": prompt}]


def _route_column(
    *, label: str, target: Router | str, messages: list[dict[str, str]], task: str | None, requested: str = ""
) -> PlaygroundColumn:
    """One routed request: ``target`` is the router, or ``model:<slug>`` for the routing service's
    direct call to one catalog model (same breaker, deadline, accounting and local last resort)."""
    column = PlaygroundColumn(label=label, requested_model=requested)
    try:
        result = route(target, messages, task=task)
    except RoutingError as exc:
        column.error = str(exc)
        column.attempts = [asdict(a) for a in exc.attempts]
        return column
    # untrusted text: stored in a JSON column, so nothing a database refuses (NUL, lone surrogates)
    column.content = storable_text(result.content)
    column.served_by = result.served_by
    column.matched_task = result.matched_task
    column.latency_ms = result.latency_ms
    column.prompt_tokens = result.prompt_tokens
    column.completion_tokens = result.completion_tokens
    column.cost = dollars(result.cost)
    column.attempts = [asdict(a) for a in result.attempts]
    return column


def _calls_of(columns: list[PlaygroundColumn]) -> list[int]:
    """The ModelCall rows our routes wrote: every attempt names its own."""
    return [attempt["call_id"] for column in columns for attempt in column.attempts if attempt.get("call_id")]


def playground_run(
    *,
    router: Router,
    prompt: str,
    ticket: Ticket | None,
    task: str | None,
    models: list[LLMModel],
    user: User,
) -> PlaygroundRun:
    """Send one prompt (or ticket) through the router and through up to three catalog models."""
    if not prompt.strip() and ticket is None:
        raise ValidationError({"prompt": "Write a prompt or pick a ticket."})
    if len(models) > 3:
        raise ValidationError({"models": "Compare at most three models."})
    if task and not router.tasks.filter(name=task).exists():
        raise ValidationError({"task": f"Router {router.name} has no task {task!r}."})
    messages = playground_messages(router=router, prompt=prompt, ticket=ticket, task=task)
    columns = [_route_column(label=f"router:{router.name}", target=router, messages=messages, task=task)]
    for model in models:
        # the same messages (the task's system prompt included) straight to one model: no task there
        columns.append(
            _route_column(
                label=model.slug,
                target=f"model:{model.slug}",
                messages=messages,
                task=None,
                requested=model.slug,
            )
        )
    run = PlaygroundRun.objects.create(
        user=_user_or_none(user),
        router=router,
        prompt=prompt if ticket is None else f"ticket #{ticket.pk}",
        task_name=task or "",
        columns=[asdict(c) for c in columns],
    )
    run.calls.set(_calls_of(columns))
    return run
