"""Django's Redis cache backend, with one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache operation.
With redis-py 8 that constructor registers some 170 response callbacks, about 0.3 ms of Python per
``get``/``set``: more than the Redis round trip itself, and the router reads shared state on every
model call. A ``redis.Redis`` is safe to share between threads (each command borrows a connection
from the pool), so this client builds it once per pool and reuses it. Everything else (pools,
serializer, options, key handling) is Django's own. django-redis would also do this, but it brings a
different backend with its own options for a ten-line difference.

``incr`` is one round trip instead of Django's two (``EXISTS``, then ``INCRBY``): a three-line Lua
script does both on the server. That also closes Django's gap where a key expiring between the two
commands comes back as a counter with no expiry. The API rate limit counts every request with it.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

# INCRBY only a key that exists (Django's incr raises ValueError for a missing key)
INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return false
"""


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._incr_script: Any = None  # redis-py Script: the text and its SHA, usable with any client

    def incr(self, key: Any, delta: int) -> Any:
        client = self.get_client(key, write=True)
        if self._incr_script is None:
            self._incr_script = client.register_script(INCR_EXISTING)
        # EVALSHA; redis-py loads the script first when this server lacks it (new, or restarted)
        value = self._incr_script(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # Django's private attributes, which its type stubs don't declare
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pools = django_client._pools
            if index not in pools:
                pools[index] = django_client._pool_class.from_url(
                    django_client._servers[index], **django_client._pool_options
                )
            client = self._clients[index] = django_client._client(connection_pool=pools[index])
        return client


class ReusedClientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with :class:`ReusedClientRedisCacheClient`."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
