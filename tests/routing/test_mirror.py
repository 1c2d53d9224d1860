"""The per-process mirror of the shared routing state: no cache round trip per request, other
processes' changes seen within a few refresh intervals, this process's own at once."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer, server_error
from triage.models import LLMModel
from triage.routing import breaker, mirror, route

MESSAGES = [{"role": "user", "content": "Is the API down?"}]


@pytest.fixture
def mirrored(settings):
    """The mirror on, refreshing every 20 ms (production's default with Redis)."""
    settings.ROUTING_STATE_MIRROR_MS = 20
    yield
    current = mirror._current.peek()
    if current is not None:
        current.forget()
    mirror._current.reset()  # the next test builds its own (or none)


@pytest.fixture
def router(make_model, make_router):
    make_model("flaky")
    make_model("steady")
    return make_router(tasks={"t": TaskSpec(pool=["flaky", "steady"])})


def outcomes(result):
    return [(a.model, a.outcome) for a in result.attempts]


def _until(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _count_cache_reads(monkeypatch):
    """The cache reads of this thread (the requests'): Django's cache object is per thread, so the
    mirror's own refreshes, on its thread, are not counted."""
    reads = []
    real = cache.get_many

    def counting(keys, *args, **kwargs):
        reads.append(list(keys))
        return real(keys, *args, **kwargs)

    monkeypatch.setattr(cache, "get_many", counting)
    return reads


@pytest.mark.django_db(transaction=True)
def test_requests_read_the_mirror_not_the_cache(router, stub_openai, mirrored, monkeypatch):
    stub_openai.set_default("flaky", answer("ok"))
    reads = _count_cache_reads(monkeypatch)
    route(router, MESSAGES, task="t")  # the first request reads the cache and registers its keys
    assert reads
    assert _until(lambda: mirror._current.peek().read(reads[-1]) is not None)
    reads.clear()

    for _ in range(20):
        assert route(router, MESSAGES, task="t").served_by == "flaky"

    assert reads == []  # none of the 20 requests went to the cache for its state


@pytest.mark.django_db(transaction=True)
def test_a_breaker_opened_here_is_seen_by_the_next_request_at_once(router, stub_openai, mirrored):
    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("flaky", "skipped_open_circuit"), ("steady", "ok")]
    assert stub_openai.request_count("flaky") == 3


@pytest.mark.django_db(transaction=True)
def test_another_processs_breaker_change_is_seen_within_a_few_intervals(router, stub_openai, mirrored):
    stub_openai.set_default("flaky", answer("ok"))
    assert route(router, MESSAGES, task="t").served_by == "flaky"
    flaky = LLMModel.objects.get(slug="flaky")
    # what another process does: the breaker record goes straight to the shared cache
    opened = breaker.breaker_record_failure(None, time.time(), outcome="rate_limited", retry_after=60)
    cache.set(breaker.health_key(flaky.pk), opened, timeout=breaker.HEALTH_TTL)
    changed = time.monotonic()

    assert _until(lambda: route(router, MESSAGES, task="t").served_by == "steady")

    # within a handful of 20 ms refreshes (generous: the test machine may be busy)
    assert time.monotonic() - changed < 1.0


@pytest.mark.django_db(transaction=True)
def test_an_admin_edit_in_another_process_reaches_this_one(router, stub_openai, mirrored):
    from triage.models import PoolEntry
    from triage.routing.config import CONFIG_VERSION_KEY

    stub_openai.set_default("flaky", answer("ok"))
    stub_openai.set_default("steady", answer("ok"))
    assert route(router, MESSAGES, task="t").served_by == "flaky"
    # another process saves a new ranking and bumps the version in the shared cache only
    PoolEntry.objects.filter(model__slug="flaky").update(rank=9)
    cache.set(CONFIG_VERSION_KEY, "edited-elsewhere", timeout=None)

    assert _until(lambda: route(router, MESSAGES, task="t").served_by == "steady")


@pytest.mark.django_db(transaction=True)
def test_a_stale_mirror_is_not_trusted(router, stub_openai, mirrored, monkeypatch):
    stub_openai.set_default("flaky", answer("ok"))
    route(router, MESSAGES, task="t")
    assert _until(lambda: mirror._current.peek().read([]) is not None)
    monkeypatch.setattr(mirror._current.peek(), "refresh", lambda: None)  # the refresher stalls
    time.sleep(0.1)
    flaky = LLMModel.objects.get(slug="flaky")
    opened = breaker.breaker_record_failure(None, time.time(), outcome="rate_limited", retry_after=60)
    cache.set(breaker.health_key(flaky.pk), opened, timeout=breaker.HEALTH_TTL)

    # the mirror is older than two intervals: the request reads the cache and sees the breaker
    assert route(router, MESSAGES, task="t").served_by == "steady"


def test_the_mirror_stops_refreshing_when_idle_and_wakes_on_a_request(monkeypatch):
    monkeypatch.setattr(mirror, "IDLE_SECONDS", 0.1)
    refreshes = []
    state = mirror.StateMirror(0.01)
    monkeypatch.setattr(state, "refresh", lambda: refreshes.append(time.monotonic()))
    state.read(["k"])  # a request: wakes the thread
    assert _until(lambda: len(refreshes) >= 3)
    time.sleep(0.3)  # idle past IDLE_SECONDS
    settled = len(refreshes)
    time.sleep(0.2)
    assert len(refreshes) == settled

    state.read(["k"])

    assert _until(lambda: len(refreshes) > settled)


def test_a_local_write_is_not_undone_by_a_refresh_that_read_before_it(monkeypatch):
    state = mirror.StateMirror(60.0)  # never woken: refreshed by hand below
    state._keys.add("k")

    class CacheReadBeforeTheWrite:
        """The refresh reads "old"; this process writes "new" before the refresh stores it."""

        def get_many(self, keys):
            state.write({"k": "new"})
            return {"k": "old"}

    monkeypatch.setattr(mirror, "cache", CacheReadBeforeTheWrite())

    state.refresh()

    assert state.read(["k"]) == {"k": "new"}


def test_a_key_asked_for_while_a_refresh_reads_is_not_answered_as_absent(monkeypatch):
    """A worker starting with a backlog: its first request asked for the configuration version
    only; while the refresh for it reads the cache, requests ask for the breaker records too. That
    refresh never read them, so answering from it would say "no record": every breaker closed, and
    a restarted worker called a model whose breaker was open (seen in ``make soak``)."""
    import threading

    state = mirror.StateMirror(60.0)
    state._wake = threading.Event()  # the mirror's thread waits on the old event: refreshed by hand
    opened = breaker.breaker_record_failure(None, time.time(), outcome="rate_limited", retry_after=60)
    shared = {"version": "v1", "health:1": opened}

    class RequestArrivesDuringTheRead:
        def get_many(self, keys):
            assert state.read(["version", "health:1"]) is None  # that request reads the cache itself
            return {key: shared[key] for key in keys}

    assert state.read(["version"]) is None
    monkeypatch.setattr(mirror, "cache", RequestArrivesDuringTheRead())
    state.refresh()  # read "version" alone: "health:1" was asked for meanwhile

    assert state.read(["version"]) == {"version": "v1"}
    assert state.read(["version", "health:1"]) is None  # not {"version": "v1"}: the cache answers

    state.refresh()

    assert state.read(["version", "health:1"]) == shared


@pytest.mark.django_db
def test_a_wiped_shared_cache_gets_this_processs_breaker_records_back():
    """Redis restarted without persistence: open breakers must not all look healthy at once."""
    state = mirror.StateMirror(60.0)  # never woken: refreshed by hand below
    opened = breaker.breaker_record_failure(None, time.time(), outcome="rate_limited", retry_after=60)
    newer = breaker.breaker_record_failure(None, time.time(), outcome="server_error")
    state._keys.update([mirror.CONFIG_VERSION_KEY, "health:1", "health:2"])
    cache.set_many({mirror.CONFIG_VERSION_KEY: "v1", "health:1": opened, "health:2": opened})
    state.refresh()
    assert state.read(["health:1"]) == {"health:1": opened}

    cache.clear()  # the restart
    cache.set("health:2", newer)  # another process wrote this one after it

    state.refresh()

    assert cache.get("health:1") == opened  # put back
    assert cache.get("health:2") == newer  # never overwritten
    assert state.read(["health:1", "health:2"]) == {"health:1": opened, "health:2": newer}
