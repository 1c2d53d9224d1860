"""Affinity pins, the local last resort, and configuration changes taking effect."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.fixtures import EchoLocalModel, TaskSpec
from tests.support.stub_openai import answer, hang, server_error
from triage.local_models.registry import register_local_model, unregister_local_model
from triage.models import LLMModel, ModelCall, PoolEntry, RouterTask
from triage.routing import RoutingError, route

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "My deployment is billing me for resources I didn't use"}]


@pytest.fixture
def router(make_model, make_router):
    make_model("first")
    make_model("second")
    make_model("backup")
    return make_router(tasks={"t": TaskSpec(pool=["first", "second"])}, fallbacks=["backup"])


def outcomes(result):
    return [(a.model, a.outcome) for a in result.attempts]


# --- affinity -------------------------------------------------------------------------------------
def test_affinity_key_pins_to_the_first_selected_model(router, stub_openai):
    first = route(router, MESSAGES, task="t", affinity_key="session-1")
    # make the pool order change: the pin must still win
    PoolEntry.objects.filter(model__slug="first").update(rank=9)
    from triage.routing import config_bump_version

    config_bump_version()
    second = route(router, MESSAGES, task="t", affinity_key="session-1")
    unpinned = route(router, MESSAGES, task="t", affinity_key="session-2")

    assert (first.served_by, first.pinned) == ("first", False)
    assert (second.served_by, second.pinned) == ("first", True)
    assert (unpinned.served_by, unpinned.pinned) == ("second", False)


def test_pinned_model_failure_fails_over_and_repins(router, stub_openai):
    route(router, MESSAGES, task="t", affinity_key="s")
    stub_openai.script("first", server_error())

    moved = route(router, MESSAGES, task="t", affinity_key="s")
    after = route(router, MESSAGES, task="t", affinity_key="s")

    assert outcomes(moved) == [("first", "server_error"), ("second", "ok")]
    assert moved.pinned is False
    assert (after.served_by, after.pinned) == ("second", True)
    assert outcomes(after) == [("second", "ok")]


def test_pin_expires_after_the_router_ttl(router, stub_openai, monkeypatch):
    router.affinity_ttl_seconds = 1
    router.save()
    route(router, MESSAGES, task="t", affinity_key="s")
    stub_openai.script("first", server_error())
    route(router, MESSAGES, task="t", affinity_key="s")  # re-pinned to second, for 1 s
    import time

    time.sleep(1.2)
    assert route(router, MESSAGES, task="t", affinity_key="s").pinned is False


# --- local last resort ----------------------------------------------------------------------------
def test_local_model_is_the_last_resort_when_everything_else_is_down(router, stub_openai, test_local_model):
    for slug in ("first", "second", "backup"):
        stub_openai.set_default(slug, server_error())

    result = route(router, MESSAGES, task="t")

    assert result.served_by == "local/test-echo"
    assert outcomes(result)[-1] == ("local/test-echo", "ok")
    assert [o for _, o in outcomes(result)[:-1]] == ["server_error"] * 3
    assert result.content == f"local answer to: {MESSAGES[0]['content']}"
    assert result.cost == 0
    assert result.tokens_estimated is True and result.completion_tokens > 0
    assert result.last_resort is True
    assert test_local_model.calls == ["t"]


def test_no_cooldown_ever_skips_the_local_last_resort(router, stub_openai, test_local_model):
    for slug in ("first", "second", "backup"):
        stub_openai.set_default(slug, server_error())
    for _ in range(4):
        result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [
        ("first", "skipped_open_circuit"),
        ("second", "skipped_open_circuit"),
        ("backup", "skipped_open_circuit"),
        ("local/test-echo", "ok"),
    ]


def test_local_model_that_does_not_serve_the_task_is_not_a_candidate(router, stub_openai, local_provider):
    specialist = EchoLocalModel(slug="local/other-task", tasks=frozenset({"something_else"}))
    LLMModel.objects.create(slug=specialist.slug, provider=local_provider)
    register_local_model(specialist)
    try:
        for slug in ("first", "second", "backup"):
            stub_openai.set_default(slug, server_error())
        with pytest.raises(RoutingError) as caught:
            route(router, MESSAGES, task="t")
    finally:
        unregister_local_model(specialist.slug)
    assert "local/other-task" not in [a.model for a in caught.value.attempts]


def test_local_fallbacks_of_the_router_come_before_the_catalog(
    make_model, make_router, local_provider, stub_openai
):
    listed = EchoLocalModel(slug="local/listed", reply_text="from the router's list")
    other = EchoLocalModel(slug="local/unlisted", reply_text="from the catalog")
    for local in (listed, other):
        LLMModel.objects.create(slug=local.slug, provider=local_provider)
        register_local_model(local)
    try:
        make_model("remote")
        stub_openai.set_default("remote", server_error())
        router = make_router("with-local", tasks={"t": TaskSpec(pool=["remote"])}, fallbacks=["local/listed"])
        assert route(router, MESSAGES, task="t").content == "from the router's list"
    finally:
        unregister_local_model(listed.slug)
        unregister_local_model(other.slug)


def test_local_model_missing_from_the_registry_is_an_error_attempt_not_a_crash(
    router, stub_openai, local_provider
):
    LLMModel.objects.create(slug="local/not-installed", provider=local_provider)
    pool_task = RouterTask.objects.get(name="t")
    PoolEntry.objects.create(task=pool_task, model=LLMModel.objects.get(slug="local/not-installed"), rank=0)
    stub_openai.script("first", answer("remote"))

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("local/not-installed", "skipped_unconfigured"), ("first", "ok")]
    assert "not installed" in result.attempts[0].error


def test_local_model_that_cannot_answer_fails_over(router, stub_openai, test_local_model):
    for slug in ("first", "second", "backup"):
        stub_openai.set_default(slug, hang(3))
    router.request_deadline_seconds = 1
    router.save()

    result = route(router, [{"role": "user", "content": "hi"}], task="t")

    assert result.served_by == "local/test-echo"  # the deadline never skips the offline tier
    assert ModelCall.objects.filter(outcome="ok", model_slug="local/test-echo").count() == 1


# --- configuration: cached per process, an admin edit applies on the next request ----------------
def test_no_routing_config_query_in_steady_state(router, stub_openai):
    route(router, MESSAGES, task="t")  # builds the snapshot

    with CaptureQueriesContext(connection) as queries:
        route(router, MESSAGES, task="t")

    config_tables = (
        "triage_router",
        "triage_routertask",
        "triage_poolentry",
        "triage_llmmodel",
        "triage_provider",
    )
    touched = [q["sql"] for q in queries if any(f'"{t}"' in q["sql"] for t in config_tables)]
    assert touched == []


def test_admin_edit_takes_effect_on_the_next_request(router, stub_openai):
    assert route(router, MESSAGES, task="t").served_by == "first"

    entry = PoolEntry.objects.get(model__slug="first")
    entry.rank = 5
    entry.save()  # what the admin does: post_save bumps the shared config version

    assert route(router, MESSAGES, task="t").served_by == "second"


def test_disabling_a_model_in_the_catalog_removes_it_at_once(router, stub_openai):
    route(router, MESSAGES, task="t")
    model = LLMModel.objects.get(slug="first")
    model.enabled = False
    model.save()

    result = route(router, MESSAGES, task="t")

    assert outcomes(result) == [("second", "ok")]


def test_pinned_request_without_a_task_skips_classification(
    make_model, make_router, stub_openai, monkeypatch
):
    from triage.routing import service

    make_model("billing-model")
    make_model("general-model")
    billing = TaskSpec(
        pool=["billing-model"],
        description="Billing disputes, double charges, refunds and invoices.",
        utterances=["I was charged twice", "Why is my invoice so high?"],
    )
    router = make_router("chat", tasks={"billing": billing}, fallbacks=["general-model"])
    first = route(
        router, [{"role": "user", "content": "I was charged twice this month"}], affinity_key="chat-9"
    )

    def no_classification(*args, **kwargs):
        raise AssertionError("a pinned request must not be classified")

    monkeypatch.setattr(service, "classifier_for", no_classification)
    follow_up = route(
        router, [{"role": "user", "content": "ok thanks, anything else?"}], affinity_key="chat-9"
    )

    assert (first.matched_task, first.served_by) == ("billing", "billing-model")
    assert (follow_up.matched_task, follow_up.served_by, follow_up.pinned) == (
        "billing",
        "billing-model",
        True,
    )


def test_keyless_provider_never_sends_another_providers_key(
    make_model, make_router, stub_openai, monkeypatch
):
    from triage.models import Provider

    monkeypatch.setenv("OPENAI_API_KEY", "must-not-leak")
    keyless = Provider.objects.create(name="Local vLLM", base_url=stub_openai.base_url, api_key_env="")
    make_model("vllm-model", provider=keyless)
    router = make_router("keyless", tasks={"t": TaskSpec(pool=["vllm-model"])})

    route(router, MESSAGES, task="t")

    assert "must-not-leak" not in stub_openai.requests("vllm-model")[0].headers.get("authorization", "")
