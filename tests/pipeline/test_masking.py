"""Masking through the real pipeline and the stub provider: what a remote model is sent, what agents
see, what stays local, and what the logs hold."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

from tests.support.stub_openai import StubOpenAI, answer
from triage.models import Provider, Router, Ticket
from triage.pipeline.triage import triage_ticket
from triage.routing import config_bump_version
from triage.services.tickets import ticket_submit

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "dana.smith@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"
SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
BODY = (
    f"Hi, invoice INV-20931 was charged twice to my card {CARD}. Please call me on {PHONE} or write to "
    f"{EMAIL}. Our integration key is {SECRET} if you need to check the API logs (error E-40421)."
)
VALUES = (EMAIL, PHONE, CARD, SECRET, "4111111111111111")


@pytest.fixture
def masked_router(stub_triage_router: Any, stub_openai: StubOpenAI) -> Router:
    from triage.models import LLMModel

    local = Provider.objects.create(name="Local", kind=Provider.Kind.LOCAL)
    for slug in (
        "local/ticket-classifier",
        "local/urgency-scorer",
        "local/reply-drafter",
        "local/brief-writer",
    ):
        LLMModel.objects.create(slug=slug, provider=local)
    reply = {
        "reply": "Sorry about the double charge. We will write to <EMAIL_1> and call EMAIL_1's owner today."
    }
    stub_openai.set_default("stub-reply-premium", answer(json.dumps(reply)))
    brief = {"summary": "Customer <EMAIL_1> was charged twice for INV-20931.", "next_steps": ["refund"]}
    stub_openai.set_default("stub-brief", answer(json.dumps(brief)))
    Router.objects.filter(pk=stub_triage_router.pk).update(masking="mask")
    config_bump_version()
    return Router.objects.get(pk=stub_triage_router.pk)


@pytest.fixture
def agent_client(client: Client, agent_user: Any) -> Client:
    client.force_login(agent_user)
    return client


def sent_text(stub: StubOpenAI) -> str:
    models = ("stub-classify", "stub-urgency", "stub-reply-cheap", "stub-reply-premium", "stub-brief")
    return json.dumps([r.body for m in models for r in stub.requests(m)])


def test_a_remote_model_sees_placeholders_and_agents_see_the_real_values(
    masked_router: Router, stub_openai: StubOpenAI, agent_client: Client
) -> None:
    ticket = ticket_submit(router=masked_router, subject=f"Double charge ({EMAIL})", body=BODY, enqueue=False)
    triage_ticket(ticket_id=ticket.pk)

    sent = sent_text(stub_openai)
    assert sent and "<EMAIL_1>" in sent and "<CARD_1>" in sent
    for value in VALUES:
        assert value not in sent
    assert "INV-20931" in sent and "E-40421" in sent  # what the models need survives
    steps = {s.task_name: s for s in Ticket.objects.get(pk=ticket.pk).steps.filter(is_current=True)}
    reply = steps["draft_customer_reply"].result["reply"]
    assert f"write to {EMAIL} and call {EMAIL}'s owner" in reply
    assert (
        steps["escalate_complex_issue"].result["summary"]
        == f"Customer {EMAIL} was charged twice for INV-20931."
    )
    attempt = steps["classify_ticket"].attempts[-1]
    assert attempt["masked"] >= 4
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Masked" in html and "items before sending" in html


def test_local_only_if_sensitive_never_calls_the_provider(
    masked_router: Router, stub_openai: StubOpenAI, agent_client: Client
) -> None:
    Router.objects.filter(pk=masked_router.pk).update(masking="local_only_if_sensitive")
    config_bump_version()
    ticket = ticket_submit(router=masked_router, subject="Double charge", body=BODY, enqueue=False)
    triage_ticket(ticket_id=ticket.pk)

    assert sent_text(stub_openai) == "[]"  # not one request reached the stub
    ticket.refresh_from_db()
    steps = list(ticket.steps.filter(is_current=True))
    assert all(s.served_by.startswith("local/") for s in steps if s.status == "done")
    assert any(a["outcome"] == "skipped_sensitive" for s in steps for a in s.attempts)
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Kept local: the ticket holds a card number, IBAN or secret." in html


def test_without_anything_sensitive_local_only_still_uses_the_remote_models(
    masked_router: Router, stub_openai: StubOpenAI
) -> None:
    Router.objects.filter(pk=masked_router.pk).update(masking="local_only_if_sensitive")
    config_bump_version()
    ticket = ticket_submit(
        router=masked_router,
        subject="Export fails",
        body=f"The CSV export fails with E-40421. Mail {EMAIL}.",
        enqueue=False,
    )
    triage_ticket(ticket_id=ticket.pk)
    sent = sent_text(stub_openai)
    assert "E-40421" in sent and EMAIL not in sent and "<EMAIL_1>" in sent


def test_masking_off_sends_the_ticket_as_written(stub_triage_router: Any, stub_openai: StubOpenAI) -> None:
    ticket = ticket_submit(router=stub_triage_router, subject="Double charge", body=BODY, enqueue=False)
    triage_ticket(ticket_id=ticket.pk)
    assert EMAIL in sent_text(stub_openai)


def test_nothing_sensitive_reaches_the_logs(
    masked_router: Router, stub_openai: StubOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ticket = ticket_submit(router=masked_router, subject=f"Double charge ({EMAIL})", body=BODY, enqueue=False)
    triage_ticket(ticket_id=ticket.pk)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "model call" in logged
    for value in VALUES:
        assert value not in logged
