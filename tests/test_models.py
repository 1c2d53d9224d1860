"""Validation rules on the routing configuration: clear errors, never a half-saved row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from triage.models import LLMModel, PoolEntry, Provider, Router, RouterTask, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider() -> Provider:
    return Provider.objects.create(name="Test", base_url="http://127.0.0.1:9/v1", api_key_env="TEST_KEY")


@pytest.fixture
def catalog(provider: Provider) -> list[LLMModel]:
    return [LLMModel.objects.create(slug=f"model-{i}", provider=provider) for i in range(4)]


@pytest.fixture
def task() -> RouterTask:
    router = Router.objects.create(name="r1")
    return RouterTask.objects.create(router=router, name="classify_ticket", description="classify")


def test_fourth_pool_entry_is_rejected(task: RouterTask, catalog: list[LLMModel]) -> None:
    for rank, model in enumerate(catalog[:3], start=1):
        entry = PoolEntry(task=task, model=model, rank=rank)
        entry.full_clean()
        entry.save()
    fourth = PoolEntry(task=task, model=catalog[3], rank=4)
    with pytest.raises(ValidationError, match="at most 3 models"):
        fourth.full_clean()


def test_negative_price_is_rejected(provider: Provider) -> None:
    model = LLMModel(slug="cheap", provider=provider, input_price_per_m=Decimal("-1"))
    with pytest.raises(ValidationError) as info:
        model.full_clean()
    assert "input_price_per_m" in info.value.message_dict


def test_duplicate_task_name_within_a_router_is_rejected(task: RouterTask) -> None:
    duplicate = RouterTask(router=task.router, name=task.name, description="again")
    with pytest.raises(ValidationError, match="already exists"):
        duplicate.full_clean()


def test_same_task_name_in_another_router_is_fine(task: RouterTask) -> None:
    other = Router.objects.create(name="r2")
    same = RouterTask(router=other, name=task.name, description="elsewhere", system_prompt="Classify.")
    same.full_clean()


def test_pool_model_whose_provider_is_disabled_is_rejected(task: RouterTask, catalog: list[LLMModel]) -> None:
    provider = catalog[0].provider
    provider.enabled = False
    provider.save()
    with pytest.raises(ValidationError, match="provider Test is disabled"):
        PoolEntry(task=task, model=catalog[0], rank=1).full_clean()


@pytest.mark.parametrize("threshold", [0, 6])
def test_escalation_threshold_outside_1_to_5_is_rejected(threshold: int) -> None:
    with pytest.raises(ValidationError) as info:
        Router(name="r3", escalation_threshold=threshold).full_clean()
    assert "escalation_threshold" in info.value.message_dict


def test_router_name_must_be_a_slug() -> None:
    with pytest.raises(ValidationError) as info:
        Router(name="not a slug!").full_clean()
    assert "name" in info.value.message_dict


def test_router_categories_must_be_a_list_of_unique_slugs() -> None:
    with pytest.raises(ValidationError, match="unique"):
        Router(name="r4", categories=["billing", "billing"]).full_clean()
    with pytest.raises(ValidationError, match="lower-case"):
        Router(name="r5", categories=["Billing Issues"]).full_clean()


def test_router_defaults_match_the_product() -> None:
    router = Router.objects.create(name="defaults")
    assert router.escalation_threshold == 4
    assert router.categories == ["billing", "bug", "how-to", "account", "feature-request", "other"]


def test_openai_provider_needs_a_base_url() -> None:
    with pytest.raises(ValidationError, match="base URL"):
        Provider(name="nowhere", kind=Provider.Kind.OPENAI_COMPATIBLE).full_clean()


def test_provider_key_status_reads_only_the_named_variable(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_KEY", raising=False)
    assert provider.key_is_set() is False
    monkeypatch.setenv("TEST_KEY", "sk-test")
    assert provider.key_is_set() is True


def test_ticket_subject_and_body_limits() -> None:
    router = Router.objects.create(name="tickets")
    with pytest.raises(ValidationError) as info:
        Ticket(subject="", body="x", router=router).full_clean()
    assert "subject" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        Ticket(subject="s" * 201, body="x" * (64 * 1024 + 1), router=router).full_clean()
    assert {"subject", "body"} <= set(info.value.message_dict)


def test_every_model_change_has_its_migration() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:  # --check exits non-zero when a migration is missing
        pytest.fail(f"models changed without a migration (run manage.py makemigrations):\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


def test_a_tickets_steps_are_read_without_joining_the_ticket_table() -> None:
    sql = str(Ticket(pk=1).steps.filter(is_current=True).query)
    assert "JOIN" not in sql  # the default ordering is by the ticket id column, not the relation
    assert sql.endswith('ORDER BY "triage_triagestep"."ticket_id" DESC, "triage_triagestep"."id" ASC')


def test_a_routers_model_calls_are_found_by_the_composite_index_alone() -> None:
    """ModelCall.router has no index of its own (migration 0007): the composite index that starts
    with the column serves the lookup, and the foreign key still holds."""
    from django.db import connection

    from triage.models import ModelCall

    table = ModelCall._meta.db_table
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, table)
    by_router = [
        name for name, info in indexes.items() if info["index"] and info["columns"][:1] == ["router_id"]
    ]
    assert by_router == ["modelcall_router_task_model"]
    assert any(info["foreign_key"] == ("triage_router", "id") for info in indexes.values())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f'EXPLAIN SELECT id FROM "{table}" WHERE router_id = 1')  # noqa: S608
            plan = " ".join(row[0] for row in cursor.fetchall())
        assert "modelcall_router_task_model" in plan
