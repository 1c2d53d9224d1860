"""Rolling latency estimate per (task, model): an EWMA of recent successful calls.

Kept in the shared cache (``routing:latency:<task id>:<model id>``) so every process ranks
models on the same figures. Streams also keep an EWMA of the time to first token.
Pure functions; the service reads and writes the records with the rest of a request's state.
This module never calls a model.
"""

from __future__ import annotations

from typing import Any

ALPHA = 0.3  # weight of the newest sample
MIN_SAMPLES = 3  # below this, the policy keeps the admin's rank order
LATENCY_TTL = 24 * 3600

LatencyRecord = dict[str, Any]


def latency_key(task_id: int, model_id: int) -> str:
    return f"routing:latency:{task_id}:{model_id}"


def _ewma(previous: float | None, sample: float) -> float:
    return sample if previous is None else ALPHA * sample + (1 - ALPHA) * previous


def latency_record(
    record: LatencyRecord | None, *, total_ms: float, first_token_ms: float | None
) -> LatencyRecord:
    updated = dict(record or {"ms": None, "n": 0, "ttft_ms": None, "ttft_n": 0})
    updated["ms"] = _ewma(updated.get("ms"), total_ms)
    updated["n"] = int(updated.get("n", 0)) + 1
    if first_token_ms is not None:
        updated["ttft_ms"] = _ewma(updated.get("ttft_ms"), first_token_ms)
        updated["ttft_n"] = int(updated.get("ttft_n", 0)) + 1
    return updated


def latency_estimate(record: LatencyRecord | None, *, streaming: bool) -> float | None:
    """The estimate in ms, or None while the model has fewer than ``MIN_SAMPLES`` samples."""
    if not record:
        return None
    value, samples = (
        (record.get("ttft_ms"), record.get("ttft_n", 0))
        if streaming
        else (record.get("ms"), record.get("n", 0))
    )
    if value is None or int(samples) < MIN_SAMPLES:
        return None
    return float(value)
