"""/api/docs in headless Chromium under the site's own Content-Security-Policy: Swagger UI from this
site's static files renders the operations (a CDN-hosted one was blocked: a blank page)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_an_agent_reads_the_api_docs_without_csp_violations(logged_in: Page, live_server: Any) -> None:
    page = logged_in
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    outside: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url),
    )
    # the page records CSP violations itself too (a blocked script may log nothing else)
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )

    page.goto(f"{live_server.url}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Support Triage API")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    paths = operations.all_inner_texts()
    assert any("/api/tickets" in path for path in paths), paths

    assert page.evaluate("window.__cspViolations") == []
    assert problems == []
    assert outside == []
