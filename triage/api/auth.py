"""Bearer API keys with a per-key rate limit (fixed one-minute windows in the shared cache).

Each process remembers the keys it has looked up, tagged with a version in the shared cache that
every save or delete of a key bumps (signals below), so a request costs no database query while
a revocation still takes effect in every process on its next request (within the routing state
mirror's refresh, about 40 ms, when the mirror is on).
"""

from __future__ import annotations

import threading
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
from triage.routing.mirror import version_bump, version_read

WINDOW_SECONDS = 60
KEYS_VERSION_KEY = "apikeys:version"
_KNOWN_MAX = 1024  # remembered keys per process; forgotten all at once past this

_known: dict[str, tuple[str, ApiKey]] = {}  # lookup prefix -> (keys version, active key)
_known_lock = threading.Lock()


def api_keys_bump_version(**_: Any) -> None:
    """Every process forgets the keys it remembers."""
    version_bump(KEYS_VERSION_KEY)


def connect_signals() -> None:
    post_save.connect(api_keys_bump_version, sender=ApiKey, dispatch_uid="apikeys-version-save")
    post_delete.connect(api_keys_bump_version, sender=ApiKey, dispatch_uid="apikeys-version-delete")


def api_key_lookup(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key`` (compared in constant time), or None."""
    if not raw_key.startswith(KEY_PREFIX):
        return None
    lookup = raw_key[: len(KEY_PREFIX) + 8]
    version = version_read(KEYS_VERSION_KEY, mirrored=True)
    known = _known.get(lookup)
    if known is not None and known[0] == version:
        key: ApiKey | None = known[1]
    else:
        key = ApiKey.objects.filter(lookup=lookup, revoked_at__isnull=True).first()
        if key is not None:
            with _known_lock:
                if len(_known) >= _KNOWN_MAX:
                    _known.clear()
                _known[lookup] = (version, key)
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
        used = cache.incr(counter)  # on Redis one round trip (triage_site/redis_cache.py)
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
