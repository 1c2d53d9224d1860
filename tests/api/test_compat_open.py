"""TRIAGE_COMPAT_OPEN: /triage without a key, rate limited per client address."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import post_json

pytestmark = pytest.mark.django_db

BAD = {"subject": "", "body": ""}  # a 422 that costs no model call, counted all the same


def _post(client: Client, url: str = "/triage", **meta: str) -> Any:
    return client.post(url, data=BAD if url == "/triage" else [BAD], content_type="application/json", **meta)


def test_open_triage_is_rate_limited_per_client_address(client: Client, presets: None, settings: Any) -> None:
    settings.TRIAGE_COMPAT_OPEN = True
    settings.TRIAGE_COMPAT_OPEN_RATE_LIMIT = 2
    first = [_post(client, REMOTE_ADDR="198.51.100.1").status_code for _ in range(2)]
    assert first == [422, 422]
    limited = _post(client, "/triage/batch", REMOTE_ADDR="198.51.100.1")  # both endpoints share it
    assert limited.status_code == 429
    error = limited.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and "client address" in error["message"]
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert _post(client, REMOTE_ADDR="198.51.100.2").status_code == 422  # another address has its own


def test_open_triage_counts_the_client_behind_trusted_proxies(
    client: Client, presets: None, settings: Any
) -> None:
    settings.TRIAGE_COMPAT_OPEN = True
    settings.TRIAGE_COMPAT_OPEN_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    assert _post(client, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 422
    assert _post(client, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    # a forged left-hand entry doesn't make a new client; another real client is counted apart
    assert _post(client, **proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5").status_code == 429
    assert _post(client, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 422


def test_with_a_key_the_triage_contract_uses_the_keys_own_limit(
    api: Client, presets: None, settings: Any
) -> None:
    settings.TRIAGE_COMPAT_OPEN = False
    settings.TRIAGE_COMPAT_OPEN_RATE_LIMIT = 1
    assert [post_json(api, "/triage", BAD).status_code for _ in range(3)] == [422, 422, 422]
