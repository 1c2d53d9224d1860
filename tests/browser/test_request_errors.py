"""A form htmx sends that the server refuses says so on the page (static/js/errors.js)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from triage.models import Ticket

pytestmark = pytest.mark.browser


def test_a_refused_ticket_form_shows_why_and_keeps_what_was_typed(
    logged_in: Page, live_server: Any, ui_router: Any
) -> None:
    """A log pasted from a terminal carries colour codes: the input policy refuses the control
    character (422), which htmx doesn't swap in; the banner says why and the form keeps the text."""
    page = logged_in
    page.get_by_role("link", name="New ticket").first.click()
    page.fill("#id_subject", "Deploy fails")
    page.fill("#id_body", "\x1b[31mERROR\x1b[0m connection refused")
    banner = page.locator("#request-error")
    expect(banner).to_be_hidden()
    page.get_by_role("button", name="Submit ticket").click()
    expect(banner).to_be_visible()
    expect(banner).to_have_text("Not sent: body: holds a control character.")
    expect(page.locator("#id_subject")).to_have_value("Deploy fails")
    assert Ticket.objects.count() == 0
