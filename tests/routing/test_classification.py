"""Task classification when the caller names no task: above the threshold, below it, per encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.fixtures import TaskSpec
from triage.routing import route
from triage.routing.classifier import classifier_build, description_phrases
from triage.routing.config import TaskSpec as FrozenTask

DATA = Path(__file__).resolve().parents[1] / "data" / "support_bot_queries.jsonl"

BILLING = TaskSpec(
    pool=["billing-model"],
    description="Billing disputes and charges: double charges, unexpected invoices, refunds, plan renewals.",
    utterances=[
        "I was charged twice for my subscription this month",
        "Why is my invoice higher than last month?",
        "I cancelled but you still billed me",
    ],
)
BILLING_WITH_LIST = TaskSpec(
    pool=["billing-model"],
    description="Billing disputes and charges that need care: double charges, unexpected invoices, "
    "refunds, renewals, cancellations, credits, tax and VAT on invoices, coupons.",
    utterances=["I was charged twice for my subscription this month"],
)
TECH = TaskSpec(
    pool=["tech-model"],
    description="Diagnosing infrastructure failures, Kubernetes errors, API errors and crashing deployments.",
    utterances=[
        "My Kubernetes pod keeps crashing with OOMKilled",
        "The API returns 502 errors from the gateway",
        "Deploy fails with exit code 137",
    ],
)


def frozen(name: str, spec: TaskSpec, index: int) -> FrozenTask:
    return FrozenTask(
        id=index,
        name=name,
        description=spec.description,
        utterances=tuple(spec.utterances),
        system_prompt="",
        policy="manual_ranking",
        expected_input_tokens=1,
        expected_output_tokens=1,
        first_token_timeout_seconds=1,
        pool=(),
    )


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def router(make_model, make_router):
    for slug in ("billing-model", "tech-model", "general-model"):
        make_model(slug)
    return make_router(tasks={"billing": BILLING, "tech": TECH}, fallbacks=["general-model"])


@pytest.mark.django_db
def test_request_above_threshold_goes_to_the_matched_task_pool(router, stub_openai):
    result = route(router, user("hi, you billed me twice for the subscription, please refund one"))

    assert result.matched_task == "billing"
    assert result.served_by == "billing-model"
    assert result.classification_score is not None and result.classification_score >= 0.35


@pytest.mark.django_db
def test_mixed_topic_query_picks_the_better_task(router, stub_openai):
    result = route(router, user("my deployment is billing me for resources I didn't use"))

    assert result.matched_task == "billing"


@pytest.mark.django_db
def test_request_below_threshold_goes_to_the_fallback_models(router, stub_openai):
    result = route(router, user("write me a poem about the sea"))

    assert result.matched_task is None
    assert result.served_by == "general-model"
    assert stub_openai.request_count("billing-model") == stub_openai.request_count("tech-model") == 0


@pytest.mark.django_db
def test_threshold_of_one_sends_everything_to_fallback(router, stub_openai):
    router.classifier_confidence_threshold = 1
    router.save()

    assert route(router, user("I was charged twice for my subscription")).matched_task is None


@pytest.mark.django_db
def test_recent_history_helps_a_vague_follow_up(router, stub_openai):
    messages = [
        {"role": "user", "content": "my kubernetes pod crashes with OOMKilled after deploy"},
        {"role": "assistant", "content": "Which node size are you using?"},
        {"role": "user", "content": "the default one, it still happens"},
    ]

    assert route(router, messages).matched_task == "tech"


@pytest.mark.django_db
def test_classifier_is_built_once_per_configuration(router, stub_openai, monkeypatch):
    from triage.routing import service

    built = []
    real = service.classifier_build

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "classifier_build", counting)
    route(router, user("charged twice"))
    route(router, user("pod crashing"))
    assert len(built) == 1
    router.description = "edited"
    router.save()
    route(router, user("charged twice"))
    assert len(built) == 2


def test_tfidf_tolerates_typos():
    classifier = classifier_build(
        [frozen("billing", BILLING, 1), frozen("tech", TECH, 2)], threshold=0.35, encoder="tfidf"
    )

    assert classifier.classify(user("i was chraged twise for my subscripton")).task == "billing"
    assert classifier.classify(user("kubernets pod crashng OOMkiled")).task == "tech"


def _labeled_accuracy(encoder: str) -> float:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from classification import evaluate, load_queries  # bench/classification.py

    return float(evaluate(encoder, 0.35, load_queries(DATA))["accuracy"])


def test_labeled_set_has_enough_realistic_queries():
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    assert len(rows) >= 80
    assert sum(1 for row in rows if row["task"] is None) >= 15
    assert len({row["query"].lower() for row in rows}) == len(rows)


def test_the_held_out_set_is_separate_and_labeled_with_preset_tasks():
    holdout = DATA.with_name("support_bot_queries_holdout.jsonl")
    rows = [json.loads(line) for line in holdout.read_text().splitlines() if line.strip()]
    tuned = {json.loads(line)["query"].lower() for line in DATA.read_text().splitlines() if line.strip()}
    assert len(rows) >= 40 and sum(1 for row in rows if row["task"] is None) >= 10
    assert not {row["query"].lower() for row in rows} & tuned  # never the same query as the tuned set
    assert {row["task"] for row in rows} == {
        None,
        "general_faq",
        "billing_support",
        "technical_troubleshooting",
    }


def test_tfidf_accuracy_on_the_labeled_set_does_not_regress():
    # measured 97.1% (bench/classification.py); a floor below it, to catch regressions only
    assert _labeled_accuracy("tfidf") >= 0.9


@pytest.mark.parametrize(
    "name",
    [
        "support_bot_queries_blind2.jsonl",
        "support_bot_queries_blind3.jsonl",
        "support_bot_queries_blind4.jsonl",
        "support_bot_queries_blind5.jsonl",
    ],
)
def test_each_blind_set_is_separate_from_the_others_and_labeled_with_preset_tasks(name: str):
    blind = DATA.with_name(name)
    rows = [json.loads(line) for line in blind.read_text().splitlines() if line.strip()]
    others = {
        json.loads(line)["query"].lower()
        for path in DATA.parent.glob("support_bot_queries*.jsonl")
        if path != blind
        for line in path.read_text().splitlines()
        if line.strip()
    }
    assert len(rows) >= 60 and sum(1 for row in rows if row["task"] is None) >= 16
    assert len({row["query"].lower() for row in rows}) == len(rows)
    assert not {row["query"].lower() for row in rows} & others
    labels = {row["task"] for row in rows}
    assert labels == {None, "general_faq", "billing_support", "technical_troubleshooting"}


def test_a_task_description_written_as_a_list_gives_one_example_per_item():
    assert description_phrases("Billing disputes: double charges, refunds of a charge and promo codes.") == [
        "Billing disputes",
        "double charges",
        "refunds of a charge",
        "promo codes",
    ]


def test_a_short_request_matching_one_item_of_a_long_description_finds_its_task():
    # the billing description lists "coupons" among many items; no utterance mentions them (without
    # the items as examples this request scored 0.21 and went to the fallbacks)
    classifier = classifier_build(
        [frozen("billing", BILLING_WITH_LIST, 1), frozen("tech", TECH, 2)], threshold=0.35, encoder="tfidf"
    )

    assert classifier.classify(user("my coupon didn't work")).task == "billing"


@pytest.mark.embeddings
def test_minilm_encoder_classifies_offline():
    classifier = classifier_build(
        [frozen("billing", BILLING, 1), frozen("tech", TECH, 2)], threshold=0.35, encoder="minilm"
    )

    assert classifier.classify(user("you took money from my card two times")).task == "billing"
    assert classifier.classify(user("my container is out of memory and restarts")).task == "tech"
    assert classifier.classify(user("what's a good recipe for banana bread")).task is None


@pytest.mark.embeddings
def test_minilm_accuracy_on_the_labeled_set_reaches_the_target():
    assert _labeled_accuracy("minilm") >= 0.88


@pytest.mark.embeddings
@pytest.mark.django_db
def test_router_can_choose_the_minilm_encoder(router, stub_openai):
    router.classifier_encoder = "minilm"
    router.save()

    result = route(router, user("you took money from my card two times"))

    assert result.matched_task == "billing"
