"""Presets: the articles' catalog and prices, both routers, idempotent loading."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client

from triage.models import LLMModel, PoolEntry, Router, RouterTask
from triage.routing.pricing import call_cost

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("slug", "output_tokens", "expected"),
    [
        ("openai-gpt-5-nano", 40, Decimal("0.000031")),
        ("anthropic-claude-haiku-4.5", 30, Decimal("0.000450")),
        ("anthropic-claude-sonnet-4.6", 150, Decimal("0.003150")),
        ("anthropic-claude-opus-4.7", 250, Decimal("0.007750")),
    ],
)
def test_preset_prices_reproduce_the_articles_per_ticket_costs(
    presets: None, slug: str, output_tokens: int, expected: Decimal
) -> None:
    model = LLMModel.objects.get(slug=slug)
    cost = call_cost(
        input_price_per_m=model.input_price_per_m,
        output_price_per_m=model.output_price_per_m,
        prompt_tokens=300,
        completion_tokens=output_tokens,
    )
    assert cost == expected


def test_triage_router_has_the_articles_tasks_policies_and_pools(presets: None) -> None:
    router = Router.objects.get(name="triage-router")
    assert router.escalation_threshold == 4
    tasks = {t.name: t for t in router.tasks.all()}
    assert {name: t.selection_policy for name, t in tasks.items()} == {
        "classify_ticket": "lowest_cost",
        "urgency_detection": "lowest_cost",  # the cascade starts on the cheap model
        "draft_customer_reply": "manual_ranking",
        "escalate_complex_issue": "manual_ranking",
    }

    def pool(name: str) -> list[str]:
        return [e.model.slug for e in tasks[name].pool.order_by("rank")]

    # cheap first, a stronger model behind it for the cascade
    assert pool("classify_ticket") == ["openai-gpt-5-nano", "anthropic-claude-haiku-4.5"]
    assert pool("urgency_detection") == ["openai-gpt-5-nano", "anthropic-claude-haiku-4.5"]
    assert tasks["classify_ticket"].cascade_enabled and tasks["urgency_detection"].cascade_enabled
    # replies: calm tickets start on Nano with Haiku behind it (the cascade), urgent ones on Sonnet
    assert tasks["draft_customer_reply"].cascade_enabled
    assert pool("draft_customer_reply") == [
        "openai-gpt-5-nano",
        "anthropic-claude-haiku-4.5",
        "anthropic-claude-sonnet-4.6",
    ]
    nano, haiku, sonnet = tasks["draft_customer_reply"].pool.order_by("rank")
    assert [nano.serves_urgency(u) for u in range(1, 6)] == [True, True, True, False, False]
    assert [haiku.serves_urgency(u) for u in range(1, 6)] == [True, True, True, False, False]
    assert [sonnet.serves_urgency(u) for u in range(1, 6)] == [False, False, False, True, True]
    assert nano.reasoning_effort == "minimal"
    # briefs: Sonnet first, Opus when the cascade doubts Sonnet's brief
    assert tasks["escalate_complex_issue"].cascade_enabled
    assert pool("escalate_complex_issue") == ["anthropic-claude-sonnet-4.6", "anthropic-claude-opus-4.7"]
    for name in ("draft_customer_reply", "escalate_complex_issue"):
        assert '"confidence"' in tasks[name].system_prompt
        assert tasks[name].cascade_confidence_threshold == Decimal("0.7")
    assert tasks["classify_ticket"].cascade_confidence_threshold == Decimal("0.6")
    fallbacks = [f.model.slug for f in router.fallbacks.order_by("order")]
    assert fallbacks[0] == "llama3.3-70b-instruct"
    assert all(slug.startswith("local/") for slug in fallbacks[1:]) and len(fallbacks) > 1


def test_support_bot_router_tasks_have_precise_descriptions_and_examples(presets: None) -> None:
    router = Router.objects.get(name="support-bot-router")
    tasks = list(router.tasks.all())
    assert {t.name for t in tasks} == {"general_faq", "billing_support", "technical_troubleshooting"}
    assert all(len(t.utterances) >= 8 for t in tasks)
    assert [f.model.slug for f in router.fallbacks.order_by("order")] == [
        "llama3.3-70b-instruct",
        "local/support-bot",
    ]
    # its threshold comes from the preset (cross-validated), the other router keeps the default
    assert router.classifier_confidence_threshold == Decimal("0.25")
    assert Router.objects.get(name="triage-router").classifier_confidence_threshold == Decimal("0.35")


def test_every_router_ends_with_a_local_model(presets: None) -> None:
    for router in Router.objects.all():
        last = router.fallbacks.order_by("order").last()
        assert last is not None and last.model.provider.kind == "local"
        assert last.model.input_price_per_m == 0 and last.model.output_price_per_m == 0


def test_loading_presets_twice_changes_nothing(presets: None) -> None:
    before = (LLMModel.objects.count(), RouterTask.objects.count(), PoolEntry.objects.count())
    call_command("load_presets")
    assert (LLMModel.objects.count(), RouterTask.objects.count(), PoolEntry.objects.count()) == before


def test_loading_presets_keeps_admin_edits_unless_reset(presets: None) -> None:
    nano = LLMModel.objects.get(slug="openai-gpt-5-nano")
    nano.input_price_per_m = Decimal("0.07")
    nano.save()
    task = RouterTask.objects.get(router__name="triage-router", name="classify_ticket")
    task.pool.all().delete()
    call_command("load_presets")
    nano.refresh_from_db()
    assert nano.input_price_per_m == Decimal("0.07")
    assert task.pool.count() == 0
    call_command("load_presets", "--reset")
    nano.refresh_from_db()
    assert nano.input_price_per_m == Decimal("0.05")
    assert [e.model.slug for e in task.pool.order_by("rank")] == [
        "openai-gpt-5-nano",
        "anthropic-claude-haiku-4.5",
    ]


def test_loading_presets_creates_the_agents_group_the_pages_admit(presets: None, client: Client) -> None:
    """A deployment without demo data (docker-compose runs migrate + load_presets) still has the group
    the README tells admins to add agents to; only its members and staff get the pages."""
    outsider = User.objects.create_user("sam", "sam@example.com", "sam-password-123")
    client.force_login(outsider)
    assert client.get("/").status_code == 403
    outsider.groups.add(Group.objects.get(name="agents"))
    assert client.get("/").status_code == 200
