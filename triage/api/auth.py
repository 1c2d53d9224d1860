"""Bearer API keys with a per-key rate limit (fixed one-minute windows in the shared cache).

An active key is found by its indexed prefix and kept in the shared cache (Redis in production),
so a request costs one cache read instead of a database query; saving or deleting a key (revoking
it included) drops its entry, so a revocation applies to the next request in every process.
Unknown prefixes are not cached: random keys can't fill the cache.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from ninja.security import HttpBearer

from triage.api.errors import ApiError
from triage.models import ApiKey
from triage.models.apikeys import KEY_PREFIX

WINDOW_SECONDS = 60
KEY_CACHE_SECONDS = 300  # a key revoked behind the ORM's back (plain SQL) still works this long


def _cache_key(lookup: str) -> str:
    return f"apikey:{lookup}"


def api_key_forget(instance: ApiKey, **_: Any) -> None:
    cache.delete(_cache_key(instance.lookup))


def connect_signals() -> None:
    post_save.connect(api_key_forget, sender=ApiKey, dispatch_uid="apikey-forget-save")
    post_delete.connect(api_key_forget, sender=ApiKey, dispatch_uid="apikey-forget-delete")


def api_key_lookup(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key`` (compared in constant time), or None."""
    if not raw_key.startswith(KEY_PREFIX):
        return None
    lookup = raw_key[: len(KEY_PREFIX) + 8]
    key = cache.get(_cache_key(lookup))
    if key is None:
        key = ApiKey.objects.filter(lookup=lookup, revoked_at__isnull=True).first()
        if key is None:
            return None
        cache.set(_cache_key(lookup), key, timeout=KEY_CACHE_SECONDS)
    return key if key.matches(raw_key) else None


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
    if used is None:  # the shared cache is unreachable (logged): nothing to count with, so no limit
        return
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
