"""API keys: required, hashed, revocable, rate limited."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from tests.api.conftest import post_json
from triage.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer trk_wrongwrongwrong", "Basic abc"])
def test_missing_or_wrong_key_is_a_401(client: Client, presets: None, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/tickets", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_keys_are_stored_hashed_and_shown_once(presets: None) -> None:
    out = StringIO()
    call_command("create_api_key", "helpdesk", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(name="helpdesk")
    assert raw.startswith("trk_") and raw not in (key.hashed_key, key.lookup)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/tickets").status_code == 200


def test_revoked_key_stops_working_at_once(api: Client, presets: None) -> None:
    assert api.get("/api/tickets").status_code == 200
    ApiKey.objects.get(name="tests").revoke()
    assert api.get("/api/tickets").status_code == 401


def test_per_key_rate_limit_answers_429_with_retry_after(presets: None) -> None:
    _, raw = ApiKey.issue(name="limited", rate_limit_per_minute=3)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    statuses = [client.get("/api/tickets").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/tickets")
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"


def test_triage_contract_needs_a_key_unless_opened(client: Client, presets: None) -> None:
    with override_settings(TRIAGE_COMPAT_OPEN=False):
        assert post_json(client, "/triage", {"subject": "", "body": ""}).status_code == 401
    with override_settings(TRIAGE_COMPAT_OPEN=True):
        assert post_json(client, "/triage", {"subject": "", "body": ""}).status_code == 422


def test_admin_issues_a_key_once_and_can_revoke_it(client: Client, staff_user: object, presets: None) -> None:
    client.force_login(staff_user)  # type: ignore[arg-type]
    response = client.post("/admin/triage/apikey/add/", {"name": "zendesk", "scopes": ["tickets"]})
    page = response.content.decode()
    raw = page.split('id="issued-api-key"')[1].split('value="')[1].split('"')[0]
    key = ApiKey.objects.get(name="zendesk")
    assert raw.startswith("trk_") and key.matches(raw) and raw not in key.hashed_key
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/tickets").status_code == 200
    client.post("/admin/triage/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]}, follow=True)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/tickets").status_code == 401


def test_a_known_key_is_read_from_the_shared_cache_and_a_wrong_secret_with_its_prefix_is_refused(
    api_key: str, presets: None, django_assert_num_queries: Any, settings: Any
) -> None:
    from triage.api.auth import api_key_lookup

    raw = api_key
    assert api_key_lookup(raw) is not None  # looked up once, then in the shared cache
    # on Redis no database query at all; on the embedded default the cache is a database table
    cached_reads = 0 if settings.CACHES["default"]["BACKEND"].startswith("django_redis") else 1
    with django_assert_num_queries(cached_reads):
        assert api_key_lookup(raw) is not None
    with django_assert_num_queries(cached_reads):
        assert api_key_lookup(raw[:-1] + ("x" if raw[-1] != "x" else "y")) is None  # same prefix, wrong key


def test_a_key_revoked_by_another_process_stops_working_here_at_once(api: Client, presets: None) -> None:

    assert api.get("/api/tickets").status_code == 200  # now in the shared cache
    # another process revokes it (the admin's action saves the row): its cache entry goes with it
    ApiKey.objects.get(name="tests").revoke()

    assert api.get("/api/tickets").status_code == 401


def test_an_unreachable_shared_cache_neither_locks_out_nor_breaks_a_valid_key(
    api: Client, presets: None, settings: Any
) -> None:
    from tests.routing.test_route_basics import UNREACHABLE_REDIS

    settings.CACHES = UNREACHABLE_REDIS  # Redis restarting: no counting, so no limit (logged)
    assert api.get("/api/tickets").status_code == 200
    assert Client(HTTP_AUTHORIZATION="Bearer trk_notakey").get("/api/tickets").status_code == 401
