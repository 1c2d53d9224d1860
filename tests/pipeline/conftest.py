"""Pipeline tests: the shared stub-server fixtures plus a triage router wired to stub models."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.fixtures import (  # noqa: F401 - fixtures
    TaskSpec,
    local_provider,
    make_model,
    make_router,
    stub_openai,
    stub_provider,
    test_local_model,
)
from tests.support.stub_openai import StubOpenAI, answer

CLASSIFY_OK = json.dumps({"category": "bug", "confidence": 0.9})
REPLY_OK = json.dumps({"reply": "Thanks for reporting the outage. Our engineers are investigating now."})
BRIEF_OK = json.dumps(
    {"summary": "Enterprise dashboard outage since 09:14 UTC.", "next_steps": ["check gateway"]}
)


def urgency_json(score: int, risk: bool = False) -> str:
    return json.dumps(
        {"score": score, "sentiment": "frustrated", "escalation_risk": risk, "reason": "outage"}
    )


@pytest.fixture
def stub_triage_router(make_model: Any, make_router: Any, stub_openai: StubOpenAI) -> Any:  # noqa: F811
    """A ``triage-router`` on stub models, one model per task (a cheap and a premium reply tier)."""
    for slug in ("stub-classify", "stub-urgency", "stub-reply-cheap", "stub-reply-premium", "stub-brief"):
        make_model(slug)
    stub_openai.set_default("stub-classify", answer(CLASSIFY_OK))
    stub_openai.set_default("stub-urgency", answer(urgency_json(5)))
    stub_openai.set_default("stub-reply-cheap", answer(REPLY_OK))
    stub_openai.set_default("stub-reply-premium", answer(REPLY_OK))
    stub_openai.set_default("stub-brief", answer(BRIEF_OK))
    router = make_router(
        "triage-router",
        tasks={
            "classify_ticket": TaskSpec(pool=["stub-classify"], policy="lowest_cost"),
            "urgency_detection": TaskSpec(pool=["stub-urgency"]),
            "draft_customer_reply": TaskSpec(pool=["stub-reply-premium", "stub-reply-cheap"]),
            "escalate_complex_issue": TaskSpec(pool=["stub-brief"]),
        },
    )
    from triage.models import PoolEntry

    PoolEntry.objects.filter(task__name="draft_customer_reply", model__slug="stub-reply-premium").update(
        min_urgency=4
    )
    PoolEntry.objects.filter(task__name="draft_customer_reply", model__slug="stub-reply-cheap").update(
        max_urgency=3
    )
    from triage.routing import config_bump_version

    config_bump_version()
    return router


@pytest.fixture
def live_worker(transactional_db: None, stub_provider: Any, tmp_path: Any) -> Any:  # noqa: F811
    """A real Celery worker subprocess on the test database; short leases so crash tests are quick."""
    from tests.pipeline.worker import LiveWorker
    from tests.support.fixtures import STUB_KEY_ENV
    from triage_site.celery import app

    app.control.purge()  # messages left by earlier tests name tickets that no longer exist
    worker = LiveWorker(
        concurrency=8,
        extra_env={STUB_KEY_ENV: "stub-secret-key"},
        log=tmp_path / "worker.log",
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
