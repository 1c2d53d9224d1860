"""Counting events in fixed time windows in the shared cache: the one counter behind the API rate
limits (per key, per client address) and the password-reset throttle."""

from __future__ import annotations

import time

from django.core.cache import cache


def window_count(bucket: str, window_seconds: int, *, now: float | None = None) -> int | None:
    """Count one more event for ``bucket`` in its current window and return the window's count;
    None when the shared cache is unreachable (django-redis logs it): callers then don't limit."""
    now = time.time() if now is None else now
    counter = f"window:{bucket}:{window_seconds}:{int(now // window_seconds)}"
    try:
        return cache.incr(counter)  # on Redis one round trip (django-redis runs it as a script)
    except ValueError:  # the window's first event (or another request is creating it)
        return 1 if cache.add(counter, 1, timeout=window_seconds * 2) else cache.incr(counter)
