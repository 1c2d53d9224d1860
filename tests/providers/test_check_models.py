"""``manage.py check_models`` and the admin's "Test selected models", against the provider simulator."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.support.provider_sim import PRESET_PROFILES, ProviderSimulator
from triage.models import LLMModel, ModelCall, Router
from triage.services.model_check import models_check, probes_total_cost

pytestmark = pytest.mark.django_db(transaction=True)

NANO = "openai-gpt-5-nano"


def _run(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("check_models", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_every_preset_model_passes_its_probe_for_less_than_a_cent(presets_on_sim: ProviderSimulator) -> None:
    output, error = _run()
    assert error is None, output
    rows = models_check()  # the same probes again, to read them as data
    assert rows and all(row.ok for row in rows)
    probed = {row.model for row in rows}
    # every enabled remote preset model in a pool or fallback list, and the local last resorts
    assert {
        NANO,
        "anthropic-claude-haiku-4.5",
        "anthropic-claude-sonnet-4.6",
        "anthropic-claude-opus-4.7",
    } <= probed
    assert "llama3.3-70b-instruct" in probed and "local/ticket-classifier" in probed
    assert "gpt-4o-mini" not in probed  # disabled in the presets
    # one probe per (router, task, model): each pool model on each task it serves
    triage_tasks = {
        row.task for row in rows if row.router == "triage-router" and row.model == "llama3.3-70b-instruct"
    }
    assert triage_tasks == {
        "classify_ticket",
        "urgency_detection",
        "draft_customer_reply",
        "escalate_complex_issue",
    }
    assert probes_total_cost(rows) < Decimal("0.01")
    assert "total cost of the probes: $0.00" in output
    nano_row = next(row for row in rows if row.model == NANO and row.task == "classify_ticket")
    assert nano_row.reasoning_tokens > 0 and nano_row.parsed is True
    for slug in PRESET_PROFILES:
        if slug != "gpt-4o-mini":
            assert slug in output
    # probes are real calls: recorded, but never against a ticket
    assert ModelCall.objects.filter(ticket__isnull=True).count() >= len(rows)


def test_a_wrong_profile_fails_its_row_with_the_providers_message_and_exit_code_1(
    presets_on_sim: ProviderSimulator,
) -> None:
    nano = LLMModel.objects.get(slug=NANO)
    nano.token_limit_parameter = "max_tokens"
    nano.save()
    output, error = _run("--router", "triage-router")
    assert error is not None and error.returncode == 1
    nano_line = next(line for line in output.splitlines() if NANO in line and "classify_ticket" in line)
    assert "Unsupported parameter: 'max_tokens'" in nano_line and "request_rejected" not in nano_line
    assert "support-bot-router" not in output  # --router limits the check
    other = [line for line in output.splitlines() if "anthropic-claude-haiku-4.5" in line]
    assert other and all("NO" not in line for line in other)


def test_a_missing_key_is_reported_without_any_request(
    presets_on_sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DO_MODEL_ACCESS_KEY")
    output, error = _run()
    assert error is not None
    assert "DO_MODEL_ACCESS_KEY is not set" in output
    assert sum(presets_on_sim.request_count(slug) for slug in PRESET_PROFILES) == 0
    # the local last resorts need no key and still pass
    local_lines = [line for line in output.splitlines() if "local/ticket-classifier" in line]
    assert local_lines and "DO_MODEL_ACCESS_KEY" not in local_lines[0]


def test_an_unknown_router_is_a_clear_error(presets_on_sim: ProviderSimulator) -> None:
    _, error = _run("--router", "nope")
    assert error is not None and "No enabled router named 'nope'" in str(error)


def test_admin_action_tests_the_selected_models(presets_on_sim: ProviderSimulator, staff_user: Any) -> None:
    admin = Client()
    admin.force_login(staff_user)
    nano = LLMModel.objects.get(slug=NANO)
    response = admin.post(
        "/admin/triage/llmmodel/",
        {"action": "test_selected_models", "_selected_action": [str(nano.pk)]},
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Probe of {NANO} on triage-router/classify_ticket: answered and parsed" in page
    assert "reasoning" in page and "Total cost of these probes" in page
    # one probe per task whose pool holds it (classification, urgency, calm replies and the support
    # bot's FAQ)
    assert presets_on_sim.request_count(NANO) == Router.objects.filter(tasks__pool__model=nano).count() == 4

    nano.token_limit_parameter = "max_tokens"
    nano.save()
    page = admin.post(
        "/admin/triage/llmmodel/",
        {"action": "test_selected_models", "_selected_action": [str(nano.pk)]},
        follow=True,
    ).content.decode()
    assert "FAILED" in page and "Unsupported parameter" in page
