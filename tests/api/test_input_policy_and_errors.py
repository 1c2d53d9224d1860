"""One input policy (no NUL or control characters, bounded nesting and size) and one JSON error shape
for programs under /api, /triage and /v1, whatever the error."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.api.conftest import post_json
from tests.support.stub_openai import StubOpenAI, delayed
from triage.models import Provider, Ticket

pytestmark = pytest.mark.django_db

GOOD = {"subject": "Login broken", "body": "I can't log in since this morning."}


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("post", "/api/tickets", {**GOOD, "body": "bad \u0000 byte"}),
        ("post", "/api/tickets", {**GOOD, "router": "triage\u0000router"}),
        ("post", "/triage", {**GOOD, "subject": "nul\u0000"}),
        ("post", "/triage/batch", [{**GOOD, "body": "escape \u001b[31m red"}]),
        (
            "post",
            "/v1/chat/completions",
            {"model": "router:x\u0000", "messages": [{"role": "user", "content": "hi"}]},
        ),
        ("get", "/api/routers/%00/stats", None),
        ("get", "/api/tickets?q=%00", None),
    ],
)
def test_nul_and_control_characters_are_a_422_in_the_error_shape_and_nothing_is_stored(
    api: Client, presets: None, method: str, url: str, payload: Any
) -> None:
    response = post_json(api, url, payload) if method == "post" else api.get(url)
    assert _error(response, 422)["code"] == "invalid_characters"
    assert Ticket.objects.count() == 0


def test_the_agent_pages_refuse_a_nul_in_a_filter(agent_user: Any, presets: None) -> None:
    client = Client()
    client.force_login(agent_user)
    response = client.get("/?q=%00")
    assert response.status_code == 422
    assert client.get("/?q=printer").status_code == 200
    # tabs and newlines are text, not control characters
    assert post_json(Client(), "/api/tickets", {**GOOD, "body": "line one\n\tline two"}).status_code == 401


def test_a_5_mb_body_is_a_413_in_the_error_shape(api: Client, presets: None) -> None:
    body = json.dumps({**GOOD, "body": "x" * 5_000_000})
    for url in ("/api/tickets", "/triage", "/v1/chat/completions"):
        response = api.post(url, data=body, content_type="application/json")
        assert _error(response, 413)["code"] == "request_too_large"


@pytest.mark.parametrize("url", ["/api/tickets", "/triage", "/v1/chat/completions"])
def test_deep_nesting_is_a_400_in_the_error_shape(api: Client, presets: None, url: str) -> None:
    response = api.post(url, data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert _error(response, 400)["code"] == "invalid_json"


def test_unknown_paths_and_wrong_methods_answer_in_the_error_shape(api: Client, presets: None) -> None:
    assert _error(api.get("/api/nothing-here"), 404)["type"] == "not_found_error"
    assert _error(api.get("/v1/nothing-here"), 404)
    assert _error(api.delete("/api/tickets"), 405)["code"] == "method_not_allowed"
    assert _error(api.get("/triage"), 405)
    assert _error(api.put("/v1/chat/completions"), 405)


def test_a_wrong_method_on_a_key_endpoint_is_a_405_even_with_csrf_checks(api_key: str, presets: None) -> None:
    """A program holding a key gets 405 with Allow, never the CSRF middleware's 403 (Django's test
    client skips CSRF checks unless asked to enforce them, as a real server does)."""
    strict = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {api_key}")
    for method, url in (("post", "/v1/models"), ("delete", "/v1/models"), ("put", "/v1/chat/completions")):
        response = getattr(strict, method)(url)
        assert _error(response, 405)["code"] == "method_not_allowed", (method, url)
        assert response["Allow"]


@override_settings(DEBUG=True)
def test_an_unexpected_error_is_a_json_500_without_a_traceback_even_in_debug(
    api: Client, presets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("triage.api.tickets.ticket_submit_idempotent", broken)
    monkeypatch.setattr("triage.api.tickets.ticket_submit", broken)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=api.defaults["HTTP_AUTHORIZATION"])
    response = post_json(client, "/api/tickets", GOOD)
    error = _error(response, 500)
    assert error["code"] == "internal_error" and "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


# --- /triage's deadline ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_triage_answers_504_past_its_deadline_and_the_ticket_still_finishes(
    api: Client, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    stub_openai.set_default("stub-urgency", delayed(1.5, json.dumps({"score": 2, "sentiment": "calm"})))
    with override_settings(TRIAGE_SYNC_DEADLINE_SECONDS=0.3):
        response = post_json(api, "/triage", GOOD)
    error = _error(response, 504)
    assert error["code"] == "triage_timeout" and "keep being triaged" in error["message"]
    ticket = Ticket.objects.get()
    deadline = time.monotonic() + 30
    while ticket.status in (Ticket.Status.QUEUED, Ticket.Status.TRIAGING):
        assert time.monotonic() < deadline
        time.sleep(0.1)
        ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TRIAGED


# --- provider key variables ----------------------------------------------------------------------
def test_a_provider_may_only_name_an_allowed_key_variable(staff_user: Any, presets: None) -> None:
    admin = Client()
    admin.force_login(staff_user)
    form = {
        "name": "Exfiltrate",
        "kind": "openai",
        "base_url": "https://attacker.example/v1",
        "api_key_env": "DATABASE_URL",
        "timeout_seconds": "30",
        "enabled": "on",
    }
    response = admin.post("/admin/triage/provider/add/", form)
    assert response.status_code == 200
    assert "not an allowed key variable" in response.content.decode()
    assert not Provider.objects.filter(name="Exfiltrate").exists()
    form["api_key_env"] = "OPENAI_API_KEY"
    assert admin.post("/admin/triage/provider/add/", form).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_provider_row_naming_another_variable_is_never_sent_its_value(
    make_model: Any,
    make_router: Any,
    stub_openai: StubOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    test_local_model: Any,
) -> None:
    from tests.support.fixtures import TaskSpec
    from triage.routing import route

    monkeypatch.setenv("SECRET_KEY_OF_THE_SERVER", "do-not-send-me")
    rogue = Provider.objects.create(
        name="Rogue", base_url=stub_openai.base_url, api_key_env="SECRET_KEY_OF_THE_SERVER"
    )  # written behind the admin's back (the form refuses it)
    make_model("stub-rogue", provider=rogue)
    router = make_router("rogue", tasks={"t": TaskSpec(pool=["stub-rogue"])}, fallbacks=["local/test-echo"])
    result = route(router, [{"role": "user", "content": "hi"}], task="t")
    assert result.attempts[0].outcome == "skipped_unconfigured"
    assert "not an allowed key variable" in result.attempts[0].error
    assert stub_openai.request_count("stub-rogue") == 0
    assert not rogue.key_is_set()


def test_a_permission_error_or_missing_object_raised_by_a_view_keeps_its_status(
    api: Client, presets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    for exception, status in ((PermissionDenied("no"), 403), (Http404("gone"), 404)):

        def raising(*_: Any, exception: Exception = exception, **__: Any) -> None:
            raise exception

        monkeypatch.setattr("triage.api.tickets.ticket_submit_idempotent", raising)
        monkeypatch.setattr("triage.api.tickets.ticket_submit", raising)
        _error(post_json(api, "/api/tickets", GOOD), status)


def test_the_policy_reads_a_programs_body_whatever_its_declared_type(api: Client, presets: None) -> None:
    body = '\n {"subject": "Hi", "body": "a\\u0000b"}'
    response = api.post("/api/tickets", data=body, content_type="text/plain")
    assert _error(response, 422)["code"] == "invalid_characters"
    lone = json.dumps({**GOOD, "body": "x"}).replace('"x"', '"\\udc80"')
    assert _error(post_json_raw(api, "/api/tickets", lone), 422)["code"] == "invalid_characters"
    assert Ticket.objects.count() == 0


def test_a_multipart_form_field_with_a_nul_is_refused(agent_user: Any, presets: None) -> None:
    client = Client()
    client.force_login(agent_user)
    response = client.post("/tickets/new/", {"subject": "a\x00b", "body": "text"})  # multipart by default
    assert response.status_code == 422
    assert Ticket.objects.count() == 0


def test_a_page_refused_for_a_control_character_says_what_to_do(agent_user: Any, presets: None) -> None:
    """Without JavaScript: a page naming the field and the way back (the form keeps what was typed);
    from htmx: the short text its error banner shows (static/js/errors.js)."""
    client = Client()
    client.force_login(agent_user)
    log = {"subject": "Terminal log", "body": "\x1b[31mERROR\x1b[0m connection refused"}
    page = client.post("/tickets/new/", log)
    html = page.content.decode()
    assert page.status_code == 422 and page["Content-Type"].startswith("text/html")
    assert "body: holds a control character." in html and "Back button" in html
    fragment = client.post("/tickets/new/", log, headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and fragment["Content-Type"].startswith("text/plain")
    assert fragment.content.decode() == "body: holds a control character."


def post_json_raw(client: Client, url: str, text: str) -> Any:
    return client.post(url, data=text, content_type="application/json")
