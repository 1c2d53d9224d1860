"""Budget soak: tickets through a real Celery worker and Redis against a daily cap hit mid-run, while
the stub jitters and fails.

    .venv/bin/python bench/budget_soak.py [--tickets 2000] [--rate 20] [--cap 4.00] [--error-rate 0.1]

Uses its own redis-server (--redis-port, default 6392) and PostgreSQL database (--database, default
triage_budget_soak: created if missing, emptied). A router with one stub model per task at $100/M
input and $200/M output tokens (so a few hundred tickets reach the cap) and the built-in local models
as its fallback. The stub (bench/chaos_stub.py) answers after 50-400 ms and fails --error-rate of
calls (429, 500, hangs past the timeout, bodies that are not JSON, answers the validator rejects).

Prints and checks:
- spend against the cap: the sum of ModelCall costs of the day, and the overspend (spend - cap)
  against the worst case of the calls in flight when the first call was refused (it must not be
  larger; with reservations it is at most 0);
- 0 tickets lost: every ticket triaged or needs_attention;
- after the cap: every ticket whose steps all started after the last remote call was admitted is
  served by the local tier, and how many tickets submitted after the first refusal still got a
  remote answer (room freed as calls in flight settled below their worst case);
- the ledger equals the stub's own bill: the stub's answered-with-usage requests x their tokens x the
  prices, against the sum of ModelCall costs.
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import database_reset  # noqa: E402 - after the path is set
from bench.soak import SETTLED, STUB_KEY_ENV, TASKS, Submitter, Worker, say, start_private_stack  # noqa: E402

IN_PRICE, OUT_PRICE = Decimal("100"), Decimal("200")  # dollars per million tokens
LOCAL_MODELS = (
    "local/ticket-classifier",
    "local/urgency-scorer",
    "local/reply-drafter",
    "local/brief-writer",
)


def setup(stub_url: str, *, timeout: float, cap: Decimal) -> Any:
    from django.core.cache import cache

    from triage.models import Budget, FallbackEntry, LLMModel, PoolEntry, Provider, Router, RouterTask

    database_reset()
    cache.clear()
    stub = Provider.objects.create(
        name="budget stub", base_url=stub_url, api_key_env=STUB_KEY_ENV, timeout_seconds=Decimal(str(timeout))
    )
    local = Provider.objects.create(name="Local", kind=Provider.Kind.LOCAL)
    router = Router.objects.create(name="budget-router")
    for task in TASKS:
        model = LLMModel.objects.create(
            slug=f"paid-{task}", provider=stub, input_price_per_m=IN_PRICE, output_price_per_m=OUT_PRICE
        )
        row = RouterTask.objects.create(
            router=router, name=task, description=task, system_prompt=f"[task:{task}] Answer in JSON."
        )
        PoolEntry.objects.create(task=row, model=model, rank=1)
    for order, slug in enumerate(LOCAL_MODELS, start=1):
        FallbackEntry.objects.create(
            router=router, model=LLMModel.objects.create(slug=slug, provider=local), order=order
        )
    Budget.objects.create(router=router, daily_cap=cap, warn_at_percent=80)
    return router


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--cap", type=Decimal, default=Decimal("4.00"), help="daily cap, dollars")
    parser.add_argument("--error-rate", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--settle-timeout", type=float, default=900.0)
    parser.add_argument("--redis-port", type=int, default=6392)
    parser.add_argument("--database", default="triage_budget_soak")
    parser.add_argument("--lease", type=int, default=10)
    parser.add_argument("--max-runs", type=int, default=3)
    args = parser.parse_args()
    redis = start_private_stack(args)
    if redis is None:
        return 1
    from bench.chaos_stub import ChaosStub
    from tests.support.stub_openai import Behaviour
    from triage_site.celery import app

    class JitterStub(ChaosStub):
        """Answers after 50-400 ms; counts the tokens it bills (answers sent with a usage block)."""

        billed_prompt = 0
        billed_completion = 0

        def _draw(self, model: str, task: str, subject: str, now: float) -> tuple[str, Behaviour]:
            kind, behaviour = super()._draw(model, task, subject, now)
            if behaviour.kind == "answer":
                from dataclasses import replace

                behaviour = replace(behaviour, delay=random.uniform(0.05, 0.4))
                with self._chaos_lock:
                    JitterStub.billed_prompt += behaviour.prompt_tokens
                    JitterStub.billed_completion += behaviour.completion_tokens
            return kind, behaviour

    stub = JitterStub(error_rate=args.error_rate, timeout_seconds=args.timeout)
    stub.start()
    router = setup(stub.base_url, timeout=args.timeout, cap=args.cap)
    app.control.purge()
    worker = Worker(args.concurrency, "budget-soak-worker.log", name="budget")
    say(
        f"budget soak: {args.tickets} tickets at {args.rate:g}/s against a daily cap of ${args.cap}, "
        f"stub errors {args.error_rate:.0%}, 50-400 ms answers, worker threads {args.concurrency}"
    )
    worker.start()
    time.sleep(3)
    submitter = Submitter(router, tickets=args.tickets, rate=args.rate, prefix="budget")
    started = time.perf_counter()
    submitter.start()
    from triage.models import Ticket

    settled = False
    try:
        while time.perf_counter() - started < args.tickets / args.rate + args.settle_timeout:
            time.sleep(2)
            if submitter.is_alive():
                continue
            pending = Ticket.objects.exclude(status__in=SETTLED).count()
            if pending == 0:
                settled = True
                break
    finally:
        worker.stop()
    ok = report(
        args,
        submitter=submitter,
        settled=settled,
        billed=(JitterStub.billed_prompt, JitterStub.billed_completion),
    )
    stub.stop()
    redis.stop()
    return 0 if ok else 1


def report(args: argparse.Namespace, *, submitter: Any, settled: bool, billed: tuple[int, int]) -> bool:
    from django.db.models import Max, Min, Sum

    from triage.models import CallOutcome, ModelCall, Ticket

    calls = ModelCall.objects.exclude(model_slug__startswith="local/")
    spend = calls.aggregate(total=Sum("cost"))["total"] or Decimal(0)
    first_refusal = calls.filter(outcome=CallOutcome.SKIPPED_BUDGET).aggregate(t=Min("started_at"))["t"]
    sent = calls.exclude(outcome__startswith="skipped")
    from triage.pipeline.subtasks import SUBTASKS

    in_flight_worst = Decimal(0)
    if first_refusal is not None:
        # the calls started before the first refusal and not finished by then, at their worst case
        # (prompt + the token limit sent, as the pending row held them)
        for call in sent.filter(started_at__lt=first_refusal):
            finished = call.started_at.timestamp() + call.latency_ms / 1000
            if finished > first_refusal.timestamp():
                limit = SUBTASKS[call.task_name].max_tokens or 0
                in_flight_worst += (call.prompt_tokens * IN_PRICE + limit * OUT_PRICE) / 10**6
    last_remote = sent.aggregate(t=Max("started_at"))["t"]
    tickets = Ticket.objects.all()
    lost = tickets.exclude(status__in=("triaged", "needs_attention")).count()
    after_first_refusal = tickets.filter(created_at__gt=first_refusal) if first_refusal else tickets.none()
    remote_after = after_first_refusal.filter(calls__in=sent).distinct().count()
    after_last_remote = tickets.filter(created_at__gt=last_remote) if last_remote else tickets.none()
    not_local = 0
    for ticket in after_last_remote.prefetch_related("steps"):
        served = [s.served_by for s in ticket.steps.all() if s.is_current and s.status == "done"]
        not_local += any(not slug.startswith("local/") for slug in served)
    stub_bill = (billed[0] * IN_PRICE + billed[1] * OUT_PRICE) / 10**6
    overspend = spend - args.cap
    print(
        f"tickets submitted {len(submitter.ids)}, settled {'all' if settled else 'NOT all'}; lost (not triaged/needs_attention): {lost}"
    )
    print(f"spend ${spend:.4f} against a cap of ${args.cap}: overspend ${overspend:.4f}")
    print(f"worst case of the calls in flight at the first refusal: ${in_flight_worst:.4f}")
    print(
        f"remote calls sent {sent.count()}, refused for the budget {calls.filter(outcome=CallOutcome.SKIPPED_BUDGET).count()}"
    )
    print(
        f"tickets after the first refusal: {after_first_refusal.count()}, of which {remote_after} still got a remote answer (room freed as calls in flight settled)"
    )
    print(
        f"tickets after the last remote call was admitted: {after_last_remote.count()}, not served by the local tier: {not_local}"
    )
    print(f"the stub's bill ${stub_bill:.6f} vs the sum of ModelCall costs ${spend:.6f}")
    checks = {
        "overspend <= worst case in flight": overspend <= in_flight_worst,
        "no ticket lost": lost == 0 and settled,
        "the cap was reached": first_refusal is not None,
        "after the cap: local tier only": not_local == 0,
        "ledger == the stub's bill": spend == stub_bill,
    }
    for name, passed in checks.items():
        print(f"  {'PASS' if passed else 'FAIL'} {name}")
    return all(checks.values())


if __name__ == "__main__":
    sys.exit(main())
