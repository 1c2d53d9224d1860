"""Helpdesk connectors (Zendesk, Freshdesk) against fake APIs on 127.0.0.1 written from the public docs:
write-back shapes and auth, tags an agent set surviving, 429 / down / refused / timeout reporting,
webhook authenticity, reading webhook payloads, the field mapping an admin edits — and the fakes
refusing malformed bodies, so a passing write-back means something."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx2
import pytest

from tests.support.fake_helpdesks import FakeFreshdesk, FakeZendesk
from triage.connectors.helpdesks import HELPDESKS, freshdesk, helpdesk, zendesk
from triage.connectors.helpdesks.base import (
    FieldMapping,
    HelpdeskRequest,
    HelpdeskResponse,
    PayloadInvalid,
    TriageOutcome,
    html_to_text,
    parse_retry_after,
    send_request,
)

ZD_EMAIL = "triage-bot@acme.test"
ZD_TOKEN = "zd-token-6f1c2e"
FD_KEY = "fd-key-93ab71"
ZD_CREDS = {"email": ZD_EMAIL, "api_token": ZD_TOKEN}
FD_CREDS = {"api_key": FD_KEY}


@pytest.fixture
def zd() -> Iterator[FakeZendesk]:
    fake = FakeZendesk(email=ZD_EMAIL, api_token=ZD_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def fd() -> Iterator[FakeFreshdesk]:
    fake = FakeFreshdesk(api_key=FD_KEY).start()
    yield fake
    fake.stop()


def outcome(ticket_id: str = "101", **overrides: Any) -> TriageOutcome:
    values: dict[str, Any] = {
        "external_id": ticket_id,
        "category": "billing",
        "urgency_score": 5,
        "escalated": True,
        "status": "triaged",
        "note": "Brief: customer double-charged.\nDraft reply: sorry!\nhttps://triage.test/t/9",
    }
    values.update(overrides)
    return TriageOutcome(**values)


def send_all(base_url: str, auth: str, requests: list[HelpdeskRequest], **kw: Any) -> list[HelpdeskResponse]:
    return [send_request(base_url=base_url, auth_header=auth, request=r, **kw) for r in requests]


def render(template: str, values: dict[str, str]) -> Any:
    """Render a webhook body template the way the helpdesk does: each placeholder replaced by its
    JSON-escaped value (they all sit inside JSON strings). Every placeholder must have a value."""
    used = set(re.findall(r"\{\{\s*([\w.]+)\s*\}\}", template))
    assert used <= set(values), f"template uses placeholders the test doesn't fill: {used - set(values)}"
    rendered = re.sub(r"\{\{\s*([\w.]+)\s*\}\}", lambda m: json.dumps(values[m.group(1)])[1:-1], template)
    return json.loads(rendered)


# --- registry ---------------------------------------------------------------------------------------


def test_registry_knows_both_helpdesks_and_lists_them_for_an_unknown_kind() -> None:
    assert sorted(HELPDESKS) == ["freshdesk", "zendesk"]
    assert HELPDESKS["zendesk"] is zendesk and HELPDESKS["freshdesk"] is freshdesk
    assert helpdesk("zendesk") is zendesk
    with pytest.raises(KeyError) as info:
        helpdesk("servicenow")
    assert "freshdesk" in str(info.value) and "zendesk" in str(info.value)


@pytest.mark.parametrize("module", [zendesk, freshdesk])
def test_every_helpdesk_module_exposes_the_registry_interface(module: Any) -> None:
    assert module.KIND in HELPDESKS
    assert isinstance(module.DEFAULT_MAPPING, FieldMapping)
    assert module.CREDENTIAL_FIELDS and all(isinstance(name, str) for name in module.CREDENTIAL_FIELDS)
    assert isinstance(module.WEBHOOK_BODY_TEMPLATE, str) and "{{ticket.id}}" in module.WEBHOOK_BODY_TEMPLATE
    for name in ("auth_header", "webhook_authentic", "incoming_ticket", "writeback_requests"):
        assert callable(getattr(module, name))
    assert set(module.DEFAULT_MAPPING.priority_by_urgency) == {1, 2, 3, 4, 5}


# --- auth headers -----------------------------------------------------------------------------------


def test_zendesk_auth_header_is_basic_email_token() -> None:
    header = zendesk.auth_header(ZD_CREDS)
    scheme, token = header.split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == f"{ZD_EMAIL}/token:{ZD_TOKEN}"


def test_freshdesk_auth_header_is_basic_key_x() -> None:
    scheme, token = freshdesk.auth_header(FD_CREDS).split(" ")
    assert scheme == "Basic" and base64.b64decode(token).decode() == f"{FD_KEY}:X"


@pytest.mark.parametrize(
    ("module", "credentials", "missing"),
    [
        (zendesk, {"email": ZD_EMAIL}, "api_token"),
        (zendesk, {"email": "", "api_token": ZD_TOKEN}, "email"),
        (freshdesk, {"api_key": "  "}, "api_key"),
    ],
)
def test_missing_credential_is_named_and_no_secret_leaks(
    module: Any, credentials: dict[str, str], missing: str
) -> None:
    with pytest.raises(ValueError) as info:
        module.auth_header(credentials)
    assert missing in str(info.value)
    assert ZD_TOKEN not in str(info.value)


# --- Zendesk write-back -----------------------------------------------------------------------------


def test_zendesk_writeback_lands_with_the_documented_shapes_and_keeps_the_agents_tags(
    zd: FakeZendesk,
) -> None:
    zd.add_ticket(101, tags=["vip", "from_chat"], priority="low")
    requests = zendesk.writeback_requests(outcome(), zendesk.DEFAULT_MAPPING)

    assert [(r.method, r.path) for r in requests] == [
        ("PUT", "/api/v2/tickets/101/tags.json"),
        ("PUT", "/api/v2/tickets/101.json"),
    ]
    assert requests[0].json == {"tags": ["triage_billing", "triage_escalated"]}
    assert requests[1].json == {
        "ticket": {"priority": "urgent", "comment": {"body": outcome().note, "public": False}}
    }

    responses = send_all(zd.base_url, zendesk.auth_header(ZD_CREDS), requests)
    assert all(r.ok and r.error == "" and r.status_code == 200 for r in responses), responses

    ticket = zd.ticket(101)
    assert ticket["tags"] == ["vip", "from_chat", "triage_billing", "triage_escalated"]
    assert ticket["priority"] == "urgent"
    assert ticket["comments"] == [{"body": outcome().note, "public": False}]
    for recorded in zd.requests:
        assert recorded.headers["Authorization"] == zendesk.auth_header(ZD_CREDS)
        assert recorded.headers["Content-Type"] == "application/json"
        assert recorded.headers["Accept"] == "application/json"
    assert [r.json for r in zd.requests] == [r.json for r in requests]


def test_zendesk_leaves_priority_alone_when_urgency_is_unknown(zd: FakeZendesk) -> None:
    zd.add_ticket(7, priority="high")
    requests = zendesk.writeback_requests(
        outcome("7", category="", urgency_score=None, escalated=False, status="needs_attention"),
        zendesk.DEFAULT_MAPPING,
    )
    assert requests[0].json == {"tags": ["triage_needs_attention"]}
    assert "priority" not in requests[1].json["ticket"]
    assert all(r.ok for r in send_all(zd.base_url, zendesk.auth_header(ZD_CREDS), requests))
    assert zd.ticket(7)["priority"] == "high"


def test_zendesk_mapping_picks_tags_and_priorities(zd: FakeZendesk) -> None:
    mapping = FieldMapping.from_json(
        {"category_tags": {"billing": "money"}, "priority_by_urgency": {"5": "high"}, "escalated_tag": "hot"},
        default=zendesk.DEFAULT_MAPPING,
    )
    requests = zendesk.writeback_requests(outcome(), mapping)
    assert requests[0].json == {"tags": ["money", "hot"]}
    assert requests[1].json["ticket"]["priority"] == "high"


def test_writeback_refuses_an_id_that_is_not_a_ticket_number() -> None:
    for module in (zendesk, freshdesk):
        with pytest.raises(ValueError, match="external_id"):
            module.writeback_requests(outcome("1/../../users/me"), module.DEFAULT_MAPPING)
        with pytest.raises(ValueError, match="urgency_score"):
            module.writeback_requests(outcome(urgency_score=9), module.DEFAULT_MAPPING)


# --- Freshdesk write-back ---------------------------------------------------------------------------


def test_freshdesk_writeback_lands_with_priority_number_tags_and_an_escaped_private_note(
    fd: FakeFreshdesk,
) -> None:
    fd.add_ticket(55, tags=["refund"])
    note = 'Brief: <script>alert("x")</script> & co\nDraft reply: hi'
    requests = freshdesk.writeback_requests(
        outcome("55", urgency_score=4, escalated=False, note=note),
        freshdesk.DEFAULT_MAPPING,
        existing_tags=["refund"],
    )
    assert [(r.method, r.path) for r in requests] == [
        ("PUT", "/api/v2/tickets/55"),
        ("POST", "/api/v2/tickets/55/notes"),
    ]
    assert requests[0].json == {"priority": 3, "tags": ["refund", "triage_billing"]}
    assert requests[1].json == {
        "body": "Brief: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co<br>Draft reply: hi",
        "private": True,
    }

    responses = send_all(fd.base_url, freshdesk.auth_header(FD_CREDS), requests)
    assert [r.status_code for r in responses] == [200, 201] and all(r.ok for r in responses)
    ticket = fd.ticket(55)
    assert ticket["priority"] == 3 and ticket["tags"] == ["refund", "triage_billing"]
    assert ticket["comments"][0]["private"] is True and "<script>" not in ticket["comments"][0]["body"]
    assert all(r.headers["Authorization"] == freshdesk.auth_header(FD_CREDS) for r in fd.requests)


def test_freshdesk_tags_replace_the_list_so_existing_tags_must_be_passed(fd: FakeFreshdesk) -> None:
    fd.add_ticket(56, tags=["refund"])
    requests = freshdesk.writeback_requests(outcome("56", note=""), freshdesk.DEFAULT_MAPPING)
    assert len(requests) == 1  # no note, no notes request
    assert all(r.ok for r in send_all(fd.base_url, freshdesk.auth_header(FD_CREDS), requests))
    assert fd.ticket(56)["tags"] == ["triage_billing", "triage_escalated"]  # the documented limitation


# --- failures: rate limit, down, refused, timeout, auth ----------------------------------------------


def test_a_429_reports_retry_after_seconds(zd: FakeZendesk) -> None:
    zd.add_ticket(101)
    zd.rate_limit_every(2, retry_after=7)
    first, second = send_all(
        zd.base_url,
        zendesk.auth_header(ZD_CREDS),
        zendesk.writeback_requests(outcome(), zendesk.DEFAULT_MAPPING),
    )
    assert first.ok and first.retry_after_seconds is None
    assert second.status_code == 429 and not second.ok
    assert second.retry_after_seconds == 7.0
    assert second.error.startswith("HTTP 429")
    assert zd.ticket(101)["comments"] == []  # the rate-limited request changed nothing


def test_a_429_with_an_http_date_retry_after(fd: FakeFreshdesk) -> None:
    fd.add_ticket(1)
    later = format_datetime(datetime.fromtimestamp(time.time() + 120, tz=UTC), usegmt=True)
    fd.rate_limit_every(1, retry_after=later)
    (response,) = send_all(
        fd.base_url,
        freshdesk.auth_header(FD_CREDS),
        [HelpdeskRequest("PUT", "/api/v2/tickets/1", {"priority": 1})],
    )
    assert response.status_code == 429
    assert response.retry_after_seconds is not None and 0 < response.retry_after_seconds <= 120


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_helpdesk_that_drops_connections_gives_no_status_and_an_error(zd: FakeZendesk) -> None:
    zd.add_ticket(101)
    zd.go_down()
    responses = send_all(
        zd.base_url,
        zendesk.auth_header(ZD_CREDS),
        zendesk.writeback_requests(outcome(), zendesk.DEFAULT_MAPPING),
    )
    assert all(r.status_code is None and not r.ok and r.error for r in responses)
    assert [r.status for r in zd.requests] == [None, None]
    zd.come_back()
    responses = send_all(
        zd.base_url,
        zendesk.auth_header(ZD_CREDS),
        zendesk.writeback_requests(outcome(), zendesk.DEFAULT_MAPPING),
    )
    assert all(r.ok for r in responses)


def test_a_helpdesk_answering_503_reports_it_with_retry_after(fd: FakeFreshdesk) -> None:
    fd.add_ticket(1)
    fd.go_down("503", retry_after=30)
    (response,) = send_all(
        fd.base_url,
        freshdesk.auth_header(FD_CREDS),
        [HelpdeskRequest("PUT", "/api/v2/tickets/1", {"priority": 2})],
    )
    assert response.status_code == 503 and response.retry_after_seconds == 30.0 and not response.ok
    fd.go_down("503")
    (response,) = send_all(
        fd.base_url,
        freshdesk.auth_header(FD_CREDS),
        [HelpdeskRequest("PUT", "/api/v2/tickets/1", {"priority": 2})],
    )
    assert response.status_code == 503 and response.retry_after_seconds is None
    fd.come_back()
    assert fd.ticket(1)["priority"] is None  # nothing applied while down


def test_connection_refused_gives_no_status() -> None:
    fake = FakeZendesk(email=ZD_EMAIL, api_token=ZD_TOKEN).start()
    base_url = fake.base_url
    fake.stop()
    (response,) = send_all(
        base_url, "Basic x", [HelpdeskRequest("PUT", "/api/v2/tickets/1.json", {"ticket": {}})]
    )
    assert response.status_code is None and response.error == "connection refused"


def test_a_slow_helpdesk_times_out(zd: FakeZendesk) -> None:
    zd.add_ticket(101)
    zd.delay(1.0)
    (response,) = send_all(
        zd.base_url,
        zendesk.auth_header(ZD_CREDS),
        [HelpdeskRequest("PUT", "/api/v2/tickets/101.json", {"ticket": {"priority": "low"}})],
        timeout=0.1,
    )
    assert response.status_code is None and response.error == "timeout"


def test_wrong_credentials_are_a_401_whose_error_carries_no_secret(zd: FakeZendesk) -> None:
    zd.add_ticket(101)
    bad = zendesk.auth_header({"email": ZD_EMAIL, "api_token": "not-the-token"})
    (response,) = send_all(
        zd.base_url, bad, [HelpdeskRequest("PUT", "/api/v2/tickets/101.json", {"ticket": {}})]
    )
    assert response.status_code == 401
    assert "Couldn't authenticate you" in response.error
    assert "not-the-token" not in response.error and bad.split()[1] not in response.error


def test_send_request_reuses_a_callers_client(fd: FakeFreshdesk) -> None:
    fd.add_ticket(3)
    with httpx2.Client() as client:
        responses = [
            send_request(
                base_url=fd.base_url + "/",
                auth_header=freshdesk.auth_header(FD_CREDS),
                request=HelpdeskRequest("PUT", "/api/v2/tickets/3", {"priority": p}),
                client=client,
            )
            for p in (1, 4)
        ]
    assert all(r.ok and r.latency_ms >= 0 for r in responses)
    assert fd.ticket(3)["priority"] == 4
    arrivals = [r.arrived for r in fd.requests]
    assert arrivals == sorted(arrivals)


# --- the fakes check shapes ------------------------------------------------------------------------


def test_fake_zendesk_refuses_malformed_bodies(zd: FakeZendesk) -> None:
    zd.add_ticket(101)
    auth = zendesk.auth_header(ZD_CREDS)
    cases: list[dict[str, Any]] = [
        {"ticket": {"comment": {"public": False}}},  # no body
        {"ticket": {"priority": "critical"}},
        {"ticket": {"additional_tags": ["x"]}},  # documented for Update Many only
        {"ticket": {"priority": "low"}, "extra": 1},
        {"ticket": {"tags": "a b"}},
    ]
    for body in cases:
        (response,) = send_all(zd.base_url, auth, [HelpdeskRequest("PUT", "/api/v2/tickets/101.json", body)])
        assert response.status_code == 422, body
        assert "RecordInvalid" in response.error
    (missing,) = send_all(
        zd.base_url, auth, [HelpdeskRequest("PUT", "/api/v2/tickets/999.json", {"ticket": {}})]
    )
    assert missing.status_code == 404 and "RecordNotFound" in missing.error
    raw = httpx2.put(
        zd.base_url + "/api/v2/tickets/101.json",
        content=b"{}",
        headers={"Authorization": auth, "Content-Type": "text/plain"},
    )
    assert raw.status_code == 400
    assert zd.ticket(101) == {"id": 101, "tags": [], "priority": None, "comments": []}


def test_fake_freshdesk_refuses_malformed_bodies(fd: FakeFreshdesk) -> None:
    fd.add_ticket(5)
    auth = freshdesk.auth_header(FD_CREDS)
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("PUT", "/api/v2/tickets/5", {"priority": 5}, "priority"),
        ("PUT", "/api/v2/tickets/5", {"priority": "high"}, "priority"),
        ("PUT", "/api/v2/tickets/5", {"tagz": ["x"]}, "tagz"),
        ("POST", "/api/v2/tickets/5/notes", {"body": "<p>hi</p>"}, "private"),
        ("POST", "/api/v2/tickets/5/notes", {"private": True}, "body"),
    ]
    for method, path, body, field in cases:
        (response,) = send_all(fd.base_url, auth, [HelpdeskRequest(method, path, body)])
        assert response.status_code == 400, body
        payload = json.loads(fd.requests[-1].raw or b"{}")
        assert payload == body
        assert "Validation failed" in response.error and field in response.error
    raw = httpx2.post(
        fd.base_url + "/api/v2/tickets/5/notes",
        content=b"x",
        headers={"Authorization": auth, "Content-Type": "text/html"},
    )
    assert raw.status_code == 415 and raw.json()["code"] == "invalid_content_type"
    (missing,) = send_all(fd.base_url, auth, [HelpdeskRequest("PUT", "/api/v2/tickets/404", {"priority": 1})])
    assert missing.status_code == 404
    assert fd.ticket(5) == {"id": 5, "tags": [], "priority": None, "comments": []}


# --- webhook authenticity ---------------------------------------------------------------------------

ZD_SECRET = "dGhpcy1pcy1hLXNpZ25pbmctc2VjcmV0"


def zendesk_headers(
    body: bytes, *, secret: str = ZD_SECRET, timestamp: str = "2026-03-01T12:00:00Z"
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


SIGNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()


def test_zendesk_signature_valid() -> None:
    body = b'{"ticket_id": "101", "subject": "Help"}'
    assert zendesk.webhook_authentic(
        secret=ZD_SECRET, headers=zendesk_headers(body), body=body, now=SIGNED_AT + 10
    )


def test_zendesk_signature_headers_are_case_insensitive() -> None:
    body = b"{}"
    headers = {k.lower(): v for k, v in zendesk_headers(body).items()}
    assert zendesk.webhook_authentic(secret=ZD_SECRET, headers=headers, body=body, now=SIGNED_AT)


def test_zendesk_signature_refuses_a_tampered_body() -> None:
    body = b'{"ticket_id": "101", "subject": "Help"}'
    headers = zendesk_headers(body)
    assert not zendesk.webhook_authentic(secret=ZD_SECRET, headers=headers, body=body + b" ", now=SIGNED_AT)


def test_zendesk_signature_refuses_the_wrong_secret_and_an_empty_one() -> None:
    body = b"{}"
    headers = zendesk_headers(body)
    assert not zendesk.webhook_authentic(secret="other-secret", headers=headers, body=body, now=SIGNED_AT)
    assert not zendesk.webhook_authentic(secret="", headers=headers, body=body, now=SIGNED_AT)


def test_zendesk_signature_refuses_a_stale_or_missing_timestamp() -> None:
    body = b"{}"
    headers = zendesk_headers(body)
    assert not zendesk.webhook_authentic(secret=ZD_SECRET, headers=headers, body=body, now=SIGNED_AT + 301)
    assert not zendesk.webhook_authentic(secret=ZD_SECRET, headers=headers, body=body, now=SIGNED_AT - 301)
    assert zendesk.webhook_authentic(
        secret=ZD_SECRET, headers=headers, body=body, now=SIGNED_AT + 3000, max_age_seconds=3600
    )
    epoch = zendesk_headers(body, timestamp=str(int(SIGNED_AT)))
    assert not zendesk.webhook_authentic(secret=ZD_SECRET, headers=epoch, body=body, now=SIGNED_AT + 600)
    no_timestamp = {"X-Zendesk-Webhook-Signature": headers["X-Zendesk-Webhook-Signature"]}
    assert not zendesk.webhook_authentic(secret=ZD_SECRET, headers=no_timestamp, body=body, now=SIGNED_AT)
    assert not zendesk.webhook_authentic(secret=ZD_SECRET, headers={}, body=body, now=SIGNED_AT)


def test_freshdesk_shared_secret_in_a_custom_header_or_bearer() -> None:
    secret = "fd-hook-secret-0c9e"
    assert freshdesk.webhook_authentic(secret=secret, headers={"X-Triage-Secret": secret}, body=b"{}")
    assert freshdesk.webhook_authentic(secret=secret, headers={"x-triage-secret": secret}, body=b"{}")
    assert freshdesk.webhook_authentic(
        secret=secret, headers={"Authorization": f"Bearer {secret}"}, body=b"{}"
    )
    assert not freshdesk.webhook_authentic(secret=secret, headers={"X-Triage-Secret": "guess"}, body=b"{}")
    assert not freshdesk.webhook_authentic(
        secret=secret, headers={"Authorization": f"Basic {secret}"}, body=b"{}"
    )
    assert not freshdesk.webhook_authentic(secret=secret, headers={}, body=b"{}")
    assert not freshdesk.webhook_authentic(secret="", headers={"X-Triage-Secret": ""}, body=b"{}")


# --- reading webhook payloads -----------------------------------------------------------------------


def test_zendesk_reads_what_its_trigger_template_renders() -> None:
    payload = render(
        zendesk.WEBHOOK_BODY_TEMPLATE,
        {
            "ticket.id": "4812",
            "ticket.title": 'Charged twice "again"',
            "ticket.description": "I was charged twice.\nPlease refund.",
            "ticket.requester.email": "ana@customer.test",
            "ticket.requester.name": "Ana Lima",
            "ticket.tags": "billing tier_enterprise vip",
        },
    )
    ticket = zendesk.incoming_ticket(payload)
    assert ticket.external_id == "4812"
    assert ticket.subject == 'Charged twice "again"'
    assert ticket.body == "I was charged twice.\nPlease refund."
    assert (ticket.requester_email, ticket.requester_name) == ("ana@customer.test", "Ana Lima")
    assert ticket.tags == ("billing", "tier_enterprise", "vip")
    assert ticket.customer_tier == "enterprise"
    assert zendesk.incoming_ticket(json.dumps(payload).encode()) == ticket  # raw bytes work too


def test_zendesk_reads_the_ticket_created_event() -> None:
    event = {
        "type": "zen:event-type:ticket.created",
        "account_id": 12514403,
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "time": "2026-03-01T12:00:00Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:5158",
        "detail": {
            "id": "5158",
            "subject": "Login broken",
            "description": "<p>Can't log in since <b>today</b>.</p>",
            "requester_id": "8447388090494",
            "priority": "LOW",
            "status": "OPEN",
            "tags": ["tier_pro", "web"],
            "via": {"channel": "web_service"},
        },
        "event": {"meta": {"sequence": {"id": "x", "position": 1}}},
    }
    ticket = zendesk.incoming_ticket(event)
    assert ticket.external_id == "5158" and ticket.subject == "Login broken"
    assert ticket.body == "Can't log in since today."
    assert ticket.requester_email == "" and ticket.customer_tier == "pro"
    with pytest.raises(PayloadInvalid, match="^type"):
        zendesk.incoming_ticket({**event, "type": "zen:event-type:ticket.comment_added"})


def test_freshdesk_reads_its_template_and_the_simple_content_type() -> None:
    payload = render(
        freshdesk.WEBHOOK_BODY_TEMPLATE,
        {
            "ticket.id": "77",
            "ticket.subject": "Export fails",
            "ticket.description": "<div>Export to CSV fails &amp; hangs<br>since v2</div><script>x</script>",
            "ticket.requester.email": "bo@customer.test",
            "ticket.requester.name": "Bo",
            "ticket.tags": "bug, tier_business",
        },
    )
    ticket = freshdesk.incoming_ticket(payload)
    assert ticket.external_id == "77" and ticket.subject == "Export fails"
    assert ticket.body == "Export to CSV fails & hangs\nsince v2"
    assert ticket.tags == ("bug", "tier_business") and ticket.customer_tier == "business"
    assert ticket.requester_email == "bo@customer.test"

    simple = {
        "freshdesk_webhook": {"ticket_id": 78, "ticket_subject": "Hi", "ticket_contact_email": "c@x.test"}
    }
    ticket = freshdesk.incoming_ticket(simple)
    assert (ticket.external_id, ticket.requester_email, ticket.customer_tier, ticket.tags) == (
        "78",
        "c@x.test",
        "free",
        (),
    )


def test_an_explicit_customer_tier_wins_and_a_bogus_one_is_ignored() -> None:
    base = {"ticket_id": "9", "subject": "s", "tags": "tier_pro"}
    assert zendesk.incoming_ticket({**base, "customer_tier": "Enterprise"}).customer_tier == "enterprise"
    assert (
        zendesk.incoming_ticket({**base, "customer_tier": "{{ticket.organization.x}}"}).customer_tier == "pro"
    )


@pytest.mark.parametrize(
    ("module", "payload", "field"),
    [
        (zendesk, {"subject": "no id"}, "ticket_id"),
        (zendesk, {"ticket_id": "12a", "subject": "s"}, "ticket_id"),
        (zendesk, {"ticket_id": "12", "subject": ["s"]}, "subject"),
        (zendesk, {"ticket_id": "12", "subject": "", "description": ""}, "description"),
        (zendesk, {"ticket_id": "12", "subject": "s", "tags": 5}, "tags"),
        (zendesk, {"type": "zen:event-type:ticket.created", "detail": {"subject": "s"}}, "detail.id"),
        (zendesk, [1, 2], "payload"),
        (zendesk, b"{not json", "payload"),
        (freshdesk, {"freshdesk_webhook": {"ticket_subject": "s"}}, "freshdesk_webhook.ticket_id"),
        (freshdesk, {"freshdesk_webhook": "x"}, "freshdesk_webhook"),
        (
            freshdesk,
            {"ticket_id": "1", "ticket_subject": "s", "ticket_requester_email": {"a": 1}},
            "ticket_requester_email",
        ),
    ],
)
def test_payload_invalid_names_the_field(module: Any, payload: Any, field: str) -> None:
    with pytest.raises(PayloadInvalid) as info:
        module.incoming_ticket(payload)
    assert str(info.value).startswith(field + ":"), str(info.value)


def test_html_to_text_is_plain_and_safe() -> None:
    markup = '<p>Hello&nbsp;<a href="javascript:x()">there</a></p><style>p{}</style>'
    markup += "<ul><li>one</li><li>two</li></ul>"
    assert html_to_text(markup) == "Hello there\n\n- one\n- two"
    assert html_to_text("a &lt;b&gt; c") == "a <b> c"


# --- field mapping ----------------------------------------------------------------------------------


def test_field_mapping_defaults() -> None:
    default = zendesk.DEFAULT_MAPPING
    assert FieldMapping.from_json(None, default=default) is default
    assert FieldMapping.from_json({}, default=default) == default
    mapping = FieldMapping.from_json({"priority_by_urgency": {"5": "high", 1: "normal"}}, default=default)
    assert mapping.priority_by_urgency == {1: "normal", 2: "normal", 3: "normal", 4: "high", 5: "high"}
    assert mapping.tag_prefix == "triage_" and mapping.escalated_tag == "triage_escalated"
    assert mapping.category_tag("Feature request") == "triage_feature_request"
    assert mapping.category_tag("") is None
    assert FieldMapping.from_json(mapping.to_json(), default=default) == mapping
    raw = FieldMapping(category_tags={}, priority_by_urgency={"3": "high"})  # type: ignore[dict-item]
    assert raw.priority_for(3) == "high" and raw.priority_for(None) is None and raw.priority_for(4) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"priority_by_urgency": {"5": "critical"}}, "unknown priority name 'critical'"),
        ({"priority_by_urgency": {"7": "low"}}, "outside 1..5"),
        ({"priority_by_urgency": {"0": "low"}}, "outside 1..5"),
        ({"priority_by_urgency": {"five": "low"}}, "not a whole number"),
        ({"priority_by_urgency": ["low"]}, "priority_by_urgency"),
        ({"category_tags": {"billing": "two words"}}, "category_tags['billing']"),
        ({"escalated_tag": ""}, "escalated_tag"),
        ({"tag_prefix": 3}, "tag_prefix"),
        ({"priority_by_urgncy": {}}, "unknown key(s) priority_by_urgncy"),
        ([], "expected a JSON object"),
    ],
)
def test_field_mapping_errors_are_clear(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        FieldMapping.from_json(data, default=zendesk.DEFAULT_MAPPING)
    assert message in str(info.value)


def test_freshdesk_mapping_uses_freshdesk_priority_names() -> None:
    with pytest.raises(ValueError, match="normal"):
        FieldMapping.from_json({"priority_by_urgency": {"2": "normal"}}, default=freshdesk.DEFAULT_MAPPING)
    mapping = FieldMapping.from_json(
        {"priority_by_urgency": {"2": "medium"}}, default=freshdesk.DEFAULT_MAPPING
    )
    assert freshdesk.writeback_requests(outcome(urgency_score=2, note=""), mapping)[0].json["priority"] == 2
