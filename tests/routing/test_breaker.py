"""Circuit breaker: opening, cooldown doubling, half-open trial, closing, and shared visibility."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache, caches
from django.db import connection

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer, rate_limited, server_error
from triage.models import LLMModel
from triage.routing import breaker, route
from triage.routing.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    breaker_describe,
    breaker_record_failure,
    breaker_record_success,
    breaker_state,
)
from triage.routing.config import snapshot_fresh

MESSAGES = [{"role": "user", "content": "Is the API down?"}]


# --- pure state machine ---------------------------------------------------------------------------
def fail(health, now, times=1, outcome="server_error"):
    for _ in range(times):
        health = breaker_record_failure(health, now, outcome=outcome)
    return health


def test_three_consecutive_failures_open_the_breaker():
    health = fail(None, 1000.0, times=2)
    assert breaker_state(health, 1000.0) == CLOSED
    health = fail(health, 1000.0)
    assert breaker_state(health, 1000.0) == OPEN
    assert health["open_until"] == 1010.0
    assert "3 consecutive failures" in health["reason"]


def test_failure_rate_over_half_in_last_minute_opens_the_breaker():
    health = None
    now = 1000.0
    for ok in (True, False, True, False, False):  # 3 of 5 failed, never 3 in a row
        health = breaker_record_success(health, now) if ok else fail(health, now)
        now += 5
    assert breaker_state(health, now) == OPEN
    assert "3 of 5 calls failed" in health["reason"]


def test_old_failures_leave_the_window():
    health = None
    for second in (0, 1):
        health = fail(health, 1000.0 + second)
    health = breaker_record_success(health, 1002.0)
    health = breaker_record_success(health, 1003.0)
    health = fail(health, 1200.0)  # minutes later: one failure out of one call, but under 5 calls
    assert breaker_state(health, 1200.0) == CLOSED


def test_cooldown_doubles_on_each_reopen_up_to_five_minutes():
    health = fail(None, 0.0, times=3)
    cooldowns = [health["open_until"] - 0.0]
    now = 0.0
    for _ in range(7):
        now = health["open_until"]  # half-open: the trial fails
        assert breaker_state(health, now) == HALF_OPEN
        health = fail(health, now)
        cooldowns.append(health["open_until"] - now)
    assert cooldowns[:6] == [10, 20, 40, 80, 160, 300]
    assert cooldowns[-1] == 300


def test_successful_trial_closes_and_resets_the_backoff():
    health = fail(None, 0.0, times=3)
    health = breaker_record_success(health, 11.0)
    assert breaker_state(health, 11.0) == CLOSED
    assert health["opens"] == 0
    health = fail(health, 12.0, times=3)
    assert health["open_until"] - 12.0 == 10


def test_retry_after_sets_the_cooldown():
    health = breaker_record_failure(None, 100.0, outcome="rate_limited", retry_after=7)
    assert breaker_state(health, 106.9) == OPEN
    assert breaker_state(health, 107.0) == HALF_OPEN
    assert "Retry-After 7s" in health["reason"]


def test_a_short_retry_after_does_not_cut_a_longer_cooldown():
    health = fail(None, 100.0, times=3)  # open for the base cooldown (10 s)
    health = breaker_record_failure(health, 101.0, outcome="rate_limited", retry_after=1)
    assert breaker_state(health, 105.0) == OPEN
    assert breaker_state(health, 110.0) == HALF_OPEN


def test_describe_says_state_reason_and_until_when():
    health = fail(None, 0.0, times=3)
    assert breaker_describe(health, 1.0).startswith("open until 00:00:10 UTC: 3 consecutive failures")
    assert breaker_describe(health, 11.0).startswith("half-open")
    assert breaker_describe(None, 0.0) == "closed"


# --- through the router ----------------------------------------------------------------------------
@pytest.fixture
def router(make_model, make_router):
    make_model("flaky")
    make_model("steady")
    return make_router(tasks={"t": TaskSpec(pool=["flaky", "steady"])})


def outcomes(result):
    return [(a.model, a.outcome) for a in result.attempts]


@pytest.mark.django_db
def test_open_circuit_is_skipped_without_a_call(router, stub_openai):
    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")
    assert stub_openai.request_count("flaky") == 3

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("flaky", "skipped_open_circuit"), ("steady", "ok")]
    assert "3 consecutive failures" in result.attempts[0].error
    assert stub_openai.request_count("flaky") == 3


@pytest.mark.django_db
def test_half_open_trial_success_closes_the_circuit(router, stub_openai, monkeypatch):
    monkeypatch.setattr(breaker, "BASE_COOLDOWN", 0.2)
    stub_openai.script("flaky", server_error(), server_error(), server_error(), answer("back"))
    for _ in range(3):
        route(router, MESSAGES, task="t")
    assert outcomes(route(router, MESSAGES, task="t"))[0] == ("flaky", "skipped_open_circuit")

    time.sleep(0.25)
    result = route(router, MESSAGES, task="t")  # the trial call

    assert outcomes(result) == [("flaky", "ok")]
    model_id = LLMModel.objects.get(slug="flaky").pk
    assert breaker_state(cache.get(breaker.health_key(model_id)), time.time()) == CLOSED
    assert route(router, MESSAGES, task="t").served_by == "flaky"


@pytest.mark.django_db
def test_half_open_trial_failure_reopens_with_doubled_cooldown(router, stub_openai, monkeypatch):
    monkeypatch.setattr(breaker, "BASE_COOLDOWN", 0.2)
    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")
    time.sleep(0.25)

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("flaky", "server_error"), ("steady", "ok")]
    health = cache.get(breaker.health_key(LLMModel.objects.get(slug="flaky").pk))
    assert health["opens"] == 2
    assert health["open_until"] - health["last_failure_at"] == pytest.approx(0.4)
    assert "trial call failed" in health["reason"]


@pytest.mark.django_db
def test_only_one_process_gets_the_half_open_trial(router, stub_openai, monkeypatch):
    monkeypatch.setattr(breaker, "BASE_COOLDOWN", 0.2)
    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")
    time.sleep(0.25)
    model_id = LLMModel.objects.get(slug="flaky").pk
    assert cache.add(breaker.trial_key(model_id), 1, timeout=5)  # another process holds the trial

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("flaky", "skipped_open_circuit"), ("steady", "ok")]
    assert "trial in flight" in result.attempts[0].error


@pytest.mark.django_db
def test_429_cools_the_model_down_for_its_retry_after(router, stub_openai):
    stub_openai.script("flaky", rate_limited(retry_after=30))

    first = route(router, MESSAGES, task="t")
    second = route(router, MESSAGES, task="t")

    assert outcomes(first) == [("flaky", "rate_limited"), ("steady", "ok")]
    assert outcomes(second) == [("flaky", "skipped_open_circuit"), ("steady", "ok")]
    health = cache.get(breaker.health_key(LLMModel.objects.get(slug="flaky").pk))
    assert health["open_until"] - health["last_failure_at"] == pytest.approx(30)


# --- cross-process: another Python process sees (and obeys) the breaker ---------------------------
def _database_url() -> str:
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{settings['NAME']}"


CHILD = """
import json, os, django
django.setup()
from triage.routing import route
result = route("test-router", [{"role": "user", "content": "hi"}], task="t")
print(json.dumps([[a.model, a.outcome, a.error] for a in result.attempts]))
"""


@pytest.mark.django_db(transaction=True)
def test_breaker_state_is_shared_with_another_process(router, stub_openai):
    # the third failure asks for 300 s: the breaker stays open however long the child takes to start
    # (with the 10 s base cooldown, a loaded machine's child once found it half-open)
    stub_openai.script("flaky", server_error(), server_error(), rate_limited(300))
    for _ in range(3):
        route(router, MESSAGES, task="t")
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "triage_site.settings"}

    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )

    assert child.returncode == 0, child.stderr[-2000:]
    attempts = json.loads(child.stdout.strip().splitlines()[-1])
    assert [a[:2] for a in attempts] == [["flaky", "skipped_open_circuit"], ["steady", "ok"]]
    assert stub_openai.request_count("flaky") == 3


def test_successes_of_a_healthy_model_need_no_write():
    assert breaker.breaker_success_changes(None, 0.0) is False
    healthy = breaker_record_success(None, 0.0)
    assert breaker.breaker_success_changes(healthy, 1.0) is False
    assert breaker.breaker_success_changes(fail(None, 0.0), 1.0) is True
    assert breaker.breaker_success_changes(fail(None, 0.0), 500.0) is True  # consecutive failure pending
    recovered = breaker_record_success(fail(None, 0.0), 1.0)
    assert breaker.breaker_success_changes(recovered, 2.0) is True  # the failure is still in the window
    assert breaker.breaker_success_changes(recovered, 200.0) is False


@pytest.mark.django_db
def test_admin_model_list_shows_breaker_state_reason_and_until(router, stub_openai, client):
    from django.contrib.auth.models import User

    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-123456789"))

    page = client.get("/admin/triage/llmmodel/").content.decode()

    assert "circuit breaker" in page.lower()
    assert "open until" in page and "3 consecutive failures (last: server_error)" in page


# --- a request planned before another one opened the breaker ----------------------------------------
def _open_meanwhile(monkeypatch, model_id):
    """Make the next provider call first open ``model_id``'s breaker, as a concurrent request would."""
    from triage.routing.adapters import ADAPTERS

    adapter = ADAPTERS["openai"]
    real_complete = adapter.complete

    def call_after_another_request_opened_it(model, request, **kwargs):
        if model.id == model_id:
            cache.set(breaker.health_key(model_id), fail(None, time.time(), times=3), timeout=60)
        return real_complete(model, request, **kwargs)

    monkeypatch.setattr(adapter, "complete", call_after_another_request_opened_it)


@pytest.mark.django_db
def test_a_stale_failure_does_not_close_a_breaker_opened_meanwhile(router, stub_openai, monkeypatch):
    # Regression: the failure was recorded on the health the request read before its call (closed),
    # and that record overwrote the open one: concurrent callers kept closing a dead model's breaker.
    model_id = LLMModel.objects.get(slug="flaky").pk
    stub_openai.set_default("flaky", server_error())
    _open_meanwhile(monkeypatch, model_id)

    route(router, MESSAGES, task="t")

    health = cache.get(breaker.health_key(model_id))
    assert breaker_state(health, time.time()) == OPEN
    assert health["consecutive"] == 4


@pytest.mark.django_db
def test_a_late_success_does_not_close_a_breaker_opened_meanwhile(router, stub_openai, monkeypatch):
    # Regression: a call that started before the breaker opened and answered afterwards closed it;
    # only the half-open trial may close an open breaker.
    model_id = LLMModel.objects.get(slug="flaky").pk
    cache.set(breaker.health_key(model_id), fail(None, time.time()), timeout=60)  # one recent failure
    _open_meanwhile(monkeypatch, model_id)

    result = route(router, MESSAGES, task="t")

    assert result.served_by == "flaky"
    assert breaker_state(cache.get(breaker.health_key(model_id)), time.time()) == OPEN


@pytest.mark.django_db
def test_an_open_breaker_outlives_a_redis_restart_that_lost_it(router, stub_openai):
    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")
    cache.clear()  # Redis restarted without persistence: every breaker record is gone

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("flaky", "skipped_open_circuit"), ("steady", "ok")]
    assert stub_openai.request_count("flaky") == 3


def _redis_unreachable(monkeypatch):
    """django-redis with IGNORE_EXCEPTIONS (our settings) while Redis is away: reads come back
    empty, writes are dropped, ``add`` answers None (neither taken nor refused). The process keeps
    the routing configuration it loaded before (loaded here: a test's routers are new)."""
    snapshot_fresh()
    real = type(caches["default"])
    monkeypatch.setattr(real, "get_many", lambda self, keys, **kw: {})
    monkeypatch.setattr(real, "get", lambda self, key, default=None, **kw: default)
    monkeypatch.setattr(real, "set", lambda self, *a, **kw: None)
    monkeypatch.setattr(real, "add", lambda self, *a, **kw: None)
    monkeypatch.setattr(real, "delete", lambda self, *a, **kw: None)


@pytest.mark.django_db
def test_the_breaker_still_opens_while_redis_is_unreachable(router, stub_openai, monkeypatch):
    _redis_unreachable(monkeypatch)
    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("flaky", "skipped_open_circuit"), ("steady", "ok")]
    assert stub_openai.request_count("flaky") == 3


@pytest.mark.django_db
def test_a_model_back_while_redis_is_unreachable_gets_its_trial_and_serves_again(
    router, stub_openai, monkeypatch
):
    monkeypatch.setattr(breaker, "BASE_COOLDOWN", 0.2)
    _redis_unreachable(monkeypatch)
    stub_openai.script("flaky", server_error(), server_error(), server_error(), answer("back"))
    for _ in range(3):
        route(router, MESSAGES, task="t")
    time.sleep(0.25)

    trial = route(router, MESSAGES, task="t")

    assert outcomes(trial) == [("flaky", "ok")]
    assert route(router, MESSAGES, task="t").served_by == "flaky"


@pytest.mark.django_db
def test_a_breaker_opened_while_redis_was_away_wins_over_the_older_record_redis_comes_back_with(
    router, stub_openai, monkeypatch
):
    stub_openai.set_default("flaky", server_error())
    route(router, MESSAGES, task="t")  # one failure: a closed record in Redis
    model_id = LLMModel.objects.get(slug="flaky").pk
    stale = cache.get(breaker.health_key(model_id))
    with monkeypatch.context() as away:
        _redis_unreachable(away)
        for _ in range(2):
            route(router, MESSAGES, task="t")  # opens, in this process only
    assert cache.get(breaker.health_key(model_id)) == stale  # Redis came back with the old record

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("flaky", "skipped_open_circuit"), ("steady", "ok")]
    assert stub_openai.request_count("flaky") == 3
    # written back, so the admin, /metrics and other processes see the open breaker again
    assert breaker_state(cache.get(breaker.health_key(model_id)), time.time()) == breaker.OPEN


@pytest.mark.django_db
def test_an_open_breaker_lost_in_a_redis_restart_is_written_back_for_everyone(router, stub_openai):
    stub_openai.set_default("flaky", server_error())
    for _ in range(3):
        route(router, MESSAGES, task="t")
    model_id = LLMModel.objects.get(slug="flaky").pk
    cache.clear()

    route(router, MESSAGES, task="t")

    assert breaker_state(cache.get(breaker.health_key(model_id)), time.time()) == breaker.OPEN
