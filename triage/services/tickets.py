"""Writing tickets. Every door (API, browser form, /triage, demo loader) submits through here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from triage.local_models.language import detect_language
from triage.models import ApiKey, Connector, Router, Ticket
from triage.pipeline.steps import steps_create
from triage.pipeline.subtasks import subtask_names
from triage.routing.config import snapshot_fresh


def validation_error_text(exc: ValidationError) -> str:
    """One readable line naming each bad field: 'subject: This field cannot be blank.'"""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return "; ".join(exc.messages)


def default_router_id() -> int:
    """The default router's id, from the routing configuration snapshot (no query in steady state);
    ``Router.DoesNotExist`` when there is no such router."""
    spec = snapshot_fresh().routers_by_name.get(settings.TRIAGE_DEFAULT_ROUTER)
    if spec is None:
        return int(Router.objects.get(name=settings.TRIAGE_DEFAULT_ROUTER).pk)
    return spec.id


def check_router_triages(router_id: int) -> None:
    """``ValidationError`` (on ``router``) for a router with none of the triage subtasks' tasks (a chat
    router such as support-bot-router): its tickets would be "triaged" with every step skipped."""
    spec = snapshot_fresh().routers_by_id.get(router_id)
    if spec is not None and not set(spec.tasks) & set(subtask_names()):
        raise ValidationError(
            {
                "router": f"router {spec.name} has none of the triage tasks ({', '.join(subtask_names())}): "
                "it serves chat requests (/v1), not tickets"
            }
        )


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different payload."""


@transaction.atomic
def ticket_submit(
    *,
    subject: str,
    body: str,
    channel: str = Ticket.Channel.API,
    customer_tier: str = Ticket.Tier.FREE,
    account_id: str = "",
    router: Router | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
    idempotency_fingerprint: str = "",
    connector: Connector | None = None,
    external_id: str = "",
    external_tags: list[str] | None = None,
    customer_email: str = "",
    customer_name: str = "",
    enqueue: bool = True,
) -> Ticket:
    """Validate and store a ticket with its pending steps, and hand it to a worker on commit.

    Raises ``ValidationError`` and stores nothing on bad input. ``enqueue=False`` is for callers
    that triage synchronously themselves (the /triage contract).
    """
    ticket = Ticket(
        subject=subject.strip(),
        body=body,
        channel=channel,
        customer_tier=customer_tier,
        account_id=account_id.strip(),
        language=detect_language(f"{subject}\n{body}").code,
        router_id=router.pk if router is not None else default_router_id(),
        api_key=api_key,
        idempotency_key=idempotency_key or None,
        idempotency_fingerprint=idempotency_fingerprint,
        connector=connector,
        external_id=external_id,
        external_tags=external_tags or [],
        customer_email=customer_email,
        customer_name=customer_name,
    )
    check_router_triages(ticket.router_id)
    # The router row was just resolved, and the idempotency key's uniqueness is the database's job.
    ticket.full_clean(
        exclude=["router", "api_key", "connector"], validate_unique=False, validate_constraints=False
    )
    ticket.save()
    steps_create(ticket)
    if enqueue:
        ticket_enqueue(ticket)
    return ticket


def ticket_submit_idempotent(
    *, api_key: ApiKey, idempotency_key: str, idempotency_fingerprint: str, **fields: Any
) -> tuple[Ticket, bool]:
    """Submit once per idempotency key *of this API key*: the same key and payload return the first
    ticket (created=False); the same key with another payload raises ``IdempotencyConflict``.
    Another API key sending the same idempotency key gets its own ticket."""
    for _ in range(2):
        existing = Ticket.objects.filter(api_key=api_key, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.idempotency_fingerprint != idempotency_fingerprint:
                raise IdempotencyConflict(idempotency_key)
            return existing, False
        try:
            ticket = ticket_submit(
                api_key=api_key,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=idempotency_fingerprint,
                **fields,
            )
        except IntegrityError:
            continue  # a concurrent request with the same key won the race: read its ticket
        return ticket, True
    raise IdempotencyConflict(idempotency_key)


def ticket_enqueue(ticket: Ticket) -> None:
    """Hand the ticket to a worker once the surrounding transaction commits."""
    from triage.pipeline.tasks import triage_ticket_task

    ticket_id = ticket.pk
    transaction.on_commit(lambda: triage_ticket_task.delay(ticket_id))
