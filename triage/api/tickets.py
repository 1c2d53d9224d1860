"""/api/tickets: submit, read, list and re-triage tickets."""

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Header, Path, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import Field, field_validator

from triage.api.errors import ApiError
from triage.api.schemas import (
    ERRORS,
    IsoDateTime,
    RetriageAccepted,
    TicketAccepted,
    TicketIn,
    TicketOut,
    TicketSummaryOut,
)
from triage.models import ApiKey, Ticket
from triage.models import Router as RouterModel
from triage.models.tickets import MAX_BODY
from triage.pipeline.subtasks import subtask_names
from triage.pipeline.triage import TicketBusy, ticket_retriage
from triage.routing.pricing import dollars
from triage.services.results import step_as_dict, ticket_as_dict
from triage.services.tickets import (
    IdempotencyConflict,
    ticket_submit,
    ticket_submit_idempotent,
    validation_error_text,
)

router = Router(tags=["tickets"])
TicketId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def status_url(ticket_id: int) -> str:
    return f"/api/tickets/{ticket_id}"


def router_by_name(name: str | None) -> RouterModel | None:
    if name is None:
        return None
    found = RouterModel.objects.filter(name=name, enabled=True).first()
    if found is None:
        raise ApiError(
            404, f"router: no enabled router named {name!r}", param="router", code="unknown_router"
        )
    return found


def check_body_size(body: str, *, param: str = "body") -> None:
    if len(body) > MAX_BODY:
        raise ApiError(
            413, f"{param}: {len(body)} characters, over the 64 KB limit", param=param, code="body_too_large"
        )


def ticket_fields(payload: TicketIn) -> dict[str, object]:
    check_body_size(payload.body)
    return {
        "subject": payload.subject,
        "body": payload.body,
        "customer_tier": payload.customer_tier,
        "account_id": payload.account_id,
        "router": router_by_name(payload.router),
    }


def raise_validation(exc: ValidationError) -> ApiError:
    field = next(iter(exc.message_dict), None) if hasattr(exc, "error_dict") else None
    return ApiError(422, validation_error_text(exc), param=field, code="invalid_value")


@router.post(
    "", response={200: TicketAccepted, 202: TicketAccepted, **ERRORS}, summary="Submit a ticket for triage"
)
def submit_ticket(
    request: HttpRequest,
    response: HttpResponse,
    payload: TicketIn,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=255),
) -> Status[dict[str, object]]:
    fields = ticket_fields(payload)
    api_key = request.auth if isinstance(request.auth, ApiKey) else None  # type: ignore[attr-defined]
    try:
        if idempotency_key and api_key is not None:
            fingerprint = hashlib.sha256(json.dumps(payload.dict(), sort_keys=True).encode()).hexdigest()
            ticket, created = ticket_submit_idempotent(
                api_key=api_key,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=fingerprint,
                channel="api",
                **fields,
            )
        else:
            ticket, created = ticket_submit(channel="api", api_key=api_key, **fields), True  # type: ignore[arg-type]
    except IdempotencyConflict:
        raise ApiError(
            409,
            "Idempotency-Key was already used with a different payload.",
            param="Idempotency-Key",
            code="idempotency_conflict",
        ) from None
    except ValidationError as exc:
        raise raise_validation(exc) from None
    response["Location"] = status_url(ticket.pk)
    body = {"id": ticket.pk, "status": ticket.status, "status_url": status_url(ticket.pk)}
    return Status(202 if created else 200, body)


@router.get(
    "/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="A ticket and every step of its triage"
)
def get_ticket(request: HttpRequest, ticket_id: TicketId) -> dict[str, object]:
    ticket = Ticket.objects.select_related("router").filter(pk=ticket_id).first()
    if ticket is None:
        raise ApiError(404, f"No ticket {ticket_id}.", param="ticket_id", code="not_found")
    order = {name: i for i, name in enumerate(subtask_names())}
    steps = sorted(ticket.steps.filter(is_current=True), key=lambda s: order.get(s.task_name, 99))
    total = sum((s.cost for s in steps), Decimal(0))
    return {
        **ticket_as_dict(ticket),
        "body": ticket.body,
        "total_cost": dollars(total),
        "steps": [step_as_dict(s) for s in steps],
    }


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def clamp_datetime(value: datetime | None) -> datetime | None:
    """Filters far outside any ticket's lifetime mean 'no bound'; clamping keeps the database happy.
    The result is in UTC: ISO 8601 allows offsets (up to 23:59) that PostgreSQL refuses (over 15:59)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value.year <= 1970:
        return EARLIEST
    if value.year >= 9000:
        return LATEST
    return value.astimezone(UTC)


class TicketFilters(Schema):
    status: Ticket.Status | None = None
    category: str | None = None
    urgency_min: int | None = Field(default=None, ge=1, le=5)
    created_after: IsoDateTime | None = None
    created_before: IsoDateTime | None = None
    q: str | None = Field(default=None, max_length=200)

    @field_validator("created_after", "created_before")
    @classmethod
    def _sane_dates(cls, value: datetime | None) -> datetime | None:
        return clamp_datetime(value)


class Pagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(50, ge=1, le=500)
        offset: int = Field(0, ge=0, le=10_000_000)


def tickets_filtered(filters: TicketFilters) -> QuerySet[Ticket]:
    tickets = Ticket.objects.select_related("router").order_by("-created_at", "-id")
    if filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.category:
        tickets = tickets.filter(category=filters.category)
    if filters.urgency_min is not None:
        tickets = tickets.filter(urgency_score__gte=filters.urgency_min)
    if filters.created_after:
        tickets = tickets.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        tickets = tickets.filter(created_at__lt=filters.created_before)
    if filters.q:
        tickets = tickets.filter(Q(subject__icontains=filters.q) | Q(body__icontains=filters.q))
    return tickets


@router.get("", response={200: list[TicketSummaryOut], **ERRORS}, summary="List tickets, newest first")
@paginate(Pagination)
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]) -> QuerySet[Ticket]:
    return tickets_filtered(filters)


@router.post(
    "/{ticket_id}/retriage", response={202: RetriageAccepted, **ERRORS}, summary="Re-run one step or all"
)
def retriage(request: HttpRequest, ticket_id: TicketId, step: str | None = None) -> Status[dict[str, object]]:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise ApiError(404, f"No ticket {ticket_id}.", param="ticket_id", code="not_found")
    if step is not None and step not in subtask_names():
        names = ", ".join(subtask_names())
        raise ApiError(422, f"step: choose one of {names}", param="step", code="unknown_step")
    try:
        ticket = ticket_retriage(ticket=ticket, step=step)
    except TicketBusy as exc:
        raise ApiError(409, str(exc), code="ticket_busy") from None
    steps = list(ticket.steps.filter(is_current=True, status="pending").values_list("task_name", flat=True))
    return Status(
        202, {"id": ticket.pk, "status": ticket.status, "steps": steps, "status_url": status_url(ticket.pk)}
    )
