"""The router against documented provider behaviour (``tests/support/provider_sim.py`` cites the docs).

Each profile x each subtask, the seven sample tickets with GPT-5 Nano as a reasoning model, a wrong
profile refused and fixed, truncated answers, cached-token pricing, the context window, and usage in
streams with and without ``stream_options``.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.support.provider_sim import PRESET_PROFILES, PROFILES, ProviderSimulator
from tests.support.stub_openai import error_status
from triage.models import LLMModel, ModelCall, Provider, Router, Ticket, TriageStep
from triage.pipeline.subtasks import SUBTASKS, subtask_messages
from triage.pipeline.triage import triage_ticket
from triage.presets import MODELS, SAMPLE_TICKETS
from triage.routing import breaker, route, route_stream
from triage.services.tickets import ticket_submit

pytestmark = pytest.mark.django_db(transaction=True)

NANO = "openai-gpt-5-nano"
HAIKU = "anthropic-claude-haiku-4.5"
MILLION = Decimal(1_000_000)

# a catalog entry per profile, set as an admin following each provider's documentation would
PROFILE_SETTINGS: dict[str, dict[str, Any]] = {
    "openai_reasoning": {
        "token_limit_parameter": "max_completion_tokens",
        "accepts_temperature": False,
        "reasoning_effort": "low",
        "reasoning_token_allowance": 512,
    },
    "openai_chat": {},
    "anthropic_gateway": {"cached_input_price_per_m": Decimal("0.1")},
    "ollama": {},
    "no_usage": {},
}


def _router() -> Router:
    return Router.objects.get(name="triage-router")


def _haiku_scores_urgency() -> None:
    """The tests below need Haiku first on urgency (the presets start it on Nano, cascading to Haiku)."""
    from triage.models import PoolEntry
    from triage.routing import config_bump_version

    PoolEntry.objects.filter(task__name="urgency_detection", model__slug=NANO).delete()
    config_bump_version()


def _messages(
    router: Router, task: str, body: str = "Our dashboard is down for every user."
) -> list[dict[str, str]]:
    ticket = Ticket(subject="Dashboard down", body=body, customer_tier="pro")
    return subtask_messages(
        system_prompt=router.tasks.get(name=task).system_prompt, router=router, ticket=ticket
    )


def _route_subtask(router: Router, task: str, **extra: Any) -> Any:
    subtask = SUBTASKS[task]
    return route(
        router,
        _messages(router, task),
        task=task,
        validator=lambda text: subtask.parse(text, router),
        json_mode=True,
        max_tokens=subtask.max_tokens,
        temperature=subtask.temperature,
        **extra,
    )


def _sim_model(slug: str, profile: str, sim: ProviderSimulator, **fields: Any) -> LLMModel:
    model = LLMModel.objects.create(
        slug=slug,
        provider=Provider.objects.get(name="DigitalOcean Serverless Inference"),
        input_price_per_m=Decimal("1"),
        output_price_per_m=Decimal("4"),
        supports_json_mode=True,
        **{**PROFILE_SETTINGS[profile], **fields},
    )
    sim.set_profile(slug, profile)
    return model


def _cost(call: ModelCall, model: LLMModel) -> Decimal:
    cached_price = model.cached_input_price_per_m
    if cached_price is None:
        cached_price = model.input_price_per_m
    return (
        (call.prompt_tokens - call.cached_tokens) * model.input_price_per_m
        + call.cached_tokens * cached_price
        + call.completion_tokens * model.output_price_per_m
    ) / MILLION


def test_every_preset_remote_model_has_a_documented_profile_in_the_simulator() -> None:
    remote = {m["slug"] for m in MODELS if not str(m["slug"]).startswith("local/")}
    assert remote == set(PRESET_PROFILES)


@pytest.mark.parametrize("task", list(SUBTASKS))
@pytest.mark.parametrize("profile", list(PROFILES))
def test_each_profile_serves_each_subtask_on_its_first_attempt(
    presets_on_sim: ProviderSimulator, profile: str, task: str
) -> None:
    model = _sim_model(f"sim-{profile}", profile, presets_on_sim)
    result = _route_subtask(_router(), task, only_model=model.pk)

    assert result.served_by == model.slug and [a.outcome for a in result.attempts] == ["ok"]
    call = ModelCall.objects.get(pk=result.attempts[0].call_id)
    assert call.tokens_estimated == (profile == "no_usage")  # no usage reported: estimated, flagged
    assert call.cost == _cost(call, model) and call.cost > 0
    sent = presets_on_sim.requests(model.slug)[0].body
    if profile == "openai_reasoning":
        assert "max_tokens" not in sent and "temperature" not in sent
        assert sent["max_completion_tokens"] == SUBTASKS[task].max_tokens + 512
        assert call.reasoning_tokens > 0 and call.completion_tokens > call.reasoning_tokens
    else:
        assert sent["max_tokens"] == SUBTASKS[task].max_tokens
        assert sent.get("temperature") == SUBTASKS[task].temperature


def test_the_seven_sample_tickets_classified_by_nano_as_a_reasoning_model_first_time(
    presets_on_sim: ProviderSimulator,
) -> None:
    from tests.api.conftest import post_json
    from triage.models import ApiKey

    _, raw = ApiKey.issue(name="tests", scopes=["tickets"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    ids = []
    for sample in SAMPLE_TICKETS:
        response = post_json(api, "/api/tickets", sample)
        assert response.status_code == 202
        ids.append(response.json()["id"])
    for ticket_id in ids:
        triage_ticket(ticket_id=ticket_id)

    nano = LLMModel.objects.get(slug=NANO)
    steps = TriageStep.objects.filter(ticket_id__in=ids, task_name="classify_ticket", is_current=True)
    assert steps.count() == 7
    for step in steps:
        # Nano answers every classification first, and acceptably (the cascade may still ask Haiku
        # when the local classifier disagrees: that shows as "ok" with the reason it escalated)
        assert step.status == "done" and step.attempts[0]["model"] == NANO
        assert step.attempts[0]["outcome"] == "ok"
        call = ModelCall.objects.get(step=step, model_slug=NANO)
        assert call.reasoning_tokens > 0 and call.cost == _cost(call, nano)  # reasoning billed as output
        if step.served_by == NANO:
            assert step.reasoning_tokens == call.reasoning_tokens and step.cost == call.cost
        else:
            assert step.escalation_reason.startswith("disagreed with local")
    assert not ModelCall.objects.filter(outcome__in=["request_rejected", "skipped_rejected"]).exists()
    for request in presets_on_sim.requests(NANO):
        body = request.body
        assert "max_tokens" not in body and "temperature" not in body
        assert body["reasoning_effort"] == "minimal"  # the pool entries' override (classify, urgency, reply)
        system = body["messages"][0]["content"]
        task = (
            "classify_ticket"
            if "category" in system
            else "draft_customer_reply"
            if '"reply"' in system
            else "urgency_detection"
        )
        assert body["max_completion_tokens"] == SUBTASKS[task].max_tokens + 2048
    # the API shows the reasoning tokens of each step
    served_by_nano = steps.filter(served_by=NANO).values_list("ticket_id", flat=True)
    data = api.get(f"/api/tickets/{served_by_nano[0]}").json()
    assert data["steps"][0]["reasoning_tokens"] > 0


def test_a_refused_request_shape_is_a_configuration_error_not_an_outage(
    presets_on_sim: ProviderSimulator, staff_user: Any
) -> None:
    """OpenAI: "Unsupported parameter: 'max_tokens' is not supported with this model" (a 400)."""
    nano = LLMModel.objects.get(slug=NANO)
    nano.token_limit_parameter = "max_tokens"  # the profile an admin might assume
    nano.save()
    router = _router()

    first = _route_subtask(router, "classify_ticket")
    assert first.attempts[0].outcome == "request_rejected" and first.served_by != NANO  # failed over
    nano.refresh_from_db()
    assert "Unsupported parameter: 'max_tokens'" in nano.rejected_message
    assert "max_tokens" in nano.rejected_request_shape and nano.rejected_at is not None
    health = cache.get(breaker.health_key(nano.pk))
    assert breaker.breaker_state(health, time.time()) == breaker.CLOSED  # never counted as down

    second = _route_subtask(router, "classify_ticket")  # same shape: not sent again
    assert second.attempts[0].outcome == "skipped_rejected"
    assert presets_on_sim.request_count(NANO) == 1

    admin = Client()
    admin.force_login(staff_user)
    page = admin.get(f"/admin/triage/llmmodel/{nano.pk}/change/").content.decode()
    assert "Unsupported parameter" in page and "max_tokens" in page
    listing = admin.get("/admin/triage/llmmodel/").content.decode()
    assert "REFUSED: fix the profile" in listing
    metrics = admin.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert f'triage_model_request_refused{{model="{NANO}"}} 1.0' in metrics
    assert 'outcome="request_rejected"' in metrics
    analytics = admin.get("/analytics/").content.decode()
    refused_tile = analytics[analytics.index('id="a-refused"') :][:600]
    assert NANO in refused_tile  # the model to fix, linked to its admin page

    # the admin fixes the profile through the change form: the refusal is cleared, Nano serves again
    form = _change_form_data(nano, token_limit_parameter="max_completion_tokens")
    response = admin.post(f"/admin/triage/llmmodel/{nano.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    nano.refresh_from_db()
    assert nano.rejected_at is None and nano.rejected_message == ""
    third = _route_subtask(router, "classify_ticket")
    assert third.served_by == NANO and [a.outcome for a in third.attempts] == ["ok"]


def _change_form_data(model: LLMModel, **changes: Any) -> dict[str, Any]:
    fields = [
        "slug", "provider", "display_name", "enabled", "input_price_per_m", "cached_input_price_per_m",
        "output_price_per_m", "context_window", "token_limit_parameter", "accepts_temperature",
        "reasoning_effort", "reasoning_token_allowance", "supports_json_mode", "stream_usage",
    ]  # fmt: skip
    data: dict[str, Any] = {}
    for name in fields:
        value = getattr(model, "provider_id" if name == "provider" else name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else str(value)
    for name, value in changes.items():
        data[name] = value
    return data


def test_an_unknown_profile_value_is_a_form_error_in_the_admin_not_a_500(
    presets_on_sim: ProviderSimulator, staff_user: Any
) -> None:
    nano = LLMModel.objects.get(slug=NANO)
    admin = Client()
    admin.force_login(staff_user)
    for field, bad in (("token_limit_parameter", "max_tokenz"), ("reasoning_effort", "extreme")):
        response = admin.post(
            f"/admin/triage/llmmodel/{nano.pk}/change/", _change_form_data(nano, **{field: bad})
        )
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    nano.refresh_from_db()
    assert nano.token_limit_parameter == "max_completion_tokens" and nano.reasoning_effort == "low"


def test_an_answer_cut_at_the_token_limit_is_truncated_billed_and_failed_over(
    presets_on_sim: ProviderSimulator,
) -> None:
    """OpenAI: reasoning tokens count against max_completion_tokens; if the limit is reached while
    reasoning, the answer is empty with finish_reason "length" and the tokens are still billed."""
    nano = LLMModel.objects.get(slug=NANO)
    nano.reasoning_token_allowance = 0  # no room to think at medium effort
    nano.reasoning_effort = "medium"
    nano.save()
    from triage.models import PoolEntry

    PoolEntry.objects.filter(model=nano).update(reasoning_effort="")
    from triage.routing import config_bump_version

    config_bump_version()

    result = _route_subtask(_router(), "classify_ticket")
    assert result.served_by != NANO and result.attempts[0].outcome == "truncated"
    call = ModelCall.objects.get(pk=result.attempts[0].call_id)
    budget = SUBTASKS["classify_ticket"].max_tokens
    assert call.completion_tokens == budget and call.reasoning_tokens == budget and not call.tokens_estimated
    assert call.cost == _cost(call, nano) > 0  # paid for, though nothing came back
    assert "finish_reason length" in call.error
    health = cache.get(breaker.health_key(nano.pk))
    assert breaker.breaker_state(health, time.time()) == breaker.CLOSED


def test_cached_prompt_tokens_are_priced_at_the_catalog_cached_price(
    presets_on_sim: ProviderSimulator,
) -> None:
    """Anthropic through the gateway: a repeated prompt prefix is read from the cache, reported in
    usage.prompt_tokens_details.cached_tokens and billed at 10% of the input price."""
    haiku = LLMModel.objects.get(slug=HAIKU)
    router = _router()
    first = _route_subtask(router, "urgency_detection", only_model=haiku.pk)
    second = _route_subtask(router, "urgency_detection", only_model=haiku.pk)
    cold = ModelCall.objects.get(pk=first.attempts[0].call_id)
    warm = ModelCall.objects.get(pk=second.attempts[0].call_id)
    assert cold.cached_tokens == 0 and warm.cached_tokens > 0
    expected = (
        Decimal(warm.prompt_tokens - warm.cached_tokens) * Decimal("1")
        + Decimal(warm.cached_tokens) * Decimal("0.10")
        + Decimal(warm.completion_tokens) * Decimal("5")
    ) / MILLION
    assert warm.cost == expected == second.cost
    assert second.cached_tokens == warm.cached_tokens


def test_a_prompt_that_does_not_fit_the_context_window_is_skipped_without_a_call(
    presets_on_sim: ProviderSimulator,
) -> None:
    _haiku_scores_urgency()
    haiku = LLMModel.objects.get(slug=HAIKU)
    haiku.context_window = 120  # the prompt plus the answer budget (150) can't fit
    haiku.save()
    result = _route_subtask(_router(), "urgency_detection")
    assert result.attempts[0].model == HAIKU and result.attempts[0].outcome == "context_too_long"
    assert result.served_by != HAIKU
    assert presets_on_sim.request_count(HAIKU) == 0
    assert ModelCall.objects.get(pk=result.attempts[0].call_id).cost == 0


def test_a_context_length_error_from_the_provider_is_context_too_long_not_a_refused_shape(
    presets_on_sim: ProviderSimulator,
) -> None:
    _haiku_scores_urgency()
    body = {
        "error": {
            "message": "This model's maximum context length is 200000 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
    from dataclasses import replace

    presets_on_sim.script(
        HAIKU, replace(error_status(400, "x", "invalid_request_error"), body=json.dumps(body).encode())
    )
    result = _route_subtask(_router(), "urgency_detection")
    assert result.attempts[0].outcome == "context_too_long" and result.served_by != HAIKU
    assert LLMModel.objects.get(slug=HAIKU).rejected_at is None


@pytest.mark.parametrize("stream_usage", [True, False])
def test_streaming_usage_with_and_without_stream_options(
    presets_on_sim: ProviderSimulator, stream_usage: bool
) -> None:
    """Ollama / vLLM: a stream carries usage only when stream_options.include_usage asks for it."""
    model = _sim_model("sim-ollama", "ollama", presets_on_sim, stream_usage=stream_usage)
    events = list(route_stream(f"model:{model.slug}", [{"role": "user", "content": "What are your hours?"}]))
    done = events[-1]
    assert done.kind == "done" and done.result is not None and done.result.served_by == model.slug
    sent = presets_on_sim.requests(model.slug)[0].body
    assert ("stream_options" in sent) is stream_usage
    call = ModelCall.objects.get(pk=done.result.attempts[-1].call_id)
    assert call.tokens_estimated is (not stream_usage)  # estimated with tiktoken, and flagged
    assert call.completion_tokens > 0 and call.cost > 0


def test_a_reasoning_models_stream_reports_its_reasoning_tokens(presets_on_sim: ProviderSimulator) -> None:
    events = list(route_stream(f"model:{NANO}", [{"role": "user", "content": "What are your hours?"}]))
    done = events[-1]
    assert done.kind == "done" and done.result is not None
    assert "".join(e.delta for e in events if e.kind == "chunk")
    sent = presets_on_sim.requests(NANO)[0].body
    assert sent["reasoning_effort"] == "low" and "temperature" not in sent
    assert done.result.reasoning_tokens > 0
    assert ModelCall.objects.get(pk=done.result.attempts[-1].call_id).reasoning_tokens > 0


def test_ticket_page_shows_reasoning_and_cached_tokens(
    presets_on_sim: ProviderSimulator, staff_user: Any
) -> None:
    _haiku_scores_urgency()
    router = _router()
    first = ticket_submit(router=router, subject="Production down", body="All users blocked since 9:00.")
    triage_ticket(ticket_id=first.pk)
    # a ticket the local classifier reads as the simulated model does (a bug), so no cascade
    body = "The dashboard is down again for all users, every page returns 502."
    second = ticket_submit(router=router, subject="Production down again", body=body)
    triage_ticket(ticket_id=second.pk)
    step = second.steps.get(task_name="urgency_detection", is_current=True)
    classify = second.steps.get(task_name="classify_ticket", is_current=True)
    assert step.cached_tokens > 0 and classify.reasoning_tokens > 0
    page = Client()
    page.force_login(staff_user)
    html = page.get(f"/tickets/{second.pk}/").content.decode()
    assert f"({step.cached_tokens} cached)" in html
    assert f"(incl. {classify.reasoning_tokens} reasoning)" in html


@pytest.mark.parametrize("stream", [False, True])
def test_v1_reports_a_reasoning_models_reasoning_tokens_through_the_sdk(
    presets_on_sim: ProviderSimulator, live_server: Any, stream: bool
) -> None:
    """/v1 with model "router:support-bot-router": the FAQ pool's first model is GPT-5 Nano."""
    import openai

    from triage.models import ApiKey

    _, raw = ApiKey.issue(name="tests", scopes=["routers"])
    sdk = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=raw, max_retries=0)
    request = {
        "model": "router:support-bot-router",
        "messages": [{"role": "user", "content": "What are your support hours?"}],
        "extra_body": {"task": "general_faq"},
    }
    if stream:
        chunks = list(sdk.chat.completions.create(**request, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
    else:
        completion = sdk.chat.completions.create(**request)
        text, usage = completion.choices[0].message.content or "", completion.usage
    assert text and usage is not None
    assert usage.completion_tokens_details is not None and usage.completion_tokens_details.reasoning_tokens
    sent = presets_on_sim.requests(NANO)[0].body
    assert "max_tokens" not in sent and sent["reasoning_effort"] == "low"
    assert ("stream_options" in sent) is stream


def test_a_refusal_of_this_requests_content_is_not_remembered(presets_on_sim: ProviderSimulator) -> None:
    """A content filter's 400 names no parameter: that attempt fails over, the model stays in use."""
    _haiku_scores_urgency()
    from dataclasses import replace

    body = {
        "error": {
            "message": "Your request was flagged by our content filter.",
            "type": "invalid_request_error",
        }
    }
    flagged = replace(error_status(400, "x", "invalid_request_error"), body=json.dumps(body).encode())
    presets_on_sim.script(HAIKU, flagged)
    first = _route_subtask(_router(), "urgency_detection")
    assert first.attempts[0].outcome == "bad_request" and first.served_by != HAIKU
    assert LLMModel.objects.get(slug=HAIKU).rejected_at is None
    second = _route_subtask(_router(), "urgency_detection")
    assert second.served_by == HAIKU


def test_every_refused_shape_is_remembered_once_and_cleared_by_a_probe_or_a_provider_edit(
    presets_on_sim: ProviderSimulator,
) -> None:
    from triage.routing.config import CONFIG_VERSION_KEY
    from triage.services.model_check import models_check

    nano = LLMModel.objects.get(slug=NANO)
    nano.token_limit_parameter = "max_tokens"
    nano.save()
    router = _router()
    _route_subtask(router, "classify_ticket")  # refused: the classify shape (effort minimal)
    version = cache.get(CONFIG_VERSION_KEY)
    from triage.routing.config import snapshot_fresh
    from triage.routing.service import model_record_rejection

    spec = snapshot_fresh().models_by_id[nano.pk]
    model_record_rejection(spec, spec.rejected_request_shapes[0], "again")  # already known: no write
    assert cache.get(CONFIG_VERSION_KEY) == version
    events = list(route_stream(f"model:{NANO}", [{"role": "user", "content": "hours?"}], max_tokens=50))
    assert events[-1].result is not None and events[-1].result.attempts[0].outcome == "request_rejected"
    nano.refresh_from_db()
    assert len(nano.rejected_request_shape.splitlines()) == 2  # the stream's shape too, not instead

    # fixed behind the admin's back (no save(), so nothing cleared the refusal): a probe clears it
    LLMModel.objects.filter(pk=nano.pk).update(token_limit_parameter="max_completion_tokens")
    from triage.routing import config_bump_version

    config_bump_version()
    rows = [row for row in models_check(router_name="triage-router") if row.model == NANO]
    assert rows and all(row.ok for row in rows)
    assert LLMModel.objects.get(pk=nano.pk).rejected_at is None  # the probe's success cleared it

    from django.utils import timezone

    LLMModel.objects.filter(pk=nano.pk).update(
        rejected_request_shape="max_tokens",
        rejected_message="HTTP 404: no such model",
        rejected_at=timezone.now(),
    )
    nano.provider.save()  # e.g. its base URL fixed: the refusals of its models are forgotten
    assert LLMModel.objects.get(pk=nano.pk).rejected_at is None
