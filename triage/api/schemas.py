"""Request and response schemas shared by the ticket API and the /triage contract."""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BeforeValidator, Field

Tier = Literal["free", "pro", "business", "enterprise"]


def _iso_only(value: Any) -> Any:
    # pydantic would also read "0.5" as a Unix timestamp; the API documents ISO 8601 only
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("use an ISO 8601 date-time such as 2026-11-28T09:14:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


class TicketIn(Schema):
    subject: str = Field(min_length=1, max_length=200, pattern=r"\S", description="1-200 characters")
    body: str = Field(min_length=1, description="Up to 64 KB; larger bodies get 413")
    customer_tier: Tier = "free"
    account_id: str = Field(default="", max_length=64)
    router: str | None = Field(default=None, description="Router name; the default router when omitted")
    # (NUL and other control characters never get here: the input policy refuses them with a 422)


class TicketAccepted(Schema):
    id: int
    status: str
    status_url: str


class AttemptOut(Schema):
    model: str
    outcome: str
    latency_ms: int
    error: str = ""
    call_id: int | None = Field(default=None, description="Its row in the model-call audit trail")


class StepOut(Schema):
    task: str
    label: str = Field(description="What the pages call this step")
    status: str
    result: dict[str, Any] | None
    served_by: str
    latency_ms: int | None
    prompt_tokens: int
    completion_tokens: int  # reasoning tokens included (billed as output)
    reasoning_tokens: int = 0
    cached_tokens: int = 0  # of the prompt tokens, read from the provider's prompt cache
    cost: str = Field(description="Dollars, as a decimal string")
    attempts: list[AttemptOut]
    degraded: bool
    error: str
    skip_reason: str
    started_at: datetime | None
    finished_at: datetime | None


class TicketSummaryOut(Schema):
    id: int
    subject: str
    status: str
    channel: str
    customer_tier: str
    account_id: str
    language: str = Field(description='ISO 639-1 code detected when the ticket arrived; "" if undetermined.')
    router: str
    category: str
    urgency_score: int | None
    escalated: bool
    attention_reason: str
    created_at: datetime
    triaged_at: datetime | None

    @staticmethod
    def resolve_router(ticket: Any) -> str:
        return ticket["router"] if isinstance(ticket, dict) else ticket.router.name


class TicketOut(TicketSummaryOut):
    body: str
    total_cost: str
    steps: list[StepOut]


class RetriageAccepted(Schema):
    id: int
    status: str
    steps: list[str]
    status_url: str


class ErrorDetail(Schema):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(Schema):
    error: ErrorDetail


# Every operation documents the error statuses it can answer with, in the one error shape.
ERRORS: dict[int, type[Schema]] = {status: ErrorOut for status in (400, 401, 403, 404, 409, 413, 422, 429)}
