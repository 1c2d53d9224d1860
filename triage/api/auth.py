"""Bearer API keys with a per-key rate limit (fixed one-minute windows in the shared cache).

A key is looked up by its indexed prefix on every request (one query), so a revoked key stops
working at once in every process.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import HttpBearer

from triage.api.errors import ApiError
from triage.models import ApiKey
from triage.models.apikeys import KEY_PREFIX

WINDOW_SECONDS = 60


def api_key_lookup(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key`` (compared in constant time), or None."""
    if not raw_key.startswith(KEY_PREFIX):
        return None
    key = ApiKey.objects.filter(lookup=raw_key[: len(KEY_PREFIX) + 8], revoked_at__isnull=True).first()
    if key is None or not key.matches(raw_key):
        return None
    return key


def rate_limit_check(key: ApiKey) -> None:
    """Count this request in the key's current window; raise a 429 when over its limit."""
    limit = key.rate_limit_per_minute or settings.TRIAGE_API_RATE_LIMIT
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    counter = f"ratelimit:{key.pk}:{window}"
    try:
        used = cache.incr(counter)  # on Redis one round trip (django-redis runs it as a script)
    except ValueError:  # the window's first request (or another request is creating it)
        used = 1 if cache.add(counter, 1, timeout=WINDOW_SECONDS * 2) else cache.incr(counter)
    if used > limit:
        retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
        raise ApiError(
            429,
            f"Rate limit of {limit} requests per minute exceeded for this API key.",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(retry_after)},
        )


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = api_key_lookup(token)
        if key is not None:
            rate_limit_check(key)
        return key


class CompatAuth(ApiKeyAuth):
    """The article's client sends no key: ``TRIAGE_COMPAT_OPEN=1`` opens /triage without one."""

    def __call__(self, request: HttpRequest) -> Any:
        if settings.TRIAGE_COMPAT_OPEN:
            return "open"
        return super().__call__(request)
