"""A subtask is one registry entry: a toy fifth subtask is triaged, shown on the page and in the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tests.support.stub_openai import StubOpenAI, answer
from triage.models import ApiKey, PoolEntry, RouterTask, Ticket
from triage.pipeline.parsing import InvalidOutput, extract_json_object
from triage.pipeline.subtasks import Subtask, register_subtask, subtask_names, unregister_subtask
from triage.pipeline.triage import triage_ticket
from triage.routing import config_bump_version
from triage.services.tickets import ticket_submit

pytestmark = pytest.mark.django_db(transaction=True)


def parse_language(text: str, router: Any) -> dict[str, Any]:
    language = extract_json_object(text).get("language")
    if not isinstance(language, str) or not language.isalpha() or len(language) != 2:
        raise InvalidOutput("no two-letter language code")
    return {"language": language.lower()}


@pytest.fixture
def language_subtask() -> Iterator[Subtask]:
    subtask = register_subtask(
        Subtask(
            name="detect_language",
            label="Language",
            parse=parse_language,
            max_tokens=20,
            ticket_fields=lambda step: {},
        )
    )
    try:
        yield subtask
    finally:
        unregister_subtask(subtask.name)


@pytest.fixture
def router_with_language(stub_triage_router: Any, stub_openai: StubOpenAI, make_model: Any) -> Any:
    make_model("stub-language")
    stub_openai.set_default("stub-language", answer(json.dumps({"language": "FR"})))
    task = RouterTask.objects.create(
        router=stub_triage_router,
        name="detect_language",
        description="Which language the ticket is written in",
        system_prompt='Answer with JSON only: {"language": "<ISO 639-1 code>"}.',
    )
    from triage.models import LLMModel

    PoolEntry.objects.create(task=task, model=LLMModel.objects.get(slug="stub-language"), rank=1)
    config_bump_version()
    return stub_triage_router


def test_a_registered_fifth_subtask_is_triaged_beside_the_others(
    language_subtask: Subtask, router_with_language: Any, stub_openai: StubOpenAI
) -> None:
    ticket = ticket_submit(router=router_with_language, subject="Facture", body="Ma facture est fausse.")
    assert set(ticket.steps.values_list("task_name", flat=True)) == set(subtask_names())

    triage_ticket(ticket_id=ticket.pk)

    ticket.refresh_from_db()
    step = ticket.steps.get(is_current=True, task_name="detect_language")
    assert ticket.status == Ticket.Status.TRIAGED
    assert step.status == "done" and step.result == {"language": "fr"} and step.served_by == "stub-language"
    request = stub_openai.requests("stub-language")[0].body
    assert request["max_tokens"] == 20 and "Ma facture" in request["messages"][-1]["content"]
    assert "Ma facture" not in request["messages"][0]["content"]  # the ticket never in the system prompt


def test_the_fifth_subtask_is_on_the_ticket_page_and_in_the_api(
    language_subtask: Subtask, router_with_language: Any, client: Client, agent_user: Any
) -> None:
    client.force_login(agent_user)
    ticket = ticket_submit(router=router_with_language, subject="Facture", body="Ma facture est fausse.")
    triage_ticket(ticket_id=ticket.pk)

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="step-detect_language"' in page and ">Language <code" in page
    assert "<dt>language</dt><dd>fr</dd>" in page  # the generic result partial, escaped

    _, raw = ApiKey.issue(name="registry test")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = api.get(f"/api/tickets/{ticket.pk}").json()
    assert [(s["task"], s["label"]) for s in body["steps"]][-1] == ("detect_language", "Language")
    assert body["steps"][-1]["result"] == {"language": "fr"}

    rerun = api.post(f"/api/tickets/{ticket.pk}/retriage?step=detect_language")
    assert rerun.status_code == 202 and rerun.json()["steps"] == ["detect_language"]


def test_a_router_without_the_subtasks_task_skips_it_with_the_reason(
    language_subtask: Subtask, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    ticket = ticket_submit(router=stub_triage_router, subject="Facture", body="Ma facture est fausse.")
    triage_ticket(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    step = ticket.steps.get(is_current=True, task_name="detect_language")
    assert step.status == "skipped" and step.skip_reason == "router triage-router has no task detect_language"
    assert ticket.status == Ticket.Status.TRIAGED
