"""Circuit breaker per model: closed, open for a cooldown, then half-open for one trial call.

A model's health is one small dict in the shared cache (``routing:health:<model id>``), so web
and worker processes agree on it. The functions here are pure (state in, state out, time passed
in); the service does the one ``get_many`` / ``set_many`` around them.

Rules:
- open after ``FAILURE_THRESHOLD`` consecutive failures, or when more than ``FAILURE_RATE`` of at
  least ``MIN_CALLS`` calls in the last ``WINDOW_SECONDS`` failed;
- the cooldown is ``BASE_COOLDOWN`` seconds, doubling on each re-open up to ``MAX_COOLDOWN``;
  a 429 with Retry-After opens it for exactly that long;
- when the cooldown ends the model is half-open: one process wins the trial lock
  (``cache.add``) and its call decides (success closes and resets, failure re-opens, doubled).

Successes of a model with no failure in the last minute are not written (see
``breaker_success_changes``). Concurrent updates from several processes are last-writer-wins:
counts are approximate under heavy concurrency, which is acceptable for a breaker.
Local in-process models never open.
This module never calls a model and never touches the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

FAILURE_THRESHOLD = 3
FAILURE_RATE = 0.5
MIN_CALLS = 5
WINDOW_SECONDS = 60
BUCKET_SECONDS = 10
BASE_COOLDOWN = 10.0
MAX_COOLDOWN = 300.0
RECENT_FAILURE_SECONDS = 60.0
HEALTH_TTL = 3600  # a model nobody called for an hour starts afresh

Health = dict[str, Any]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


def health_key(model_id: int) -> str:
    return f"routing:health:{model_id}"


def trial_key(model_id: int) -> str:
    return f"routing:trial:{model_id}"


def health_new() -> Health:
    return {
        "state": CLOSED,
        "consecutive": 0,
        "opens": 0,
        "open_until": 0.0,
        "reason": "",
        "buckets": [],  # [[bucket start, calls, failures], ...] over the last minute
        "last_failure_at": 0.0,
    }


def health_updated_at(health: Health) -> float:
    """When the record was last written (records from before the stamp: their last failure)."""
    return float(health.get("updated_at") or health.get("last_failure_at") or 0.0)


def breaker_state(health: Health | None, now: float) -> str:
    """closed, open (cooling down) or half_open (cooldown over: one trial call may go)."""
    if not health or health.get("state") != OPEN:
        return CLOSED
    return OPEN if now < float(health.get("open_until", 0.0)) else HALF_OPEN


def _window(health: Health, now: float) -> list[list[float]]:
    oldest = now - WINDOW_SECONDS
    return [b for b in health.get("buckets", []) if b[0] + BUCKET_SECONDS > oldest]


def _count(health: Health, now: float, *, failed: bool) -> list[list[float]]:
    buckets = _window(health, now)
    start = now - (now % BUCKET_SECONDS)
    if buckets and buckets[-1][0] == start:
        buckets[-1] = [start, buckets[-1][1] + 1, buckets[-1][2] + (1 if failed else 0)]
    else:
        buckets.append([start, 1, 1 if failed else 0])
    return buckets


def _cooldown(opens: int) -> float:
    return min(BASE_COOLDOWN * (2 ** max(opens - 1, 0)), MAX_COOLDOWN)


def breaker_success_changes(health: Health | None, now: float) -> bool:
    """Whether a success must be written: not while the model has no failure in the window.

    Successes of a healthy model are not written (one shared-cache write saved per call), so the
    failure-rate window counts from the first failure of the last minute on. That errs towards
    opening a little early for a model that starts failing half its calls, never towards late.
    """
    if not health:
        return False
    if health.get("state") == OPEN or int(health.get("consecutive", 0)):
        return True
    return any(int(bucket[2]) for bucket in _window(health, now))


def breaker_record_success(health: Health | None, now: float) -> Health:
    """A successful call: counts in the window, closes a half-open breaker and resets its backoff."""
    record = dict(health or health_new())
    was_open = record.get("state") == OPEN
    record["buckets"] = _count(record, now, failed=False)
    record["consecutive"] = 0
    record["updated_at"] = now
    if was_open:
        record.update(state=CLOSED, opens=0, open_until=0.0, reason="", buckets=[])
    return record


def breaker_record_failure(
    health: Health | None, now: float, *, outcome: str, retry_after: float | None = None
) -> Health:
    """A failed call: may open the breaker (or re-open it, doubled, after a failed trial)."""
    record = dict(health or health_new())
    state = breaker_state(record, now)
    record["buckets"] = _count(record, now, failed=True)
    record["consecutive"] = int(record.get("consecutive", 0)) + 1
    record["last_failure_at"] = now
    record["updated_at"] = now
    if retry_after is not None and retry_after > 0:
        cooldown = min(retry_after, MAX_COOLDOWN)
        if state == OPEN and float(record.get("open_until", 0.0)) > now + cooldown:
            return record  # already open for longer: a short Retry-After must not cut that cooldown
        return _open(record, now, cooldown, f"rate limited: Retry-After {retry_after:g}s")
    if state == HALF_OPEN:
        opens = int(record.get("opens", 0)) + 1
        record["opens"] = opens
        return _open(record, now, _cooldown(opens), f"trial call failed ({outcome})")
    calls = sum(int(b[1]) for b in record["buckets"])
    failures = sum(int(b[2]) for b in record["buckets"])
    reason = ""
    if record["consecutive"] >= FAILURE_THRESHOLD:
        reason = f"{record['consecutive']} consecutive failures (last: {outcome})"
    elif calls >= MIN_CALLS and failures / calls > FAILURE_RATE:
        reason = f"{failures} of {calls} calls failed in the last minute (last: {outcome})"
    if reason and state == CLOSED:
        opens = int(record.get("opens", 0)) + 1
        record["opens"] = opens
        return _open(record, now, _cooldown(opens), reason)
    return record


def _open(record: Health, now: float, cooldown: float, reason: str) -> Health:
    record.update(state=OPEN, open_until=now + cooldown, reason=reason)
    return record


def failed_recently(health: Health | None, now: float) -> bool:
    return bool(health) and now - float(health.get("last_failure_at", 0.0)) < RECENT_FAILURE_SECONDS  # type: ignore[union-attr]


def breaker_describe(health: Health | None, now: float) -> str:
    """One line for the admin: the state, why, and until when."""
    state = breaker_state(health, now)
    if state == CLOSED or health is None:
        failures = int((health or {}).get("consecutive", 0))
        return "closed" if not failures else f"closed ({failures} consecutive failure{'s' * (failures > 1)})"
    until = dt.datetime.fromtimestamp(float(health["open_until"]), tz=dt.UTC).strftime("%H:%M:%S UTC")
    if state == OPEN:
        return f"open until {until}: {health.get('reason', '')}"
    return f"half-open since {until} (next call is the trial): {health.get('reason', '')}"
