"""The ticket page in headless Chromium says why a step escalated and shows both billed answers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.stub_openai import StubOpenAI, answer
from triage.models import PoolEntry, RouterTask

pytestmark = pytest.mark.browser


def test_an_agent_sees_why_the_classification_escalated(
    logged_in: Page, live_server: Any, ui_router: Any, stub_openai: StubOpenAI, make_model: Any
) -> None:
    from triage.pipeline.triage import triage_ticket
    from triage.routing import config_bump_version
    from triage.services.tickets import ticket_submit

    strong = make_model("stub-strong-classify", input_price="3", output_price="15")
    task = RouterTask.objects.get(router=ui_router, name="classify_ticket")
    task.cascade_enabled, task.cascade_confidence_threshold = True, Decimal("0.6")
    task.save()
    PoolEntry.objects.filter(task=task).update(rank=1)
    PoolEntry.objects.create(task=task, model=strong, rank=2)
    config_bump_version()
    first = task.pool.order_by("rank").first()
    assert first is not None
    stub_openai.script(first.model.slug, answer(json.dumps({"category": "billing", "confidence": 0.35})))
    stub_openai.set_default(
        "stub-strong-classify", answer(json.dumps({"category": "billing", "confidence": 0.95}))
    )
    ticket = ticket_submit(
        router=ui_router, subject="Charged twice", body="I was charged twice for my subscription this month."
    )
    triage_ticket(ticket_id=ticket.pk)

    page = logged_in
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    card = page.locator("#step-classify_ticket")
    expect(card.locator(".escalated")).to_have_text("Escalated: low confidence 0.35")
    expect(card.locator(".answers li")).to_have_count(2)
    expect(card.locator(".answers li").nth(1)).to_contain_text("kept")
    expect(card.locator(".served code")).to_have_text("stub-strong-classify")
