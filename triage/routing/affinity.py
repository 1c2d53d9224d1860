"""Model affinity: an affinity key (a chat session, a ticket) pinned to the model that served it.

A pin lives in the shared cache for the router's TTL (``routing:pin:<router id>:<key digest>``)
and holds the model id and the task it was matched to, so a pinned request skips selection
and classification. The key is hashed: user-supplied session ids never become cache keys as-is.
This module never calls a model.
"""

from __future__ import annotations

import hashlib
from typing import Any

Pin = dict[str, Any]


def pin_key(router_id: int, affinity_key: str) -> str:
    digest = hashlib.sha256(affinity_key.encode("utf-8")).hexdigest()[:32]
    return f"routing:pin:{router_id}:{digest}"


def request_pin_key(router_id: int, affinity_key: str, task: str | None) -> str:
    """The pin a request uses: one per affinity key and named task (none when classified)."""
    return pin_key(router_id, f"{affinity_key}\x00{task or ''}")


def pin_value(model_id: int, task_name: str | None) -> Pin:
    return {"model": model_id, "task": task_name}


def pin_model_id(pin: Pin | None) -> int | None:
    if not pin or not isinstance(pin, dict):
        return None
    value = pin.get("model")
    return int(value) if isinstance(value, int) else None
