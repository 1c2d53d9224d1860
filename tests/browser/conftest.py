"""Browser fixtures: Debian's Chromium driven by pytest-playwright against pytest-django's live server.

Triage runs in-process: the Celery ``delay`` is replaced by a background thread that calls the real
pipeline (``triage_ticket``) on the live server's database, against the stub OpenAI server, so the
page fills in exactly as it does with a worker. Screenshots go to ``$TEST_ARTIFACTS_DIR``
(default ``<TRIAGE_DATA_DIR>/artifacts``); with ``UPDATE_SCREENSHOTS=1`` also to docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

from tests.pipeline.conftest import BRIEF_OK, CLASSIFY_OK, REPLY_OK, urgency_json
from tests.support.fixtures import (  # noqa: F401 - fixtures
    TaskSpec,
    make_model,
    make_router,
    stub_openai,
    stub_provider,
)
from tests.support.stub_openai import StubOpenAI, answer

# Playwright's sync API runs an event loop in this thread; the ORM calls in tests are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DOCS_SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1360, "height": 900}, "locale": "en-US"}


@pytest.fixture
def artifacts_dir() -> Path:
    default = (
        Path(settings.DATA_DIR) / "artifacts" if hasattr(settings, "DATA_DIR") else Path("var/artifacts")
    )
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR", default)) / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def save_screenshot(artifacts_dir: Path) -> Any:
    def save(page: Any, name: str) -> Path:
        target = artifacts_dir / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, DOCS_SCREENSHOTS / target.name)
        return target

    return save


@pytest.fixture
def agent(transactional_db: None) -> User:
    user = User.objects.create_user("dana", "dana@example.com", "dana-password-123")
    user.groups.add(Group.objects.get_or_create(name="agents")[0])
    return user


@pytest.fixture
def ui_router(transactional_db: None, make_model: Any, make_router: Any, stub_openai: StubOpenAI) -> Any:  # noqa: F811
    """A triage router on stub models named like a real catalog; the reply takes a moment."""
    prices = {
        "gpt-5-nano": ("0.05", "0.40"),
        "claude-haiku-4.5": ("1", "5"),
        "claude-sonnet-4.6": ("3", "15"),
        "llama-3.3-70b": ("0.65", "0.65"),
        "claude-opus-4.7": ("5", "25"),
    }
    for slug, (price_in, price_out) in prices.items():
        make_model(slug, input_price=price_in, output_price=price_out)
    stub_openai.set_default(
        "gpt-5-nano", answer(CLASSIFY_OK, prompt_tokens=182, completion_tokens=14, delay=0.4)
    )
    stub_openai.set_default(
        "claude-haiku-4.5", answer(urgency_json(2), prompt_tokens=205, completion_tokens=31)
    )
    stub_openai.set_default("llama-3.3-70b", answer(CLASSIFY_OK, prompt_tokens=182, completion_tokens=12))
    stub_openai.set_default(
        "claude-sonnet-4.6", answer(REPLY_OK, prompt_tokens=240, completion_tokens=58, delay=1.5)
    )
    stub_openai.set_default("claude-opus-4.7", answer(BRIEF_OK, prompt_tokens=260, completion_tokens=120))
    router = make_router(
        "triage-router",
        tasks={
            "classify_ticket": TaskSpec(pool=["gpt-5-nano"], policy="lowest_cost"),
            "urgency_detection": TaskSpec(pool=["claude-haiku-4.5"]),
            "draft_customer_reply": TaskSpec(pool=["claude-sonnet-4.6"]),
            "escalate_complex_issue": TaskSpec(pool=["claude-opus-4.7"]),
        },
        fallbacks=["llama-3.3-70b"],
    )
    from triage.routing import config_bump_version

    config_bump_version()
    assert Decimal(router.escalation_threshold) == 4
    router.stub = stub_openai  # tests script the stub through the router they were given
    return router


@pytest.fixture
def inline_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[threading.Thread]]:
    """``triage_ticket_task.delay(id)`` runs the real pipeline in a thread of this process."""
    from django.db import connection

    from triage.pipeline.tasks import triage_ticket_task
    from triage.pipeline.triage import triage_ticket

    threads: list[threading.Thread] = []

    def run(ticket_id: int) -> None:
        try:
            triage_ticket(ticket_id=ticket_id)
        finally:
            connection.close()

    def delay(ticket_id: int) -> None:
        thread = threading.Thread(target=run, args=(ticket_id,), daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(triage_ticket_task, "delay", delay)
    yield threads
    for thread in threads:
        thread.join(timeout=30)


@pytest.fixture
def logged_in(page: Any, live_server: Any, agent: User) -> Any:
    """A page logged in through the real login form."""
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "dana")
    page.fill("#id_password", "dana-password-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page
