"""The client's address behind TRUSTED_PROXY_COUNT proxies: one helper for lockouts, per-address
rate limits and the /metrics loopback check."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from triage.ops.client_ip import client_ip


def _request(remote: str = "10.0.0.2", forwarded: str | None = None) -> Any:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, None, "10.0.0.2"),
        (0, "203.0.113.5", "10.0.0.2"),  # no proxies trusted: the header is anyone's to forge
        (1, None, "10.0.0.2"),  # no header: the peer itself
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the client's own entries on the left are ignored
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.2"),  # fewer entries than proxies: REMOTE_ADDR
        (1, "  2001:db8::7 ", "2001:db8::7"),
        (1, "6.6.6.6, not-an-address", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_client_ip_takes_the_nth_address_from_the_right(
    settings: Any, count: int, forwarded: str | None, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(forwarded=forwarded)) == expected


@pytest.mark.django_db
def test_metrics_behind_a_proxy_on_loopback_is_not_loopback_for_remote_clients(
    client: Client, settings: Any
) -> None:
    """A reverse proxy on the same host connects from 127.0.0.1 for everyone: with it trusted, a
    remote client's request is refused, while a local scrape (no forwarding) still answers."""
    settings.METRICS_TOKEN = ""
    settings.TRUSTED_PROXY_COUNT = 1
    remote = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert remote.status_code == 403
    forged = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.5")
    assert forged.status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    # anyone reaching the server directly can send the header: the connection itself must be local
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    settings.TRUSTED_PROXY_COUNT = 0  # no proxy trusted: a forged header changes nothing
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


def _fail_login(client: Client, forwarded: str) -> int:
    response = client.post(
        "/accounts/login/",
        {"username": "agent", "password": "wrong"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return int(response.status_code)


@pytest.mark.django_db
def test_login_lockout_counts_per_client_behind_the_proxy(
    client: Client, agent_user: User, settings: Any
) -> None:
    """Behind one proxy every request comes from the proxy's address: lockouts must count the
    client's, or one attacker would lock every user out for everyone (and spread tries freely)."""
    settings.TRUSTED_PROXY_COUNT = 1
    statuses = [_fail_login(client, "203.0.113.5") for _ in range(5)]
    assert statuses[-1] == 429
    # another client through the same proxy is not locked out by the first one's failures
    assert _fail_login(client, "198.51.100.7") == 200


@pytest.mark.django_db
def test_login_lockout_ignores_a_forged_forwarded_header_without_trusted_proxies(
    client: Client, agent_user: User, settings: Any
) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    statuses = [_fail_login(client, f"203.0.113.{n}") for n in range(5)]
    assert statuses[-1] == 429  # rotating X-Forwarded-For doesn't escape the lockout
