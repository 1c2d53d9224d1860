"""The triage article's synchronous contract: POST /triage and POST /triage/batch."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from triage.api.errors import ApiError
from triage.api.schemas import ERRORS, ErrorOut, Tier
from triage.api.tickets import check_body_size, raise_validation
from triage.services.sync_triage import SyncDeadlineExceeded, triage_now

router = Router(tags=["triage (article contract)"])
MAX_BATCH = 25


class TriageIn(Schema):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1)
    customer_tier: Tier = "free"
    account_id: str = Field(default="", max_length=64)


class UrgencyOut(Schema):
    score: int | None
    sentiment: str | None
    escalation_risk: bool | None
    reason: str | None


class RouteOut(Schema):
    task: str
    latency_ms: int
    mode: str
    selected_model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TriageOut(Schema):
    ticket_id: int
    status: str
    category: str | None
    urgency: UrgencyOut
    reply: str | None
    escalation_summary: str | None
    routes: list[RouteOut]


class BatchOut(Schema):
    count: int
    results: list[dict[str, Any]]


def _fields(ticket: TriageIn, *, index: int | None = None) -> dict[str, Any]:
    check_body_size(ticket.body, param="body" if index is None else f"{index}.body")
    return ticket.dict()


def _triage(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        return triage_now(tickets=tickets)
    except ValidationError as exc:
        raise raise_validation(exc) from None
    except SyncDeadlineExceeded as exc:
        ids = ", ".join(str(i) for i in exc.ticket_ids)
        raise ApiError(
            504,
            f"Triage did not finish within {exc.seconds:g} s. The tickets are stored and keep being "
            f"triaged: GET /api/tickets/<id> for ids {ids}.",
            code="triage_timeout",
        ) from None


@router.post(
    "/triage",
    response={200: TriageOut, 502: ErrorOut, 504: ErrorOut, **ERRORS},
    summary="Triage one ticket and answer when done",
)
def triage_one(request: HttpRequest, payload: TriageIn) -> dict[str, Any]:
    (result,) = _triage([_fields(payload)])
    if "error" in result:
        raise ApiError(502, f"Triage failed: {result['error']}", code="triage_failed")
    return result


@router.post(
    "/triage/batch",
    response={200: BatchOut, 504: ErrorOut, **ERRORS},
    summary="Triage 1-25 tickets concurrently",
)
def triage_batch(request: HttpRequest, payload: list[TriageIn]) -> dict[str, Any]:
    if not 1 <= len(payload) <= MAX_BATCH:
        raise ApiError(
            422,
            f"A batch holds 1 to {MAX_BATCH} tickets, not {len(payload)}.",
            param="body",
            code="batch_size",
        )
    results = _triage([_fields(t, index=i) for i, t in enumerate(payload)])
    for index, result in enumerate(results):
        result.setdefault("ticket_index", index)
    return {"count": len(results), "results": results}
