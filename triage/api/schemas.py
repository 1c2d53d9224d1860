"""Request and response schemas shared by the ticket API and the /triage contract."""

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

Tier = Literal["free", "pro", "business", "enterprise"]


class TicketIn(Schema):
    subject: str = Field(min_length=1, max_length=200, description="1-200 characters")
    body: str = Field(min_length=1, description="Up to 64 KB; larger bodies get 413")
    customer_tier: Tier = "free"
    account_id: str = Field(default="", max_length=64)
    router: str | None = Field(default=None, description="Router name; the default router when omitted")


class TicketAccepted(Schema):
    id: int
    status: str
    status_url: str


class AttemptOut(Schema):
    model: str
    outcome: str
    latency_ms: int
    error: str = ""


class StepOut(Schema):
    task: str
    status: str
    result: dict[str, Any] | None
    served_by: str
    latency_ms: int | None
    prompt_tokens: int
    completion_tokens: int
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
