"""A per-process mirror of the routing state kept in the shared cache, refreshed in the background.

Every routed request needs the configuration version and the breaker and latency records of its
router's models. Reading them from Redis costs one round trip per request; on an idle machine, where
both processes sleep between requests, that round trip takes 0.5-1.5 ms of wake-up time, more than
the rest of the routing decision. So one daemon thread per process re-reads the keys that requests
used recently every ``ROUTING_STATE_MIRROR_MS`` milliseconds (one ``get_many``), and requests read
the mirror instead.

What that changes: another process's breaker, latency or configuration change is seen here at most
about two refresh intervals later (40 ms by default) instead of at once. Changes made by this
process are seen at once: writes go through the mirror (:func:`mirror_write`). A request falls back
to reading the cache itself when the mirror is off (``ROUTING_STATE_MIRROR_MS = 0``, the default
without Redis), not refreshed lately (the thread stops refreshing after ``IDLE_SECONDS`` without a
request, and a request wakes it), or doesn't hold every key the request needs (a router it hasn't
seen yet). Affinity pins are per conversation and always read from the cache.

When the shared cache loses its data (Redis restarted without persistence), the mirror notices the
configuration version is gone and puts back the breaker and latency records it last saw, unless
another process wrote them first: open breakers stay open instead of every model looking healthy.

Thread and timing come from the standard library: Redis keyspace notifications or pub/sub would
push changes instead, but need server configuration and a listening connection per process for a
state that changes a few times a minute.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from triage.once import PerProcess

logger = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # no request for this long: stop refreshing until the next one
RESEED_TTL = 3600  # restored records live as long as fresh ones (breaker.HEALTH_TTL)
CONFIG_VERSION_KEY = "routing:config-version"  # the routing configuration's version (config.py)


class StateMirror:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._keys: set[str] = set()  # what requests asked for: the next refresh reads them
        self._fetched: frozenset[str] = frozenset()  # what the last complete refresh read
        self._values: dict[str, Any] = {}
        self._written_at: dict[str, float] = {}  # local writes newer than a refresh win over it
        self._refreshed_at = float("-inf")  # monotonic start of the last complete refresh
        self._used_at = float("-inf")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="routing-state-mirror", daemon=True)
        self._thread.start()

    def read(self, keys: list[str]) -> dict[str, Any] | None:
        """The mirrored values of ``keys`` (absent keys left out), or None: read the cache instead.

        Only keys the last complete refresh read count as mirrored: a key asked for while a refresh
        was under way is not in what that refresh read, and leaving it out of the answer would say
        "no record" (for a breaker: closed, while it may be open).
        """
        now = time.monotonic()
        self._used_at = now
        if now - self._refreshed_at > 2 * self.interval or not self._fetched.issuperset(keys):
            with self._lock:
                self._keys.update(keys)
            self._wake.set()
            return None
        values = self._values
        return {key: values[key] for key in keys if key in values}

    def write(self, values: Mapping[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            for key, value in values.items():
                self._values[key] = value
                self._written_at[key] = now

    def forget(self) -> None:
        """Drop everything mirrored (tests clearing the shared cache)."""
        with self._lock:
            self._values = {}
            self._written_at = {}
            self._fetched = frozenset()
            self._refreshed_at = float("-inf")

    def refresh(self) -> None:
        with self._lock:
            keys = list(self._keys)
        started = time.monotonic()
        fetched = cache.get_many(keys) if keys else {}
        if self._values.get(CONFIG_VERSION_KEY) is not None and CONFIG_VERSION_KEY not in fetched:
            fetched = self._reseed(fetched)
        with self._lock:
            fresh = dict(fetched)
            for key, written in self._written_at.items():
                if written >= started and key in self._values:
                    fresh[key] = self._values[key]  # written here after this refresh read it
            self._values = fresh
            self._written_at = {k: t for k, t in self._written_at.items() if t >= started}
            self._fetched = frozenset(keys)
            self._refreshed_at = started

    def _reseed(self, fetched: dict[str, Any]) -> dict[str, Any]:
        """The shared cache lost its data (the version key never expires, and it is gone: a Redis
        restart without persistence, a flush). Put back the breaker and latency records this process
        last saw, where no other process has written since (``add`` never overwrites), so open
        breakers stay open instead of every model looking healthy at once."""
        values = dict(self._values)
        restored = 0
        for key, value in values.items():
            if key == CONFIG_VERSION_KEY or key in fetched:
                continue
            if cache.add(key, value, timeout=RESEED_TTL):
                restored += 1
        logger.warning("routing state mirror: shared cache was emptied; restored %d records", restored)
        merged = cache.get_many(list(self._keys))
        return merged

    def _run(self) -> None:
        while True:
            if time.monotonic() - self._used_at > IDLE_SECONDS:
                self._wake.wait()
            self._wake.clear()
            try:
                self.refresh()
            except Exception:  # Redis away: requests read the cache themselves until it is back
                logger.warning("routing state mirror: refresh failed", exc_info=True)
                time.sleep(min(1.0, 10 * self.interval))
                continue
            time.sleep(self.interval)


_current: PerProcess[StateMirror] = PerProcess()


def state_mirror() -> StateMirror | None:
    """This process's mirror, started on first use (and again in a forked child); None when off."""
    interval_ms = getattr(settings, "ROUTING_STATE_MIRROR_MS", 0)
    if interval_ms <= 0:
        return None
    return _current.get(lambda: StateMirror(interval_ms / 1000))


def mirror_read(keys: list[str]) -> dict[str, Any]:
    """The values of ``keys``: from the mirror when it holds them fresh, else one ``get_many``."""
    mirror = state_mirror()
    found = mirror.read(keys) if mirror is not None else None
    return found if found is not None else cache.get_many(keys)


def mirror_write(values: Mapping[str, Any], *, timeout: float | None) -> None:
    """``cache.set_many`` that this process's requests also see at once."""
    cache.set_many(dict(values), timeout=timeout)
    mirror = _current.peek()
    if mirror is not None:
        mirror.write(values)


# --- shared versions: "something changed, rebuild what you derived from it" -------------------------
def version_read(key: str, *, mirrored: bool = False) -> str:
    """The shared version at ``key`` (``mirrored``: through this process's mirror, no round trip in
    steady state), created when the cache has none (first start, or after a flush)."""
    version = mirror_read([key]).get(key) if mirrored else cache.get(key)
    if version is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    return str(version)


def version_bump(key: str) -> None:
    """A new version at ``key``, at once (this process, inside its transaction, sees its own edit)
    and again on commit (so a process that rebuilt in between from uncommitted data can't keep it)."""

    def bump() -> None:
        mirror_write({key: uuid.uuid4().hex}, timeout=None)

    bump()
    transaction.on_commit(bump)


def mirror_forget() -> None:
    """Forget the mirrored state of this process (after the shared cache was cleared)."""
    mirror = _current.peek()
    if mirror is not None:
        mirror.forget()
