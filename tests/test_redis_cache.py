"""Our Redis cache backend: Django's, with one redis-py client per connection pool."""

from __future__ import annotations

import os

import pytest

from triage_site.redis_cache import ReusedClientRedisCache

REDIS_URL = os.environ.get("REDIS_URL", "")


def test_every_operation_reuses_one_client():
    cache = ReusedClientRedisCache("redis://127.0.0.1:6379/15", {})
    client = cache._cache.get_client()

    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("some-key") is client


def test_replicas_each_keep_their_own_client():
    cache = ReusedClientRedisCache("redis://127.0.0.1:6379/15,redis://127.0.0.1:6380/15", {})

    writer = cache._cache.get_client(write=True)
    reader = cache._cache.get_client()

    assert writer is not reader
    assert cache._cache.get_client() is reader  # one replica: always the same reader
    assert writer.connection_pool.connection_kwargs["port"] == 6379
    assert reader.connection_pool.connection_kwargs["port"] == 6380


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL), as in CI")
def test_it_behaves_as_djangos_backend():
    cache = ReusedClientRedisCache(REDIS_URL, {"OPTIONS": {}})
    cache.set("test-reused-client", {"state": "open"}, 30)
    cache.set_many({"test-a": 1, "test-b": 2}, 30)

    assert cache.get("test-reused-client") == {"state": "open"}
    assert cache.get_many(["test-a", "test-b", "test-missing"]) == {"test-a": 1, "test-b": 2}
    assert cache.add("test-a", 3, 30) is False
    cache.delete_many(["test-reused-client", "test-a", "test-b"])
    assert cache.get("test-a") is None


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL), as in CI")
def test_incr_is_one_round_trip_and_keeps_djangos_behaviour():
    cache = ReusedClientRedisCache(REDIS_URL, {"OPTIONS": {}})
    cache.delete("test-counter")
    with pytest.raises(ValueError, match="not found"):
        cache.incr("test-counter")
    assert cache.get("test-counter") is None  # a missing key is not created by incr

    cache.set("test-counter", 1, 30)
    client = cache._cache.get_client(write=True)
    sent: list[tuple[object, ...]] = []
    real_execute = client.execute_command

    def counting(*args: object, **options: object) -> object:
        sent.append(args)
        return real_execute(*args, **options)

    client.execute_command = counting
    try:
        assert cache.incr("test-counter") == 2
        assert cache.incr("test-counter", 5) == 7
    finally:
        del client.execute_command
    assert len(sent) == 2  # one command per incr, not EXISTS + INCRBY
    assert cache.get("test-counter") == 7
    assert 0 < client.ttl(cache.make_and_validate_key("test-counter")) <= 30  # its expiry is kept
    client.script_flush()  # as after a Redis restart: the script is loaded again, the count goes on
    assert cache.incr("test-counter") == 8
    cache.delete("test-counter")
