"""Hostile ticket text and model output render as text on every page and fragment."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.web.conftest import HOSTILE

pytestmark = pytest.mark.django_db

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
MODEL_HTML = '<b onmouseover="alert(2)">bold</b><iframe src="javascript:alert(3)"></iframe>'


def _assert_no_live_markup(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b onmouseover" not in html
    assert "<iframe" not in html


@pytest.fixture
def hostile_ticket(make_ticket: Any) -> Any:
    return make_ticket(
        subject=HOSTILE,
        body=f"Hello\n{HOSTILE}",
        account_id="<svg onload=alert(4)>",
        attention_reason=HOSTILE,
        status="needs_attention",
        steps={
            "draft_customer_reply": {"result": {"reply": MODEL_HTML}, "served_by": "<em>model</em>"},
            "escalate_complex_issue": {
                "result": {"summary": MODEL_HTML, "next_steps": [MODEL_HTML]},
                "served_by": "m",
                "attempts": [
                    {"model": "<i>x</i>", "outcome": "invalid_output", "latency_ms": 1, "error": MODEL_HTML},
                    {"model": "m", "outcome": "ok", "latency_ms": 1, "error": ""},
                ],
            },
        },
    )


def test_ticket_page_escapes_ticket_text_and_model_output(agent_client: Client, hostile_ticket: Any) -> None:
    html = agent_client.get(f"/tickets/{hostile_ticket.pk}/").content.decode()
    assert ESCAPED in html
    assert "&lt;svg onload=alert(4)&gt;" in html
    assert "&lt;b onmouseover=&quot;alert(2)&quot;&gt;bold&lt;/b&gt;" in html
    assert "&lt;em&gt;model&lt;/em&gt;" in html
    _assert_no_live_markup(html)


def test_live_fragment_escapes_too(agent_client: Client, hostile_ticket: Any) -> None:
    response = agent_client.get(
        f"/tickets/{hostile_ticket.pk}/", headers={"HX-Request": "true", "HX-Target": "ticket-live"}
    )
    _assert_no_live_markup(response.content.decode())


def test_queue_and_row_escape_the_subject(agent_client: Client, hostile_ticket: Any) -> None:
    html = agent_client.get("/").content.decode()
    assert ESCAPED in html
    _assert_no_live_markup(html)
    row = agent_client.get(f"/tickets/{hostile_ticket.pk}/row/", headers={"HX-Request": "true"})
    _assert_no_live_markup(row.content.decode())


def test_search_text_is_escaped_back_into_the_form(agent_client: Client, db: None) -> None:
    html = agent_client.get("/", {"q": '"><script>alert(5)</script>'}).content.decode()
    assert "<script>alert(5)" not in html
    assert "&quot;&gt;&lt;script&gt;alert(5)" in html


def test_approved_reply_and_corrections_are_escaped(agent_client: Client, hostile_ticket: Any) -> None:
    agent_client.post(f"/tickets/{hostile_ticket.pk}/reply/", {"text": MODEL_HTML})
    html = agent_client.get(f"/tickets/{hostile_ticket.pk}/").content.decode()
    _assert_no_live_markup(html)


def test_new_ticket_form_escapes_what_was_typed(agent_client: Client, presets: None) -> None:
    response = agent_client.post(
        "/tickets/new/",
        {"subject": "", "body": HOSTILE, "customer_tier": "free"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert ESCAPED in html
    _assert_no_live_markup(html)
