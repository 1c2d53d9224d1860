"""End to end in headless Chromium: log in, submit, watch the steps fill in, correct, approve,
then the queue, analytics and the playground."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.pipeline.conftest import urgency_json
from tests.support.stub_openai import answer, rate_limited
from triage.models import ApprovedReply, Feedback, Ticket

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every alert() the page opens (there must be none: hostile text is never markup)."""
    opened: list[str] = []

    def record(dialog: Any) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def _submit_ticket(page: Page, live_server: Any, *, subject: str, body: str) -> int:
    page.get_by_role("link", name="New ticket").first.click()
    page.fill("#id_subject", subject)
    page.fill("#id_body", body)
    page.select_option("#id_customer_tier", "enterprise")
    page.fill("#id_account_id", "acct-1042")
    page.get_by_role("button", name="Submit ticket").click()
    page.wait_for_url(re.compile(r".*/tickets/\d+/$"))
    return int(page.url.rstrip("/").split("/")[-1])


def _more_tickets(router: Any, threads: list[Any]) -> None:
    """An urgent escalated ticket, a calm one and one served in a degraded way, triaged in turn."""
    from triage.services.tickets import ticket_submit

    stub = router.stub
    tickets = [
        (
            "Dashboard down for our whole company",
            "Nobody can log in since 9:14 UTC. 200 users blocked.",
            5,
            "bug",
        ),
        ("How do I change my invoice address?", "We moved offices last month.", 1, "billing"),
        ("Password reset email never arrives", "Tried three times today.", 3, "account"),
    ]
    for subject, body, score, category in tickets:
        stub.script("gpt-5-nano", answer(json.dumps({"category": category, "confidence": 0.93})))
        stub.script("claude-haiku-4.5", answer(urgency_json(score, score >= 4)))
        ticket_submit(subject=subject, body=body, router=router, customer_tier="business")
        for thread in list(threads):
            thread.join(timeout=30)


def test_agent_submits_watches_corrects_and_approves(
    logged_in: Page,
    live_server: Any,
    ui_router: Any,
    inline_worker: Any,
    dialogs: list[str],
    save_screenshot: Any,
) -> None:
    page = logged_in
    ui_stub = ui_router.stub
    ui_stub.script("gpt-5-nano", rate_limited(retry_after=1))  # classify fails over to the fallback
    ticket_id = _submit_ticket(
        page,
        live_server,
        subject="Export to CSV fails for every report",
        body=f"Since this morning every CSV export shows an error page.\n{HOSTILE}",
    )
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # the steps fill in without a reload: the slow reply says "working..." first
    expect(page.locator("#step-draft_customer_reply")).to_contain_text("working...")
    expect(page.locator("#step-classify_ticket code.model")).to_have_text("llama-3.3-70b", timeout=15_000)
    chain = page.locator("#step-classify_ticket .attempts")
    expect(chain).to_contain_text("gpt-5-nano — Rate limited (429)")
    expect(chain).to_contain_text("llama-3.3-70b — OK")
    expect(page.locator("#step-urgency_detection code.model")).to_have_text("claude-haiku-4.5")
    expect(page.locator("#step-draft_customer_reply code.model")).to_have_text(
        "claude-sonnet-4.6", timeout=15_000
    )
    expect(page.locator("#step-escalate_complex_issue")).to_contain_text(
        "Not escalated: urgency 2 < threshold 4"
    )
    expect(page.locator(".status-line")).to_contain_text("Triaged", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True

    # hostile text is shown as text and never runs
    expect(page.locator(".ticket-body")).to_contain_text(HOSTILE)
    assert page.locator(".ticket-body img").count() == 0
    assert dialogs == []

    # correct the category
    page.select_option("#correct-category", "billing")
    page.get_by_role("button", name="Save category").click()
    expect(page.locator(".notice")).to_have_text("Category corrected.")
    expect(page.locator("#ticket-category")).to_have_text("billing")
    correction = Feedback.objects.get(ticket_id=ticket_id, kind="correction")
    assert (correction.old_value, correction.new_value, correction.model_slug) == (
        "bug",
        "billing",
        "llama-3.3-70b",
    )

    # edit and approve the reply
    page.fill("#reply-text", "Thanks for telling us. Our engineers are fixing CSV exports today.")
    page.get_by_role("button", name="Approve reply").click()
    expect(page.locator(".notice")).to_have_text("Reply approved.")
    expect(page.locator("#approved-reply")).to_contain_text("fixing CSV exports today")
    approved = ApprovedReply.objects.get(ticket_id=ticket_id)
    assert approved.edited and approved.draft_model == "claude-sonnet-4.6"
    assert page.evaluate("window.__sameDocument") is True
    save_screenshot(page, "ticket")

    # the queue shows it with the models that served it, beside a few more tickets
    _more_tickets(ui_router, inline_worker)
    page.get_by_role("link", name="Queue").first.click()
    row = page.locator(f"#ticket-row-{ticket_id}")
    expect(row).to_contain_text("billing")
    expect(row).to_contain_text("llama-3.3-70b")
    expect(page.locator("#queue-results")).to_contain_text("5 · critical")
    save_screenshot(page, "queue")
    assert dialogs == []


def test_queue_rows_refresh_and_filters_live_in_the_url(
    logged_in: Page, live_server: Any, ui_router: Any, inline_worker: Any
) -> None:
    from triage.services.tickets import ticket_submit

    page = logged_in
    calm = ticket_submit(subject="Where is the dark mode toggle?", body="Just curious.", router=ui_router)
    page.reload()
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#ticket-row-{calm.pk}")
    expect(row).to_contain_text("Triaged", timeout=15_000)  # polled in, no reload
    expect(row).to_contain_text("claude-sonnet-4.6")
    assert page.evaluate("window.__sameDocument") is True

    page.select_option("#f-status", "failed")
    expect(page.locator("#queue-results")).to_contain_text("No tickets match.")
    assert "status=failed" in page.url
    page.select_option("#f-status", "")
    expect(row).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("#queue-results")).to_contain_text("No tickets match.")
    assert page.evaluate("window.__sameDocument") is True  # htmx history, not a reload


def test_analytics_and_playground(
    logged_in: Page, live_server: Any, ui_router: Any, inline_worker: list[Any], save_screenshot: Any
) -> None:
    from triage.services.tickets import ticket_submit

    page = logged_in
    ticket = ticket_submit(subject="Site is down", body="Nothing loads.", router=ui_router)
    for thread in inline_worker:
        thread.join(timeout=30)
    assert Ticket.objects.get(pk=ticket.pk).status == "triaged"

    page.get_by_role("link", name="Analytics").click()
    expect(page.locator("#a-tickets")).to_have_text("1")
    expect(page.locator("#savings")).to_contain_text("Router (actual)")
    expect(page.locator("#savings")).to_contain_text("Everything on claude-opus-4.7")
    expect(page.locator("canvas[data-source=mix-series]")).to_have_attribute("data-drawn", "1")
    page.get_by_label("24h").check()
    expect(page).to_have_url(re.compile(r"period=24h"))
    expect(page.locator("canvas[data-source=cost-series]")).to_have_attribute("data-drawn", "1")
    save_screenshot(page, "analytics")

    page.get_by_role("link", name="Playground").click()
    page.fill("#id_prompt", "I was charged twice for my subscription this month")
    page.fill("#id_task", "classify_ticket")
    page.get_by_label("claude-haiku-4.5").check()
    page.get_by_label("claude-opus-4.7").check()
    page.get_by_role("button", name="Run").click()
    columns = page.locator("#playground-results .column")
    expect(columns).to_have_count(3, timeout=15_000)
    expect(columns.nth(0)).to_contain_text("served by gpt-5-nano")
    expect(columns.nth(1)).to_contain_text("served by claude-haiku-4.5")
    expect(columns.nth(2)).to_contain_text("served by claude-opus-4.7")
    save_screenshot(page, "playground")


def test_keyboard_only_login_and_new_ticket_errors(
    page: Page, live_server: Any, agent: Any, ui_router: Any
) -> None:
    page.goto(f"{live_server.url}/tickets/new/")
    page.focus("#id_username")
    page.keyboard.type("dana")
    page.keyboard.press("Tab")
    page.keyboard.type("dana-password-123")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/tickets/new/$"))
    page.focus("#id_subject")
    page.keyboard.press("Enter")  # submit the empty form from the keyboard
    expect(page.locator("#subject-errors")).to_contain_text("This field cannot be blank.")
    expect(page.locator("#body-errors")).to_contain_text("This field cannot be blank.")
    assert Ticket.objects.count() == 0


def test_rerun_one_step_from_the_page(
    logged_in: Page, live_server: Any, ui_router: Any, inline_worker: Any
) -> None:
    from triage.models import TriageStep
    from triage.services.tickets import ticket_submit

    page = logged_in
    ticket = ticket_submit(subject="Refund please", body="Charged twice.", router=ui_router)
    for thread in list(inline_worker):
        thread.join(timeout=30)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.evaluate("window.__sameDocument = true")
    ui_router.stub.script(
        "gpt-5-nano", answer(json.dumps({"category": "billing", "confidence": 0.97}), delay=0.5)
    )
    page.locator("#step-classify_ticket").get_by_role("button", name="Re-run this step").click()
    expect(page.locator(".notice")).to_have_text("Re-running classify_ticket.")
    expect(page.locator("#step-classify_ticket .big")).to_have_text("billing", timeout=15_000)
    expect(page.locator(".status-line")).to_contain_text("Triaged", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True
    rows = TriageStep.objects.filter(ticket=ticket, task_name="classify_ticket")
    assert rows.count() == 2 and rows.get(is_current=True).result["category"] == "billing"


def test_pages_fit_a_phone_screen(
    logged_in: Page, live_server: Any, ui_router: Any, inline_worker: Any, save_screenshot: Any
) -> None:
    from triage.services.tickets import ticket_submit

    page = logged_in
    ticket = ticket_submit(subject="A very long subject " * 8, body="x" * 3000, router=ui_router)
    for thread in list(inline_worker):
        thread.join(timeout=30)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", f"/tickets/{ticket.pk}/", "/tickets/new/", "/analytics/", "/playground/"):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than the screen"
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    save_screenshot(page, "ticket-phone")
