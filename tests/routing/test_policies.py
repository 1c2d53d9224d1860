"""Each selection policy's candidate order, pure and through the router."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.fixtures import TaskSpec as PoolShorthand
from tests.support.stub_openai import answer, delayed, server_error
from triage.routing import route
from triage.routing.config import ModelSpec, PoolSpec, TaskSpec
from triage.routing.latency import MIN_SAMPLES, latency_record
from triage.routing.policies import select_candidates

MESSAGES = [{"role": "user", "content": "hello"}]


def model(model_id: int, price_in: str = "1", price_out: str = "1", usable: bool = True) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        slug=f"m{model_id}",
        provider_id=1,
        provider_name="p",
        kind="openai",
        base_url="http://x",
        api_key_env="",
        timeout_seconds=1.0,
        input_price_per_m=Decimal(price_in),
        output_price_per_m=Decimal(price_out),
        supports_json_mode=False,
        context_window=128_000,
        usable=usable,
    )


def task(policy: str, *models: ModelSpec, expected_in: int = 1000, expected_out: int = 100) -> TaskSpec:
    return TaskSpec(
        id=1,
        name="t",
        description="",
        utterances=(),
        system_prompt="",
        policy=policy,
        expected_input_tokens=expected_in,
        expected_output_tokens=expected_out,
        first_token_timeout_seconds=5.0,
        pool=tuple(PoolSpec(rank, m) for rank, m in enumerate(models, start=1)),
    )


def slugs(models):
    return [m.slug for m in models]


def samples(ms: float, n: int = MIN_SAMPLES):
    record = None
    for _ in range(n):
        record = latency_record(record, total_ms=ms, first_token_ms=ms / 2)
    return record


def test_manual_ranking_keeps_rank_order():
    spec = task("manual_ranking", model(1), model(2), model(3))
    assert slugs(select_candidates(spec, latency={}, health={}, now=0)) == ["m1", "m2", "m3"]


def test_lowest_cost_orders_by_expected_cost_for_the_task():
    # 1000 in / 100 out: m1 = 1000*5 + 100*5, m2 = 1000*1 + 100*20, m3 = 1000*0.5 + 100*1
    spec = task("lowest_cost", model(1, "5", "5"), model(2, "1", "20"), model(3, "0.5", "1"))
    assert slugs(select_candidates(spec, latency={}, health={}, now=0)) == ["m3", "m2", "m1"]


def test_lowest_cost_depends_on_the_task_token_mix():
    cheap_in, cheap_out = model(1, "0.1", "10"), model(2, "2", "1")
    reading = task("lowest_cost", cheap_out, cheap_in, expected_in=10_000, expected_out=10)
    writing = task("lowest_cost", cheap_in, cheap_out, expected_in=10, expected_out=10_000)
    assert slugs(select_candidates(reading, latency={}, health={}, now=0)) == ["m1", "m2"]
    assert slugs(select_candidates(writing, latency={}, health={}, now=0)) == ["m2", "m1"]


def test_lowest_cost_ties_keep_rank_order():
    spec = task("lowest_cost", model(2, "1", "1"), model(1, "1", "1"))
    assert slugs(select_candidates(spec, latency={}, health={}, now=0)) == ["m2", "m1"]


def test_lowest_latency_uses_rank_order_until_every_model_has_samples():
    spec = task("lowest_latency", model(1), model(2))
    few = {1: samples(900), 2: samples(100, n=MIN_SAMPLES - 1)}
    order = select_candidates(spec, latency=few, health={}, now=0, explore=lambda: 0.99)
    assert slugs(order) == ["m1", "m2"]


def test_lowest_latency_now_and_then_measures_a_model_lacking_samples():
    spec = task("lowest_latency", model(1), model(2))
    few = {1: samples(900)}
    order = select_candidates(spec, latency=few, health={}, now=0, explore=lambda: 0.0)
    assert slugs(order) == ["m2", "m1"]


def test_lowest_latency_orders_by_rolling_estimate():
    spec = task("lowest_latency", model(1), model(2), model(3))
    measured = {1: samples(900), 2: samples(100), 3: samples(400)}
    assert slugs(select_candidates(spec, latency=measured, health={}, now=0)) == ["m2", "m3", "m1"]


def test_lowest_latency_uses_time_to_first_token_for_streams():
    spec = task("lowest_latency", model(1), model(2))
    fast_first_token = latency_record(None, total_ms=1000, first_token_ms=10)
    for _ in range(MIN_SAMPLES - 1):
        fast_first_token = latency_record(fast_first_token, total_ms=1000, first_token_ms=10)
    measured = {1: samples(500), 2: fast_first_token}
    assert slugs(select_candidates(spec, latency=measured, health={}, now=0)) == ["m1", "m2"]
    assert slugs(select_candidates(spec, latency=measured, health={}, now=0, streaming=True)) == ["m2", "m1"]


def test_model_that_failed_recently_ranks_last():
    spec = task("lowest_latency", model(1), model(2), model(3))
    measured = {1: samples(100), 2: samples(200), 3: samples(300)}
    health = {1: {"last_failure_at": 95.0}}
    assert slugs(select_candidates(spec, latency=measured, health=health, now=100.0)) == ["m2", "m3", "m1"]
    assert slugs(select_candidates(spec, latency=measured, health=health, now=1000.0)) == ["m1", "m2", "m3"]


def test_disabled_models_are_not_candidates():
    spec = task("manual_ranking", model(1, usable=False), model(2))
    assert slugs(select_candidates(spec, latency={}, health={}, now=0)) == ["m2"]


def test_tiered_pool_serves_only_the_matching_urgency():
    spec = TaskSpec(
        id=1,
        name="t",
        description="",
        utterances=(),
        system_prompt="",
        policy="manual_ranking",
        expected_input_tokens=1,
        expected_output_tokens=1,
        first_token_timeout_seconds=5.0,
        pool=(PoolSpec(1, model(1), max_urgency=3), PoolSpec(2, model(2), min_urgency=4)),
    )
    assert slugs(select_candidates(spec, latency={}, health={}, now=0, urgency=5)) == ["m2"]
    assert slugs(select_candidates(spec, latency={}, health={}, now=0, urgency=2)) == ["m1"]
    assert slugs(select_candidates(spec, latency={}, health={}, now=0)) == ["m1", "m2"]


# --- through the router, against the stub ---------------------------------------------------------
@pytest.mark.django_db
def test_lowest_cost_router_calls_the_cheapest_model(make_model, make_router, stub_openai):
    make_model("pricey", input_price="15", output_price="75")
    make_model("cheap", input_price="0.05", output_price="0.4")
    router = make_router(tasks={"t": PoolShorthand(pool=["pricey", "cheap"], policy="lowest_cost")})

    assert route(router, MESSAGES, task="t").served_by == "cheap"
    assert stub_openai.request_count("pricey") == 0


@pytest.mark.django_db
def test_lowest_latency_router_learns_which_model_is_faster(
    make_model, make_router, stub_openai, monkeypatch
):
    from triage.routing import policies

    monkeypatch.setattr(policies, "EXPLORE_RATE", 0.0)
    make_model("slow")
    make_model("fast")
    router = make_router(tasks={"t": PoolShorthand(pool=["slow", "fast"], policy="lowest_latency")})
    stub_openai.set_default("slow", delayed(0.15))
    stub_openai.set_default("fast", answer())
    # rank order until both have samples: slow serves; failures of slow hand samples to fast
    for _ in range(MIN_SAMPLES):
        assert route(router, MESSAGES, task="t").served_by == "slow"
    for _ in range(MIN_SAMPLES):
        stub_openai.script("slow", server_error())
        route(router, MESSAGES, task="t")
    # let slow's failures age out of "failed recently" without waiting a minute
    from triage.models import LLMModel
    from triage.routing.service import health_reset

    health_reset(LLMModel.objects.get(slug="slow").pk)

    assert route(router, MESSAGES, task="t").served_by == "fast"
