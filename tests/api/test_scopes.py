"""API key scopes: tickets, routers, models. A key lacking the scope gets a 403 in the error shape."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from tests.api.conftest import post_json
from triage.models import ApiKey

pytestmark = pytest.mark.django_db

CHAT = {"messages": [{"role": "user", "content": "What are your support hours?"}]}


def _client(*scopes: str) -> Client:
    _, raw = ApiKey.issue(name="scoped", scopes=list(scopes))
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _refused(response: object, scope: str) -> None:
    assert response.status_code == 403, response.content  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["type"] == "permission_error" and error["code"] == "insufficient_scope"
    assert repr(scope) in error["message"]


def test_a_new_key_holds_the_tickets_scope_only_by_default() -> None:
    key, _ = ApiKey.issue(name="default")
    assert key.scopes == ["tickets"]
    assert ApiKey.issue(name="all", scopes=["models", "tickets", "routers"])[0].scopes == [
        "tickets",
        "routers",
        "models",
    ]
    with pytest.raises(ValueError, match="unknown scope admin"):
        ApiKey.issue(name="bad", scopes=["tickets", "admin"])


def test_a_tickets_only_key_is_refused_by_the_routers_api_and_v1(presets: None) -> None:
    tickets_only = _client("tickets")
    assert tickets_only.get("/api/tickets").status_code == 200
    _refused(tickets_only.get("/api/routers"), "routers")
    _refused(tickets_only.get("/api/routers/triage-router/stats"), "routers")
    _refused(
        post_json(tickets_only, "/v1/chat/completions", {**CHAT, "model": "router:triage-router"}), "routers"
    )
    _refused(
        post_json(tickets_only, "/v1/chat/completions", {**CHAT, "model": "openai-gpt-5-nano"}), "models"
    )
    _refused(
        post_json(tickets_only, "/v1/chat/completions", {**CHAT, "model": "model:openai-gpt-5-nano"}),
        "models",
    )
    refused = tickets_only.get("/v1/models")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"


def test_a_routers_key_is_refused_by_the_ticket_api_the_triage_contract_and_direct_models(
    presets: None,
) -> None:
    routers_only = _client("routers")
    assert routers_only.get("/api/routers").status_code == 200
    _refused(routers_only.get("/api/tickets"), "tickets")
    _refused(post_json(routers_only, "/api/tickets", {"subject": "s", "body": "b"}), "tickets")
    with override_settings(TRIAGE_COMPAT_OPEN=False):
        _refused(post_json(routers_only, "/triage", {"subject": "s", "body": "b"}), "tickets")
        _refused(post_json(routers_only, "/triage/batch", [{"subject": "s", "body": "b"}]), "tickets")
    # a refused scope says nothing about what exists: the same 403 for a model that doesn't
    _refused(post_json(routers_only, "/v1/chat/completions", {**CHAT, "model": "no-such-model"}), "models")
    listed = [m["id"] for m in routers_only.get("/v1/models").json()["data"]]
    assert "router:triage-router" in listed and "openai-gpt-5-nano" not in listed


def test_a_models_key_may_call_a_catalog_model_but_not_a_router(presets: None) -> None:
    models_only = _client("models")
    _refused(
        post_json(models_only, "/v1/chat/completions", {**CHAT, "model": "router:triage-router"}), "routers"
    )
    _refused(models_only.get("/api/routers"), "routers")
    listed = [m["id"] for m in models_only.get("/v1/models").json()["data"]]
    assert "openai-gpt-5-nano" in listed and not any(m.startswith("router:") for m in listed)
    # past the scope check: an unknown model is then a 404
    missing = post_json(models_only, "/v1/chat/completions", {**CHAT, "model": "model:no-such-model"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_create_api_key_takes_scopes_and_refuses_an_unknown_one(presets: None) -> None:
    out = StringIO()
    call_command("create_api_key", "ops", "--scopes", "routers,models", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ApiKey.objects.get(name="ops").scopes == ["routers", "models"]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/routers").status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/tickets").status_code == 403
    call_command("create_api_key", "helpdesk", stdout=StringIO())
    assert ApiKey.objects.get(name="helpdesk").scopes == ["tickets"]
    with pytest.raises(CommandError, match="unknown scope everything"):
        call_command("create_api_key", "bad", "--scopes", "tickets,everything", stdout=StringIO())
    assert not ApiKey.objects.filter(name="bad").exists()


def test_the_admin_issues_keys_with_tickets_by_default_and_lists_their_scopes(
    client: Client, staff_user: object
) -> None:
    client.force_login(staff_user)  # type: ignore[arg-type]
    form = client.get("/admin/triage/apikey/add/").content.decode()
    checked = re.findall(r'<input type="checkbox" name="scopes" value="(\w+)"[^>]*\bchecked\b', form)
    assert checked == ["tickets"]
    client.post("/admin/triage/apikey/add/", {"name": "router-client", "scopes": ["routers"]})
    assert ApiKey.objects.get(name="router-client").scopes == ["routers"]
    listing = client.get("/admin/triage/apikey/").content.decode()
    assert "router-client" in listing and ">routers<" in listing


def test_a_routers_key_cannot_reach_a_model_by_dressing_it_as_a_router(presets: None) -> None:
    """ "router:model:<slug>" once resolved to a direct model call under the routers scope."""
    from triage.models import ModelCall

    api = _client("routers")
    response = post_json(api, "/v1/chat/completions", {**CHAT, "model": "router:model:openai-gpt-5-nano"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    assert not ModelCall.objects.exists()
