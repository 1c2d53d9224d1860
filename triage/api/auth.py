"""Bearer API keys with scopes and a per-key rate limit (fixed one-minute windows in the shared
cache; keyless requests to the opened /triage are counted per client address the same way).

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
from triage.models.apikeys import KEY_PREFIX, SCOPE_TICKETS
from triage.ops.client_ip import client_ip
from triage.ops.counters import window_count

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


def rate_limit_count(bucket: str, limit: int, *, who: str) -> None:
    """Count one request against ``bucket`` (an API key, a client address...) in its current
    one-minute window; raise a 429 naming ``who`` when it is over ``limit``."""
    now = time.time()
    used = window_count(f"ratelimit:{bucket}", WINDOW_SECONDS, now=now)
    if used is None:  # the shared cache is unreachable (logged): nothing to count with, so no limit
        return
    if used > limit:
        retry_after = max(1, int((now // WINDOW_SECONDS + 1) * WINDOW_SECONDS - now) + 1)
        raise ApiError(
            429,
            f"Rate limit of {limit} requests per minute exceeded for {who}.",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(retry_after)},
        )


def rate_limit_check(key: ApiKey) -> None:
    """Count this request in the key's current window; raise a 429 when over its limit."""
    limit = key.rate_limit_per_minute or settings.TRIAGE_API_RATE_LIMIT
    rate_limit_count(f"key:{key.pk}", limit, who="this API key")


def rate_limit_check_address(request: HttpRequest, limit: int) -> None:
    """Count a keyless request against its client's address (``client_ip``: proxies honoured)."""
    rate_limit_count(f"ip:{client_ip(request) or 'unknown'}", limit, who="this client address")


def scope_check(key: ApiKey, scope: str) -> None:
    """403 in the error shape when the key may not call what needs ``scope``."""
    if not key.has_scope(scope):
        raise ApiError(
            403,
            f"This API key does not have the {scope!r} scope, which this request needs "
            f"(the key's scopes: {', '.join(key.scopes or []) or 'none'}).",
            code="insufficient_scope",
        )


class ApiKeyAuth(HttpBearer):
    """A bearer key that holds ``scope``: 401 without a valid key, 403 when it lacks the scope."""

    def __init__(self, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = api_key_lookup(token)
        if key is not None:
            rate_limit_check(key)
            if self.scope is not None:
                scope_check(key, self.scope)
        return key


class CompatAuth(ApiKeyAuth):
    """The article's client sends no key: ``TRIAGE_COMPAT_OPEN=1`` opens /triage without one,
    each client address limited to ``TRIAGE_COMPAT_OPEN_RATE_LIMIT`` requests a minute. Otherwise
    a key with the ``tickets`` scope."""

    def __init__(self) -> None:
        super().__init__(SCOPE_TICKETS)

    def __call__(self, request: HttpRequest) -> Any:
        if settings.TRIAGE_COMPAT_OPEN:
            rate_limit_check_address(request, settings.TRIAGE_COMPAT_OPEN_RATE_LIMIT)
            return "open"
        return super().__call__(request)
