"""Pipeline throughput and latency through a real Celery worker, Redis and the stub model server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/pipeline.py [--tickets 1000] [--concurrency 32] [--delays 0,0.2] [--rate 10]

The database named in DATABASE_URL is created if missing and its tables are emptied: don't point
this at data you care about. Prints, per stub delay: tickets/s, p50/p95 ticket wall time in the
worker (first step started -> ticket settled) and its ratio to the critical path (two calls deep:
urgency, then the slower of reply and brief). By default the tickets are submitted before the
workers start, so throughput is the workers' own, from the first step to the last settled ticket.
With ``--rate`` the workers start first and the tickets arrive at that rate: the wall time then
also shows submitted -> settled, the time a user waits at that load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import allow_provider_key_env, cpu_seconds, database_reset, ensure_database, percentile  # noqa: E402 - after the path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
allow_provider_key_env("BENCH_STUB_KEY")  # its stub provider's key variable
# production settings: DEBUG would make Django keep every query in memory and slow all of it down
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
STUB_KEY_ENV = "BENCH_STUB_KEY"
os.environ[STUB_KEY_ENV] = "bench-key"


# (router, number of tickets, stub URL) -> ticket ids, their tasks queued for the workers
Submit = Callable[[Any, int, str], list[int]]

# what each task's model answers: urgency 5 with escalation risk, so every ticket runs all four steps
STUB_ANSWERS = {
    "bench-classify_ticket": json.dumps({"category": "bug", "confidence": 0.9}),
    "bench-urgency_detection": json.dumps(
        {"score": 5, "sentiment": "angry", "escalation_risk": True, "reason": "outage"}
    ),
    "bench-draft_customer_reply": json.dumps({"reply": "We are on it and will update you shortly."}),
    "bench-escalate_complex_issue": json.dumps(
        {"summary": "Outage for 200 users.", "next_steps": ["check gateway"]}
    ),
}


def setup(stub_url: str) -> Any:
    from triage.models import LLMModel, PoolEntry, Provider, Router, RouterTask

    database_reset()
    provider = Provider.objects.create(
        name="bench stub", base_url=stub_url, api_key_env=STUB_KEY_ENV, timeout_seconds=Decimal("10")
    )
    router = Router.objects.create(name="triage-router")
    for task in ("classify_ticket", "urgency_detection", "draft_customer_reply", "escalate_complex_issue"):
        model = LLMModel.objects.create(
            slug=f"bench-{task}", provider=provider, input_price_per_m=Decimal("1")
        )
        row = RouterTask.objects.create(
            router=router, name=task, description=task, system_prompt="Answer in JSON."
        )
        PoolEntry.objects.create(task=row, model=model, rank=1)
    return router


def start_workers(
    concurrency: int, processes: int, *, app: str = "triage_site", queue: str = "celery"
) -> list[subprocess.Popen[bytes]]:
    """``processes`` worker processes sharing ``concurrency`` threads: one Python process is held
    to one core by its interpreter lock, and threads that wait on it add to every ticket's wall time,
    so a 2-core machine runs four (as you would scale worker replicas)."""
    per_process = max(1, concurrency // processes)
    return [_start_worker(per_process, name=f"bench{i}", app=app, queue=queue) for i in range(processes)]


def _start_worker(concurrency: int, *, name: str, app: str, queue: str) -> subprocess.Popen[bytes]:
    log = open(ROOT / "var" / "bench-worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "threads", "--queues", queue,
         "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--hostname", f"{name}@%h"],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return worker


def _submit_tickets(router: Any, tickets: int, stub_url: str) -> list[int]:
    """Tickets as the API makes them: each queues its ``triage_ticket`` task when it commits."""
    from triage.services.tickets import ticket_submit

    return [
        ticket_submit(router=router, subject=f"Outage {i}", body="Dashboard down, 200 users blocked.").pk
        for i in range(tickets)
    ]


def _run(
    router: Any,
    submit: Submit,
    *,
    tickets: int,
    delay: float,
    concurrency: int,
    processes: int,
    stub: Any,
    app: str,
    queue: str,
    rate: float = 0.0,
) -> dict[str, float]:
    """Submit every ticket first, then start the workers (the figures measure the workers alone);
    or, at a ``rate``, start the workers first and submit the tickets as they would arrive."""
    from triage.models import Ticket

    Ticket.objects.all().delete()
    workers: list[subprocess.Popen[bytes]] = []
    if rate:
        ready_before = _workers_ready()
        workers = start_workers(concurrency, processes, app=app, queue=queue)
        _wait_for_workers(ready_before + processes)
    started = time.perf_counter()
    if rate:
        ids = []
        for n in range(tickets):
            time.sleep(max(started + n / rate - time.perf_counter(), 0))
            ids += submit(router, 1, stub.base_url)
    else:
        ids = submit(router, tickets, stub.base_url)
    submitted = time.perf_counter() - started
    if not rate:
        workers = start_workers(concurrency, processes, app=app, queue=queue)
    try:
        pids = {"worker": [worker.pid for worker in workers], "stub": [stub.pid]}
        return measure(ids, delay=delay, submitted=submitted, pids=pids)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)


def _workers_ready() -> int:
    """How many workers have said they are ready in the bench's worker log (remote control is off,
    so they can't be pinged)."""
    log = ROOT / "var" / "bench-worker.log"
    return log.read_text(errors="replace").count(" ready.") if log.exists() else 0


def _wait_for_workers(ready: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _workers_ready() >= ready:
            time.sleep(1)
            return
        time.sleep(0.2)
    raise RuntimeError("the workers did not say they were ready")


def measure(
    ids: list[int], *, delay: float, submitted: float, pids: dict[str, list[int]]
) -> dict[str, float]:
    from triage.models import Ticket, TriageStep

    tickets = len(ids)
    settled = ("triaged", "needs_attention", "failed")
    readings: list[tuple[int, dict[str, float]]] = []  # (tickets settled, CPU seconds so far)
    while (done := Ticket.objects.filter(pk__in=ids, status__in=settled).count()) < tickets:
        readings.append((done, cpu_seconds(pids)))
        time.sleep(0.2)
    last_done = Ticket.objects.filter(pk__in=ids).order_by("-triaged_at").first()
    assert last_done and last_done.triaged_at
    walls: list[float] = []
    firsts: dict[int, Any] = {}
    for ticket_id, started_at in TriageStep.objects.filter(
        ticket_id__in=ids, started_at__isnull=False
    ).values_list("ticket_id", "started_at"):
        firsts[ticket_id] = min(started_at, firsts.get(ticket_id, started_at))
    waits: list[float] = []  # submitted -> settled
    for ticket in Ticket.objects.filter(pk__in=ids):
        assert ticket.triaged_at is not None
        walls.append((ticket.triaged_at - firsts[ticket.pk]).total_seconds())
        waits.append((ticket.triaged_at - ticket.created_at).total_seconds())
    elapsed = (last_done.triaged_at - min(firsts.values())).total_seconds()
    not_triaged = Ticket.objects.filter(pk__in=ids).exclude(status="triaged")
    failed = not_triaged.count()
    for status, reason in not_triaged.values_list("status", "attention_reason")[:5]:
        print(f"  not triaged: {status}: {reason}")
    critical = 2 * delay
    return _cpu_per_ticket(readings) | {
        "tickets_per_s": tickets / elapsed,
        "submit_s": submitted,
        "wall_p50_ms": 1000 * statistics.median(walls),
        "wall_p95_ms": 1000 * percentile(walls, 95),
        "ratio_p95": (percentile(walls, 95) / critical) if critical else float("nan"),
        "submitted_p95_ms": 1000 * percentile(waits, 95),
        "submit_per_s": tickets / submitted,
        "not_triaged": failed,
    }


def _cpu_per_ticket(readings: list[tuple[int, dict[str, float]]]) -> dict[str, float]:
    """CPU milliseconds per ticket of each process group, in the steady middle of the run (from 10%
    to 90% of the tickets settled), so the workers' start-up and the tail's idle threads don't count."""
    if not readings or not readings[0][1]:
        return {}
    total = readings[-1][0] or 1
    middle = [r for r in readings if 0.1 * total <= r[0] <= 0.9 * total] or readings
    (first_done, first), (last_done, last) = middle[0], middle[-1]
    settled = last_done - first_done
    if settled <= 0:
        return {}
    return {f"cpu_ms_{group}": 1000 * (last[group] - first.get(group, 0.0)) / settled for group in last}


def cpu_line(figures: dict[str, float]) -> str:
    parts = {
        key.removeprefix("cpu_ms_"): value for key, value in figures.items() if key.startswith("cpu_ms_")
    }
    if not parts:
        return ""
    total = sum(parts.values())
    cores = os.cpu_count() or 1
    listed = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(parts.items(), key=lambda p: -p[1]))
    return (
        f"  CPU per ticket (steady middle of the run): {listed}; in all {total:.1f} ms "
        f"(so {cores} cores could settle at most {1000 * cores / total:.0f} tickets/s)"
    )


def run_bench(description: str, title: str, submit: Submit, *, celery_app: Any, app: str, queue: str) -> int:
    """Parse the command line, then for each stub delay: a fresh stub and router, the tickets
    ``submit`` queues for ``app``'s workers on ``queue``, and the figures printed."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32, help="threads in all, across processes")
    parser.add_argument(
        "--processes",
        type=int,
        default=4,
        help="worker processes sharing the threads (4 x 8 measured better than 2 x 16 on 2 cores: fewer "
        "threads contend for each process's interpreter lock)",
    )
    parser.add_argument("--delays", default="0,0.2", help="stub delays per call, seconds, comma-separated")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="tickets/s arriving while the workers run (0: a backlog first)",
    )
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from django.db import connections

    from bench.stub_process import StubProcess
    from tests.support.stub_openai import delayed

    print(f"{title}: {args.tickets} tickets, worker concurrency {args.concurrency} "
          f"in {args.processes} processes, "
          f"backends: {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'} + "
          f"{'Redis' if os.environ.get('REDIS_URL') else 'file broker'}")  # fmt: skip
    for delay in (float(d) for d in args.delays.split(",")):
        connections.close_all()  # fork the stub while this process holds no database connection
        stub = StubProcess({slug: delayed(delay, content) for slug, content in STUB_ANSWERS.items()})
        try:
            router = setup(stub.base_url)
            celery_app.control.purge()
            figures = _run(
                router,
                submit,
                tickets=args.tickets,
                delay=delay,
                concurrency=args.concurrency,
                processes=args.processes,
                stub=stub,
                app=app,
                queue=queue,
                rate=args.rate,
            )
        finally:
            stub.stop()
        print(
            f"stub {delay * 1000:.0f} ms/call: {figures['tickets_per_s']:.1f} tickets/s; "
            f"wall p50 {figures['wall_p50_ms']:.0f} ms, p95 {figures['wall_p95_ms']:.0f} ms; "
            f"p95 / critical path ({2 * delay * 1000:.0f} ms) = {figures['ratio_p95']:.2f}; "
            + (
                f"(arriving at {args.rate:g}/s: submitted -> settled p95 {figures['submitted_p95_ms']:.0f} ms); "
                if args.rate
                else f"(submitted beforehand at {figures['submit_per_s']:.0f}/s); "
            )
            + f"not triaged: {figures['not_triaged']:.0f}"
        )
        if line := cpu_line(figures):
            print(line)
    return 0


def main() -> int:
    from triage_site.celery import app

    return run_bench(
        __doc__ or "", "pipeline bench", _submit_tickets, celery_app=app, app="triage_site", queue="celery"
    )


if __name__ == "__main__":
    sys.exit(main())
