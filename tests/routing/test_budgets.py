"""Budgets: a remote call reserves its worst case before it leaves, a call that would pass a cap is
not sent and the local tier answers, the ledger ends at what the calls really cost, periods roll over
at the router's midnight, and many threads racing for one cap can't overrun it. The same tests run
on the Redis ledger (REDIS_URL set) and on the database ledger (the embedded default)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import StubOpenAI, answer
from triage.models import Budget, CallOutcome, Delivery, ModelCall, Router, WebhookEndpoint
from triage.routing import RoutingError, config_bump_version, route
from triage.routing.budgets import BudgetRefused, budget_reserve, budget_spec, budget_status, counters_for

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my invoice?"}]


@pytest.fixture(autouse=True)
def _fresh_ledger() -> None:
    from triage.routing.budgets import _redis

    client = _redis()
    if client is not None:
        for key in client.scan_iter("triage:budget:*"):
            client.delete(key)


@pytest.fixture
def router(make_model: Any, make_router: Any, test_local_model: Any, stub_openai: StubOpenAI) -> Router:
    # $10 per million tokens in and out: a call of ~10 prompt tokens and max_tokens=100 reserves ~$0.0011
    make_model("stub-paid", input_price="10", output_price="10")
    stub_openai.set_default("stub-paid", answer("paid answer", prompt_tokens=10, completion_tokens=20))
    return make_router(tasks={"faq": TaskSpec(pool=["stub-paid"])}, fallbacks=[test_local_model.slug])


def cap(router: Router, daily: str | None = None, monthly: str | None = None, **fields: Any) -> Budget:
    budget = Budget.objects.create(
        router=router,
        daily_cap=Decimal(daily) if daily else None,
        monthly_cap=Decimal(monthly) if monthly else None,
        **fields,
    )
    config_bump_version()
    return budget


def ask() -> Any:
    return route("test-router", MESSAGES, task="faq", max_tokens=100)


def test_under_the_cap_the_call_is_made_and_the_ledger_ends_at_its_real_cost(router: Router) -> None:
    budget = cap(router, daily="1.00")
    result = ask()
    assert result.served_by == "stub-paid"
    call = ModelCall.objects.get(outcome=CallOutcome.OK)
    assert call.cost == Decimal("0.0003")  # 10 + 20 tokens at $10/M: the reservation was replaced
    [day] = budget_status(budget)
    assert day["spent"] == call.cost


def test_a_call_that_would_pass_the_cap_is_skipped_and_the_local_tier_answers(
    router: Router, stub_openai: StubOpenAI
) -> None:
    cap(router, daily="0.0005")  # below one call's worst case
    result = ask()
    assert result.served_by.startswith("local/")
    skipped = [a for a in result.attempts if a.outcome == CallOutcome.SKIPPED_BUDGET]
    assert len(skipped) == 1 and "daily budget of test-router reached" in skipped[0].error
    assert stub_openai.request_count("stub-paid") == 0
    row = ModelCall.objects.get(outcome=CallOutcome.SKIPPED_BUDGET)
    assert row.cost == 0


def test_raising_the_cap_takes_effect_at_once(router: Router) -> None:
    budget = cap(router, daily="0.0005")
    assert ask().served_by.startswith("local/")
    budget.daily_cap = Decimal("5")
    budget.save()  # the admin's save: every process reads the new configuration
    assert ask().served_by == "stub-paid"


def test_many_threads_racing_for_one_cap_cannot_overrun_it(router: Router) -> None:
    budget = cap(router, daily="1.00")
    specs = [budget_spec(Budget.objects.select_related("router").get(pk=budget.pk))]
    granted: list[int] = []
    refused: list[int] = []
    start = threading.Barrier(20)

    def worker(n: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                try:
                    budget_reserve(specs, "faq", Decimal("0.03"))
                    granted.append(n)
                except BudgetRefused:
                    refused.append(n)
        finally:
            connection.close()  # each thread has its own; the test database is dropped after

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 33  # floor(1.00 / 0.03): not one more, however the threads interleave
    assert len(refused) == 100 - 33
    [day] = budget_status(budget)
    assert day["spent"] == Decimal("0.99")


def test_periods_roll_over_at_the_routers_midnight(router: Router) -> None:
    Router.objects.filter(pk=router.pk).update(time_zone="America/New_York")
    budget = cap(router, daily="1.00", monthly="10.00")
    spec = budget_spec(Budget.objects.select_related("router").get(pk=budget.pk))
    # 04:59 UTC is still the previous day in New York (UTC-5 in December); 05:00 is the next one
    before = counters_for([spec], "faq", datetime(2026, 12, 1, 4, 59, tzinfo=UTC))
    after = counters_for([spec], "faq", datetime(2026, 12, 1, 5, 0, tzinfo=UTC))
    assert [c.period for c in before] == ["day:2026-11-30", "month:2026-11"]
    assert [c.period for c in after] == ["day:2026-12-01", "month:2026-12"]


def test_a_lost_counter_is_rebuilt_from_the_audit_trail(router: Router) -> None:
    cap(router, daily="1.00")
    ModelCall.objects.create(
        router=router,
        task_name="faq",
        model_slug="stub-paid",
        started_at=timezone.now(),
        outcome="ok",
        cost=Decimal("0.9995"),
    )
    # no ledger entry yet (a new period, or Redis restarted): the spend comes from the calls made
    assert ask().served_by.startswith("local/")


def test_a_task_budget_caps_that_task_only(router: Router, make_model: Any, stub_openai: StubOpenAI) -> None:
    cap(router, daily="0.0005", task_name="other-task")
    assert ask().served_by == "stub-paid"


def test_warning_and_exceeded_are_announced_once_per_period(
    router: Router, client: Client, settings: Any
) -> None:
    WebhookEndpoint.objects.create(
        name="finance",
        url="http://127.0.0.1:9/hooks",
        events=["budget.warning", "budget.exceeded"],
        secret_env="TRIAGE_WEBHOOK_SECRET",
    )
    budget = cap(router, daily="0.0020", warn_at_percent=50)
    for _ in range(4):
        ask()
    events = list(Delivery.objects.order_by("id").values_list("event", flat=True))
    assert events == ["budget.warning", "budget.exceeded"]
    exceeded = Delivery.objects.get(event="budget.exceeded").payload["data"]
    assert exceeded["router"] == "test-router" and exceeded["cap"] == "0.002"
    budget.refresh_from_db()
    assert budget.exceeded_for.startswith("day:")
    metrics = client.get("/metrics").content.decode()
    assert 'triage_budget_exceeded{period="daily",router="test-router",task="*"} 1.0' in metrics
    assert 'triage_budget_cap_dollars{period="daily",router="test-router",task="*"} 0.002' in metrics


def test_the_admin_shows_spend_against_the_cap_and_a_banner_when_reached(
    router: Router, admin_client: Client
) -> None:
    cap(router, daily="0.0005")
    ask()
    listing = admin_client.get("/admin/triage/budget/").content.decode()
    assert "<progress" in listing and "daily $" in listing
    banner = admin_client.get("/admin/").content.decode()
    assert "Budget test-router reached its daily cap" in banner


def test_a_ticket_served_locally_for_the_budget_is_triaged_and_says_why(
    presets: None, make_model: Any, stub_openai: StubOpenAI, client: Client, agent_user: Any
) -> None:
    from triage.models import PoolEntry, RouterTask, Ticket
    from triage.pipeline.triage import triage_ticket
    from triage.services.tickets import ticket_submit

    router = Router.objects.get(name="triage-router")
    paid = make_model("stub-paid", input_price="10", output_price="10")
    PoolEntry.objects.filter(task__router=router).delete()
    for task in RouterTask.objects.filter(router=router):
        PoolEntry.objects.create(task=task, model=paid, rank=1)
    cap(router, daily="0.0001")
    ticket = ticket_submit(
        router=router, subject="Invoice copy", body="Please send last month's invoice.", enqueue=False
    )
    triage_ticket(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TRIAGED  # the budget doing its job is not a failure
    assert stub_openai.request_count("stub-paid") == 0
    client.force_login(agent_user)
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Skipped: budget reached" in html and "daily budget of triage-router reached" in html


def test_a_budget_with_daily_and_monthly_caps_warns_once_per_cap(router: Router) -> None:
    WebhookEndpoint.objects.create(
        name="finance",
        url="http://127.0.0.1:9/hooks",
        events=["budget.warning"],
        secret_env="TRIAGE_WEBHOOK_SECRET",
    )
    cap(router, daily="0.05", monthly="0.05", warn_at_percent=1)
    for _ in range(5):
        ask()
    periods = sorted(d.payload["data"]["period"].split(":")[0] for d in Delivery.objects.all())
    assert periods == ["day", "month"]  # one warning per cap, not one per call


def test_probes_and_shadows_are_capped_too(router: Router, stub_openai: StubOpenAI) -> None:
    from triage.models import LLMModel

    cap(router, daily="0.0005")
    paid = LLMModel.objects.get(slug="stub-paid")
    with pytest.raises(RoutingError):  # the only model asked is refused
        route("test-router", MESSAGES, task="faq", max_tokens=100, only_model=paid.pk)
    assert stub_openai.request_count("stub-paid") == 0
    assert ModelCall.objects.filter(outcome=CallOutcome.SKIPPED_BUDGET).count() == 1


def test_a_counter_lost_during_a_call_is_rebuilt_not_reset(router: Router) -> None:
    from triage.models import BudgetSpend
    from triage.routing.budgets import _redis, budget_settle

    budget = cap(router, daily="1.00")
    spec = budget_spec(Budget.objects.select_related("router").get(pk=budget.pk))
    earlier = {"router": router, "task_name": "faq", "model_slug": "stub-paid", "outcome": "ok"}
    ModelCall.objects.create(**earlier, started_at=timezone.now(), cost=Decimal("0.5"))
    reservation = budget_reserve([spec], "faq", Decimal("0.2"))
    client = _redis()
    if client is not None:
        for key in client.scan_iter("triage:budget:*"):
            client.delete(key)  # Redis restarted mid-call
    else:
        BudgetSpend.objects.all().delete()
    budget_settle(reservation, Decimal("0.01"))  # must not create the counter at -0.19
    [day] = budget_status(budget)
    assert day["spent"] == Decimal("0.5")  # what the audit trail says, not a reset


def test_an_unreachable_ledger_keeps_calls_local(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from triage.routing import budgets

    class Down:
        def mget(self, keys: Any) -> Any:
            raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(budgets, "_redis", lambda: Down())
    cap(router, daily="1.00")
    result = ask()
    assert result.served_by.startswith("local/")
    assert "budget ledger (Redis) is unreachable" in result.attempts[0].error
