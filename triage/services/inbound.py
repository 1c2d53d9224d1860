"""Tickets from connectors: an email (from a provider's inbound webhook or ``manage.py ingest_email``)
or a helpdesk's webhook becomes a ticket, once.

Redelivery is the normal case (providers retry until they get a 2xx): an email's Message-ID and a
helpdesk's ticket id are unique per connector, so the same message or ticket maps to the ticket it
made the first time, and a concurrent duplicate loses the database's unique check and reads it. An
email answering one we already have (In-Reply-To / References) joins that ticket's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import IntegrityError, transaction
from django.utils.text import get_valid_filename

from triage.connectors.email_parsing import Attachment, InboundEmail
from triage.connectors.helpdesks.base import IncomingTicket
from triage.models import Connector, Ticket, TicketMessage
from triage.models.tickets import MAX_BODY, MAX_SUBJECT
from triage.services.tickets import ticket_submit

log = logging.getLogger(__name__)

TRUNCATED = "\n[… the rest of the message was cut: it was longer than a ticket holds]"
NO_TEXT = "(The message had no text.)"


@dataclass(frozen=True)
class Ingested:
    ticket: Ticket
    created: bool  # a new ticket
    appended: bool = False  # a reply added to an existing ticket's thread


def fit_body(text: str) -> str:
    text = text.strip() or NO_TEXT
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - len(TRUNCATED)] + TRUNCATED


def fit_subject(text: str) -> str:
    text = " ".join(text.split()) or "(no subject)"
    return text if len(text) <= MAX_SUBJECT else text[: MAX_SUBJECT - 1] + "…"


def email_ingest(*, connector: Connector, email: InboundEmail) -> Ingested:
    """The ticket this email belongs to: the one it made before (redelivery), the one it replies to
    (added to the thread), or a new one."""
    for _ in range(2):
        try:
            with transaction.atomic():
                return _email_ingest_once(connector, email)
        except IntegrityError:
            continue  # the same message arrived twice at once and the other one won: read its ticket
    known = TicketMessage.objects.select_related("ticket").get(
        connector=connector, message_id=email.message_id
    )
    return Ingested(known.ticket, created=False)


def _email_ingest_once(connector: Connector, email: InboundEmail) -> Ingested:
    known = TicketMessage.objects.select_related("ticket").filter(
        connector=connector, message_id=email.message_id
    )
    if (message := known.first()) is not None:
        return Ingested(message.ticket, created=False)
    parent = (
        TicketMessage.objects.select_related("ticket")
        # the same mailbox only: a Message-ID known elsewhere must not put text on another's ticket
        .filter(message_id__in=list(email.references)[:50], connector=connector)
        .order_by("-id")
        .first()
        if email.references
        else None
    )
    if parent is not None:
        _message_create(parent.ticket, connector, email)
        return Ingested(parent.ticket, created=False, appended=True)
    ticket = ticket_submit(
        subject=fit_subject(email.subject),
        body=fit_body(email.body),
        channel=Ticket.Channel.EMAIL,
        router=connector.router,
        connector=connector,
        external_id=email.message_id,
        customer_email=email.sender_email[:254],
        customer_name=email.sender_name[:200],
    )
    _message_create(ticket, connector, email)
    return Ingested(ticket, created=True)


def _message_create(ticket: Ticket, connector: Connector, email: InboundEmail) -> TicketMessage:
    return TicketMessage.objects.create(
        ticket=ticket,
        connector=connector,
        message_id=email.message_id,
        sender_email=email.sender_email[:254],
        sender_name=email.sender_name[:200],
        subject=fit_subject(email.subject),
        body=fit_body(email.body),
        attachments=[_attachment_entry(ticket, connector, a) for a in email.attachments],
    )


def _attachment_entry(ticket: Ticket, connector: Connector, attachment: Attachment) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "stored": "",
    }
    if connector.keep_attachments and attachment.content is not None:
        storage = FileSystemStorage(location=Path(settings.TRIAGE_ATTACHMENTS_DIR))
        name = get_valid_filename(attachment.name or "attachment") or "attachment"
        entry["stored"] = storage.save(f"{ticket.pk}/{name}", ContentFile(attachment.content))
    return entry


def helpdesk_ticket_ingest(*, connector: Connector, incoming: IncomingTicket) -> Ingested:
    """The ticket for this helpdesk ticket: the one made before (a redelivered webhook, or one fired
    by our own write-back) or a new one."""
    for _ in range(2):
        existing = Ticket.objects.filter(connector=connector, external_id=incoming.external_id).first()
        if existing is not None:
            return Ingested(existing, created=False)
        try:
            ticket = ticket_submit(
                subject=fit_subject(incoming.subject),
                body=fit_body(incoming.body),
                channel=Ticket.Channel(connector.kind),
                customer_tier=incoming.customer_tier,
                router=connector.router,
                connector=connector,
                external_id=incoming.external_id,
                external_tags=list(incoming.tags),
                customer_email=incoming.requester_email[:254],
                customer_name=incoming.requester_name[:200],
            )
        except IntegrityError:
            continue
        return Ingested(ticket, created=True)
    return Ingested(Ticket.objects.get(connector=connector, external_id=incoming.external_id), created=False)
