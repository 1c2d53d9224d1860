"""Spend caps that can't be overrun: a remote call's worst-case cost is reserved against every cap it
counts toward before the request leaves, and replaced by what it really cost when it returns.

A call whose reservation would pass a cap is not sent (outcome ``skipped_budget``): the router moves
on, ultimately to the local tier, which is free and never capped. So the spend of a period can pass
its cap only by what the calls in flight at the moment of crossing cost beyond their reservations:
nothing, since each reserved its worst case.

The ledger is Redis when the shared cache is (one Lua script checks every cap and reserves on all of
them atomically: a few hundred microseconds), else a table with conditional updates (the embedded
default). A counter Redis lost (a restart, an eviction) is seeded again from the audit trail: the
``ModelCall`` costs of its period, pending rows at their worst case, so a restart can't reset a cap.

Amounts are integers of millionths of a dollar in the ledger (atomic increments), Decimal elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from redis.exceptions import RedisError

from triage.models import Budget, BudgetSpend, ModelCall

log = logging.getLogger(__name__)

MICROS = Decimal(1_000_000)
KEY_PREFIX = "triage:budget"


@dataclass(frozen=True)
class BudgetSpec:
    id: int
    router_id: int
    router_name: str
    task_name: str  # "" = the whole router
    daily_cap: Decimal | None
    monthly_cap: Decimal | None
    warn_at_percent: int
    time_zone: str

    def __str__(self) -> str:
        return f"{self.router_name}/{self.task_name}" if self.task_name else self.router_name

    def applies_to(self, task_name: str | None) -> bool:
        return not self.task_name or self.task_name == (task_name or "")


@dataclass(frozen=True)
class Counter:
    """One cap of one budget in its current period."""

    budget: BudgetSpec
    period: str  # "day:2026-12-06" or "month:2026-12", in the router's time zone
    cap_micros: int
    starts: datetime  # the period's first instant (aware)
    ttl_seconds: int

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}:{self.budget.id}:{self.period}"


@dataclass
class Reservation:
    counters: list[Counter]
    micros: int


class BudgetRefused(Exception):
    def __init__(self, counter: Counter, spent_micros: int, *, reason: str = "") -> None:
        cap = Decimal(counter.cap_micros) / MICROS
        spent = Decimal(spent_micros) / MICROS
        kind = "daily" if counter.period.startswith("day") else "monthly"
        used = f"${_dollars(spent)} of ${_dollars(cap)} spent or reserved"
        text = f"{kind} budget of {counter.budget} reached: {used}"
        super().__init__(reason or text)
        self.counter, self.spent_micros = counter, spent_micros


def _dollars(amount: Decimal) -> str:
    return f"{amount:.2f}" if amount >= 1 else format(amount.normalize(), "f")


def to_micros(amount: Decimal) -> int:
    return int((amount * MICROS).to_integral_value(rounding=ROUND_CEILING))


def counters_for(
    budgets: Sequence[BudgetSpec], task_name: str | None, now: datetime | None = None
) -> list[Counter]:
    """The caps a call of ``task_name`` counts toward, each in its current period."""
    now = now or timezone.now()
    out = []
    for budget in budgets:
        if not budget.applies_to(task_name):
            continue
        local = now.astimezone(ZoneInfo(budget.time_zone))
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if budget.daily_cap is not None:
            out.append(Counter(budget, f"day:{day:%Y-%m-%d}", to_micros(budget.daily_cap), day, 3 * 86400))
        if budget.monthly_cap is not None:
            month = day.replace(day=1)
            out.append(
                Counter(budget, f"month:{month:%Y-%m}", to_micros(budget.monthly_cap), month, 40 * 86400)
            )
    return out


def period_spent_from_calls(counter: Counter) -> int:
    """What the audit trail says this period has cost (pending calls at their worst case)."""
    calls = ModelCall.objects.filter(router_id=counter.budget.router_id, started_at__gte=counter.starts)
    if counter.budget.task_name:
        calls = calls.filter(task_name=counter.budget.task_name)
    total = calls.aggregate(total=Sum("cost"))["total"] or Decimal(0)
    return to_micros(total)


# --- the ledger ------------------------------------------------------------------------------------

_RESERVE = """
local amount = tonumber(ARGV[1])
local n = #KEYS
for i = 1, n do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current + amount > tonumber(ARGV[1 + i]) then return {i, current} end
end
local totals = {0}
for i = 1, n do
  totals[i + 1] = redis.call('INCRBY', KEYS[i], amount)
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[1 + n + i]))
end
return totals
"""


def _redis() -> Any:
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _reserve_redis(client: Any, counters: list[Counter], micros: int) -> list[int]:
    keys = [c.key for c in counters]
    for counter, value in zip(counters, client.mget(keys), strict=True):
        if value is None:  # lost or new: start from what the audit trail says
            client.set(counter.key, period_spent_from_calls(counter), nx=True, ex=counter.ttl_seconds)
    args = [micros, *(c.cap_micros for c in counters), *(c.ttl_seconds for c in counters)]
    result = [int(v) for v in client.eval(_RESERVE, len(keys), *keys, *args)]
    if result[0]:
        raise BudgetRefused(counters[result[0] - 1], result[1])
    return result[1:]


def _reserve_database(counters: list[Counter], micros: int) -> list[int]:
    totals = []
    with transaction.atomic():
        for counter in counters:
            row, _ = BudgetSpend.objects.get_or_create(
                budget_id=counter.budget.id,
                period=counter.period,
                defaults={"micros": period_spent_from_calls(counter)},
            )
            rows = BudgetSpend.objects.filter(pk=row.pk, micros__lte=counter.cap_micros - micros)
            if not rows.update(micros=F("micros") + micros):
                raise BudgetRefused(counter, BudgetSpend.objects.get(pk=row.pk).micros)
            totals.append(BudgetSpend.objects.get(pk=row.pk).micros)
    return totals


# a counter Redis lost meanwhile is left missing (the next reservation rebuilds it from the audit
# trail): adjusting it would create it at a small or negative value and forget the period's spend
_SETTLE = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[1]) end
end
return 0
"""


def _adjust(counters: list[Counter], delta: int) -> None:
    if not delta or not counters:
        return
    client = _redis()
    if client is not None:
        try:
            client.eval(_SETTLE, len(counters), *(c.key for c in counters), delta)
        except RedisError:
            # the counter keeps the worst case (never too little); it is rebuilt if Redis lost it
            log.warning(
                "budget settle failed (Redis unreachable); the reservation stays counted", exc_info=True
            )
        return
    for counter in counters:
        BudgetSpend.objects.filter(budget_id=counter.budget.id, period=counter.period).update(
            micros=F("micros") + delta
        )


def spent_micros(counter: Counter) -> int:
    """The period's spend so far, reservations of calls in flight included."""
    client = _redis()
    if client is not None:
        try:
            value = client.get(counter.key)
        except RedisError:
            value = None  # Redis away: what the audit trail says
        return int(value) if value is not None else period_spent_from_calls(counter)
    row = BudgetSpend.objects.filter(budget_id=counter.budget.id, period=counter.period).first()
    return row.micros if row is not None else period_spent_from_calls(counter)


# --- what the routing service calls ---------------------------------------------------------------


def budget_reserve(
    budgets: Sequence[BudgetSpec], task_name: str | None, amount: Decimal
) -> Reservation | None:
    """Reserve ``amount`` (a call's worst case) on every cap the call counts toward; None when no
    budget applies. Raises :class:`BudgetRefused` (and reserves nothing) when one cap can't take it."""
    counters = counters_for(budgets, task_name)
    if not counters:
        return None
    micros = to_micros(amount)
    client = _redis()
    try:
        totals = (
            _reserve_redis(client, counters, micros)
            if client is not None
            else _reserve_database(counters, micros)
        )
    except RedisError:
        # the caps can't be checked: no remote call (the local tier answers) rather than an unchecked one
        log.warning("budget reservation failed (Redis unreachable): remote call refused", exc_info=True)
        raise BudgetRefused(counters[0], -1, reason="the budget ledger (Redis) is unreachable") from None
    except BudgetRefused as refused:
        _announce(refused.counter, refused.spent_micros, exceeded=True)
        raise
    for counter, total in zip(counters, totals, strict=True):
        if total * 100 >= counter.cap_micros * counter.budget.warn_at_percent:
            _announce(counter, total, exceeded=False)
    return Reservation(counters, micros)


def budget_settle(reservation: Reservation | None, actual: Decimal) -> None:
    """Replace the reservation by what the call really cost."""
    if reservation is not None:
        _adjust(reservation.counters, to_micros(actual) - reservation.micros)


def _announce(counter: Counter, spent: int, *, exceeded: bool) -> None:
    """``budget.warning`` or ``budget.exceeded``, once per budget and period: a log line, the
    webhooks subscribed to it, and the admin's banner (read from the budget row)."""
    event = "budget.exceeded" if exceeded else "budget.warning"
    # once per cap and period (a budget with a daily and a monthly cap has two), decided atomically
    if not cache.add(f"{KEY_PREFIX}-event:{counter.key}:{event}", 1, timeout=counter.ttl_seconds):
        return
    field = "exceeded_for" if exceeded else "warned_for"
    Budget.objects.filter(pk=counter.budget.id).update(**{field: counter.period})
    data = {
        "budget": str(counter.budget),
        "router": counter.budget.router_name,
        "task": counter.budget.task_name or None,
        "period": counter.period,
        "cap": str(Decimal(counter.cap_micros) / MICROS),
        "spent": str(Decimal(spent) / MICROS),
        "warn_at_percent": counter.budget.warn_at_percent,
    }
    log.warning("%s: %s %s $%s of $%s", event, data["budget"], counter.period, data["spent"], data["cap"])
    from triage.services.deliveries import deliveries_record_event

    transaction.on_commit(lambda: deliveries_record_event(event, data))


def budget_status(budget: Budget, now: datetime | None = None) -> list[dict[str, Any]]:
    """Spend against each cap of ``budget`` in its current period (the admin's bars, /metrics)."""
    spec = budget_spec(budget)
    out = []
    for counter in counters_for([spec], spec.task_name or None, now):
        spent = spent_micros(counter)
        out.append(
            {
                "period": counter.period,
                "kind": "daily" if counter.period.startswith("day") else "monthly",
                "cap": Decimal(counter.cap_micros) / MICROS,
                "spent": Decimal(spent) / MICROS,
                "percent": min(100, int(spent * 100 / counter.cap_micros)) if counter.cap_micros else 100,
            }
        )
    return out


def budget_spec(budget: Budget) -> BudgetSpec:
    return BudgetSpec(
        id=budget.pk,
        router_id=budget.router_id,
        router_name=budget.router.name,
        task_name=budget.task_name,
        daily_cap=budget.daily_cap,
        monthly_cap=budget.monthly_cap,
        warn_at_percent=budget.warn_at_percent,
        time_zone=budget.router.time_zone,
    )
