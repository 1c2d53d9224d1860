"""/api/routers: the configured routers and their usage figures."""

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from triage.api.errors import ApiError
from triage.api.schemas import ERRORS, IsoDateTime
from triage.api.tickets import clamp_datetime
from triage.models import Router as RouterModel
from triage.services.stats import router_stats

router = Router(tags=["routers"])


class PoolEntryOut(Schema):
    model: str
    rank: int
    min_urgency: int | None
    max_urgency: int | None


class TaskOut(Schema):
    name: str
    description: str
    selection_policy: str
    pool: list[PoolEntryOut]


class RouterOut(Schema):
    name: str
    model: str
    description: str
    escalation_threshold: int
    categories: list[str]
    tasks: list[TaskOut]
    fallbacks: list[str]


class LatencyOut(Schema):
    p50: int
    p95: int | None
    count: int


class RouterStatsOut(Schema):
    router: str
    since: datetime
    requests: int
    served: int
    attempts: int
    tickets: int
    cost_total: str
    cost_per_ticket: str
    latency_ms: dict[str, LatencyOut]
    model_mix: dict[str, int]
    task_mix: dict[str, int]
    failure_rate: float
    fallback_rate: float


def _router_out(router_row: RouterModel) -> dict[str, Any]:
    return {
        "name": router_row.name,
        "model": f"router:{router_row.name}",
        "description": router_row.description,
        "escalation_threshold": router_row.escalation_threshold,
        "categories": list(router_row.categories),
        "tasks": [
            {
                "name": task.name,
                "description": task.description,
                "selection_policy": task.selection_policy,
                "pool": [
                    {
                        "model": entry.model.slug,
                        "rank": entry.rank,
                        "min_urgency": entry.min_urgency,
                        "max_urgency": entry.max_urgency,
                    }
                    for entry in task.pool.all()
                ],
            }
            for task in router_row.tasks.all()
        ],
        "fallbacks": [entry.model.slug for entry in router_row.fallbacks.all()],
    }


@router.get(
    "", response={200: list[RouterOut], **ERRORS}, summary="Routers with their tasks, pools and fallbacks"
)
def list_routers(request: HttpRequest) -> list[dict[str, Any]]:
    rows = RouterModel.objects.filter(enabled=True).prefetch_related("tasks__pool__model", "fallbacks__model")
    return [_router_out(r) for r in rows]


@router.get("/{name}/stats", response={200: RouterStatsOut, **ERRORS}, summary="Usage figures of one router")
def stats(request: HttpRequest, name: str, since: IsoDateTime | None = None) -> dict[str, Any]:
    router_row = RouterModel.objects.filter(name=name).first()
    if router_row is None:
        raise ApiError(404, f"No router named {name!r}.", param="name", code="unknown_router")
    since = clamp_datetime(since) or timezone.now() - timedelta(hours=24)
    return router_stats(router=router_row, since=since)
