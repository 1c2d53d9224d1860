"""Writing tickets. Every door (API, browser form, /triage, demo loader) submits through here."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from triage.models import Router, Ticket
from triage.pipeline.steps import steps_create


def validation_error_text(exc: ValidationError) -> str:
    """One readable line naming each bad field: 'subject: This field cannot be blank.'"""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return "; ".join(exc.messages)


def default_router() -> Router:
    return Router.objects.get(name=settings.TRIAGE_DEFAULT_ROUTER)


@transaction.atomic
def ticket_submit(
    *,
    subject: str,
    body: str,
    channel: str = Ticket.Channel.API,
    customer_tier: str = Ticket.Tier.FREE,
    account_id: str = "",
    router: Router | None = None,
) -> Ticket:
    """Validate and store a ticket. Raises ``ValidationError`` and stores nothing on bad input."""
    ticket = Ticket(
        subject=subject,
        body=body,
        channel=channel,
        customer_tier=customer_tier,
        account_id=account_id,
        router=router or default_router(),
    )
    ticket.full_clean()
    ticket.save()
    steps_create(ticket)
    ticket_enqueue(ticket)
    return ticket


def ticket_enqueue(ticket: Ticket) -> None:
    """Hand the ticket to a worker once the surrounding transaction commits."""
    from triage.pipeline.tasks import triage_ticket_task

    ticket_id = ticket.pk
    transaction.on_commit(lambda: triage_ticket_task.delay(ticket_id))
