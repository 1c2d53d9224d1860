"""The playground: one prompt through a router and up to three catalog models, side by side."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.pipeline.conftest import BRIEF_OK, CLASSIFY_OK
from tests.support.stub_openai import StubOpenAI, rate_limited
from triage.models import ModelCall, PlaygroundRun

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true", "HX-Target": "playground-results"}


def test_page_lists_routers_and_catalog_models(agent_client: Client, presets: None) -> None:
    html = agent_client.get("/playground/").content.decode()
    assert "triage-router" in html and "anthropic-claude-opus-4.7" in html
    assert 'hx-post="/playground/"' in html


def test_router_and_two_models_side_by_side(
    agent_client: Client, stub_triage_router: Any, make_model: Any, stub_openai: StubOpenAI
) -> None:
    from triage.models import LLMModel

    brief, urgency = LLMModel.objects.get(slug="stub-brief"), LLMModel.objects.get(slug="stub-urgency")
    response = agent_client.post(
        "/playground/",
        {
            "router": stub_triage_router.pk,
            "prompt": "My invoice is wrong",
            "task": "classify_ticket",
            "models": [brief.pk, urgency.pk],
        },
        headers=HX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="playground-results"')
    run = PlaygroundRun.objects.get()
    labels = [c["label"] for c in run.columns]
    assert labels == ["router:triage-router", "stub-brief", "stub-urgency"]
    assert [c["served_by"] for c in run.columns] == ["stub-classify", "stub-brief", "stub-urgency"]
    assert run.columns[0]["content"] == CLASSIFY_OK
    assert run.columns[1]["content"] == BRIEF_OK
    assert run.columns[0]["matched_task"] == "classify_ticket"
    assert run.columns[1]["matched_task"] is None  # a direct call to one model matches no task
    assert 'served by <code class="model">stub-brief</code>' in html
    # recorded in ModelCall through the normal service, without a ticket, and marked as playground
    calls = ModelCall.objects.filter(ticket__isnull=True)
    assert calls.count() == 3
    assert set(run.calls.values_list("model_slug", flat=True)) == {
        "stub-classify",
        "stub-brief",
        "stub-urgency",
    }


def test_without_a_task_the_router_classifies_and_the_model_is_called_directly(
    agent_client: Client, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    from triage.models import LLMModel

    brief = LLMModel.objects.get(slug="stub-brief")
    response = agent_client.post(
        "/playground/",
        {"router": stub_triage_router.pk, "prompt": "Production is down for everyone", "models": [brief.pk]},
    )
    assert response.status_code == 200 and b"<html" in response.content  # works without htmx
    run = PlaygroundRun.objects.get()
    assert run.columns[0]["matched_task"] in {
        "classify_ticket",
        "urgency_detection",
        "draft_customer_reply",
        "escalate_complex_issue",
    }
    assert (run.columns[1]["served_by"], run.columns[1]["matched_task"]) == ("stub-brief", None)
    assert stub_openai.request_count("stub-brief") == 1


def test_failing_model_shows_why(
    agent_client: Client, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    from triage.models import LLMModel

    stub_openai.script("stub-brief", rate_limited())
    brief = LLMModel.objects.get(slug="stub-brief")
    response = agent_client.post(
        "/playground/",
        {"router": stub_triage_router.pk, "prompt": "hi", "task": "classify_ticket", "models": [brief.pk]},
        headers=HX,
    )
    html = response.content.decode()
    column = PlaygroundRun.objects.get().columns[1]
    assert column["attempts"][0] == {
        **column["attempts"][0],
        "model": "stub-brief",
        "outcome": "rate_limited",
    }
    assert column["served_by"] == ""  # this catalog has no local model to fall back to
    assert "stub-brief: rate_limited" in column["error"]
    assert "stub-brief: rate_limited" in html


def test_a_ticket_can_be_sent_instead_of_a_prompt(
    agent_client: Client, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    from triage.services.tickets import ticket_submit

    ticket = ticket_submit(subject="Down", body="Everything is down", router=stub_triage_router)
    agent_client.post(
        "/playground/", {"router": stub_triage_router.pk, "ticket": ticket.pk, "task": "urgency_detection"}
    )
    run = PlaygroundRun.objects.get()
    assert run.columns[0]["served_by"] == "stub-urgency"
    sent = stub_openai.requests("stub-urgency")[-1]
    assert "Everything is down" in str(sent.body["messages"])
    assert not ModelCall.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"prompt": ""}, "Write a prompt or give a ticket number."),
        ({"prompt": "x", "ticket": "99999"}, "There is no ticket #99999."),
        ({"prompt": "x", "task": "nope"}, "has no task"),
    ],
)
def test_bad_input_is_explained(
    agent_client: Client, stub_triage_router: Any, data: dict[str, str], message: str
) -> None:
    response = agent_client.post("/playground/", {"router": stub_triage_router.pk, **data}, headers=HX)
    assert message in response.content.decode()
    assert not PlaygroundRun.objects.exists()


def test_errors_name_their_field_in_place_and_show_once_without_javascript(
    agent_client: Client, presets: None
) -> None:
    fragment = agent_client.post("/playground/", {"router": "", "prompt": "hi"}, headers=HX).content.decode()
    assert "Router: This field is required." in fragment  # htmx swaps only the results: say which field
    from triage.models import Router

    router = Router.objects.get(name="triage-router").pk
    page = agent_client.post("/playground/", {"router": router, "prompt": "", "ticket": ""}).content.decode()
    assert page.count("Write a prompt or give a ticket number.") == 1


def test_more_than_three_models_is_refused(agent_client: Client, presets: None) -> None:
    from triage.models import LLMModel, Router

    models = list(LLMModel.objects.values_list("pk", flat=True)[:4])
    response = agent_client.post(
        "/playground/",
        {"router": Router.objects.get(name="triage-router").pk, "prompt": "x", "models": models},
    )
    assert "Pick at most three models." in response.content.decode()


def test_model_output_is_escaped(
    agent_client: Client, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    from tests.support.stub_openai import answer

    stub_openai.script("stub-classify", answer('{"category": "bug"}<script>alert(1)</script>'))
    response = agent_client.post(
        "/playground/",
        {"router": stub_triage_router.pk, "prompt": "x", "task": "classify_ticket"},
        headers=HX,
    )
    html = response.content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_failed_model_falls_back_to_the_local_tier_and_says_so(
    agent_client: Client, stub_triage_router: Any, stub_openai: StubOpenAI, test_local_model: Any
) -> None:
    from triage.models import LLMModel

    stub_openai.script("stub-brief", rate_limited())
    brief = LLMModel.objects.get(slug="stub-brief")
    response = agent_client.post(
        "/playground/",
        {"router": stub_triage_router.pk, "prompt": "hello there", "models": [brief.pk]},
        headers=HX,
    )
    column = PlaygroundRun.objects.get().columns[1]
    assert column["served_by"] == "local/test-echo"
    assert [a["outcome"] for a in column["attempts"]] == ["rate_limited", "ok"]
    html = response.content.decode()
    assert "(asked for stub-brief)" in html and "Attempts (2)" in html
