"""Fault-injection soak: tickets through a real Celery worker and a private Redis while models fail.

    .venv/bin/python bench/soak.py [--tickets 2000] [--rate 8] [--concurrency 32] [--outage 60]

What it does (all figures printed at the end):
- starts its own redis-server on --redis-port (default 6391; never the system Redis) and uses its own
  PostgreSQL database (--database, default triage_soak: created if missing, its tables emptied);
- a router with 3 stub models per task (one of them, ``soak-down``, ranked first in every pool) and
  a healthy remote fallback; provider timeout --timeout (2 s);
- the stub (bench/chaos_stub.py) fails --error-rate (30%) of calls with a mix of 429 + Retry-After,
  500, hangs past the timeout, non-JSON bodies and answers the validator rejects;
- submits --tickets tickets at --rate per second through ``ticket_submit`` (subjects soak-<n>). The
  default, 8/s, is about half of what one 2-core machine's worker sustains with these faults, so
  the soak measures fault handling, not a saturated machine: at saturation every call (failures
  included) takes most of a second to come back, and a model that goes down mid-run has two dozen
  calls in flight before its first failures return (measured at 15/s here: 47 calls in the outage
  against 15 allowed). ``make load`` is the run at and past capacity;
- during the run: ``soak-down`` is fully down for --outage seconds (connection drops and 500s), the
  worker is SIGKILLed and restarted twice, Redis is shut down (nosave) and restarted once;
- runs ``tickets_sweep_stuck()`` every lease period as the beat would, until every ticket settled or
  --settle-timeout passed.

Checks: every ticket triaged or needs_attention (none lost, none stuck, none failed: the fallback is
always healthy), no (ticket, step) answered successfully twice (counted at the stub and in ModelCall
rows), that the downed model got no request once its breaker knew (``breaker_misses``: requests
in flight before its failures came back are counted apart, not failed, as are the half-open
trials), its wasted-call share (printed), and that its breaker opened and closed again. Exit status 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import allow_provider_key_env, database_reset, ensure_database, percentile  # noqa: E402 - after the path is set

TASKS = ("classify_ticket", "urgency_detection", "draft_customer_reply", "escalate_complex_issue")
SHORT = {
    "classify_ticket": "cls",
    "urgency_detection": "urg",
    "draft_customer_reply": "rep",
    "escalate_complex_issue": "brf",
}
DOWN = "soak-down"
FALLBACK = "soak-fallback"
STUB_KEY_ENV = "SOAK_STUB_KEY"
SETTLED = ("triaged", "needs_attention", "failed")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- private Redis ----------------------------------------------------------------------------------
class PrivateRedis:
    """A throwaway redis-server (no persistence) on its own port, restartable."""

    def __init__(self, port: int) -> None:
        if port == 6379:
            raise SystemExit("refusing to use the system Redis on 6379")
        self.port = port
        self.dir = Path(f"/tmp/soak-redis-{port}")

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "yes", "--dir", str(self.dir), "--logfile", str(self.dir / "log")],
            check=True,
        )  # fmt: skip
        for _ in range(100):
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def ping(self) -> bool:
        out = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return out.stdout.strip() == "PONG"

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        for _ in range(100):
            if not self.ping():
                return
            time.sleep(0.05)


def start_private_stack(args: argparse.Namespace) -> PrivateRedis | None:
    """The environment for a soak (``configure_env``), its own Redis started fresh, its database
    made, Django set up, the local models trained; None (said why) when redis-server is not installed."""
    if not shutil.which("redis-server"):
        print("redis-server is not installed")
        return None
    configure_env(args)
    redis = PrivateRedis(args.redis_port)
    redis.stop()
    redis.start()
    ensure_database()
    import django

    django.setup()
    from triage.local_models.builtin import local_models_warm

    # trained once before the clock starts, as `make run` does: a worker whose first start trains
    # them (tens of seconds) is still starting when the faults come, and the soak measures nothing
    started = time.perf_counter()
    local_models_warm()
    say(f"local models ready in {time.perf_counter() - started:.1f}s")
    return redis


def configure_env(args: argparse.Namespace) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "triage_site.settings"
    allow_provider_key_env("SOAK_STUB_KEY")  # its stub provider's key variable
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{args.redis_port}/0"
    os.environ["TRIAGE_RUN_LEASE_SECONDS"] = str(args.lease)
    os.environ["TRIAGE_MAX_RUNS"] = str(args.max_runs)
    os.environ[STUB_KEY_ENV] = "soak-key"


# --- router on stub models ---------------------------------------------------------------------------
def setup_router(stub_url: str, *, timeout: float, name: str = "soak-router", with_down: bool = True) -> Any:
    from django.core.cache import cache

    from triage.models import FallbackEntry, LLMModel, PoolEntry, Provider, Router, RouterTask

    database_reset()
    cache.clear()  # our private Redis: breaker state of an earlier run must not leak in
    provider = Provider.objects.create(
        name="soak stub", base_url=stub_url, api_key_env=STUB_KEY_ENV, timeout_seconds=Decimal(str(timeout))
    )
    router = Router.objects.create(name=name)

    def model(slug: str) -> Any:
        return LLMModel.objects.create(slug=slug, provider=provider, input_price_per_m=Decimal("1"))

    down = model(DOWN) if with_down else None
    for task in TASKS:
        row = RouterTask.objects.create(
            router=router, name=task, description=task, system_prompt=f"[task:{task}] Answer in JSON."
        )
        if down is not None:
            PoolEntry.objects.create(task=row, model=down, rank=1)
        PoolEntry.objects.create(task=row, model=model(f"soak-{SHORT[task]}-a"), rank=2)
        PoolEntry.objects.create(task=row, model=model(f"soak-{SHORT[task]}-b"), rank=3)
    FallbackEntry.objects.create(router=router, model=model(FALLBACK), order=1)
    return router


# --- the worker -------------------------------------------------------------------------------------------
class Worker:
    def __init__(self, concurrency: int, log_name: str, *, name: str = "soak", nice: int = 0) -> None:
        self.concurrency = concurrency
        self.nice = nice
        self.name = name
        self.log_path = ROOT / "var" / log_name
        self.log_path.parent.mkdir(exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the worker
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "triage_site", "worker", "--pool", "threads",
             "--concurrency", str(self.concurrency), "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"{self.name}{self.starts}@%h"],
            cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None,  # noqa: PLW1509 - no threads yet
        )  # fmt: skip
        self.starts += 1

    def kill(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


# --- submitting ------------------------------------------------------------------------------------------
class Submitter(threading.Thread):
    def __init__(self, router: Any, *, tickets: int, rate: float, prefix: str = "soak") -> None:
        super().__init__(daemon=True)
        self.router, self.tickets, self.rate, self.prefix = router, tickets, rate, prefix
        self.ids: list[int] = []
        self.enqueue_errors = 0
        self.submit_errors = 0
        self.started_at = 0.0
        self.finished_at = 0.0

    def run(self) -> None:
        from django.db import connection

        from triage.models import Ticket
        from triage.services.tickets import ticket_submit

        self.started_at = time.perf_counter()
        try:
            for n in range(self.tickets):
                due = self.started_at + n / self.rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                subject = f"{self.prefix}-{n}"
                try:
                    ticket = ticket_submit(
                        router=self.router, subject=subject, body="Dashboard down, 200 users blocked."
                    )
                    self.ids.append(ticket.pk)
                except Exception:  # noqa: BLE001 - the broker may be down (Redis restart)
                    # on_commit's enqueue failed after the ticket was stored: the sweeper must find it
                    stored = Ticket.objects.filter(subject=subject).values_list("pk", flat=True).first()
                    if stored is not None:
                        self.ids.append(stored)
                        self.enqueue_errors += 1
                    else:
                        self.submit_errors += 1
        finally:
            self.finished_at = time.perf_counter()
            connection.close()


# --- watching the downed model's breaker -----------------------------------------------------------------
class BreakerWatch(threading.Thread):
    """Polls the downed model's health record every 0.2 s: every open (with its cooldown), every close,
    and a sample per poll (``samples``: time, then open_until when open, 0.0 when closed, None when
    there is no record: Redis away or back empty)."""

    def __init__(self, model_id: int) -> None:
        super().__init__(daemon=True)
        self.model_id = model_id
        self.stop_event = threading.Event()
        self.opens: list[tuple[float, float, str]] = []  # (seen at, open_until, reason)
        self.closes: list[float] = []
        self.samples: list[tuple[float, float | None]] = []

    def run(self) -> None:
        from django.core.cache import cache

        from triage.routing import breaker

        last_until, was_open = 0.0, False
        while not self.stop_event.wait(0.2):
            health = cache.get(breaker.health_key(self.model_id))  # None while Redis is away
            if health is None:
                self.samples.append((time.time(), None))
                continue
            is_open = health.get("state") == breaker.OPEN
            self.samples.append((time.time(), float(health["open_until"]) if is_open else 0.0))
            if is_open and float(health["open_until"]) != last_until:
                last_until = float(health["open_until"])
                self.opens.append((time.time(), last_until, str(health.get("reason", ""))))
            if was_open and not is_open:
                self.closes.append(time.time())
            was_open = is_open


def breaker_misses(
    calls: list[tuple[float, float]],
    samples: list[tuple[float, float | None]],
    *,
    threshold: int,
    grace: float = 0.3,
) -> dict[str, int]:
    """Sorts the downed model's requests (sent at, failure seen at) by what its breaker knew when each left.

    - ``learning``: the breaker was closed, or its record was gone (Redis away or back empty: a
      process that never saw the record learns again), and fewer than ``threshold`` failures of
      that stretch had come back: no breaker can stop these (every worker thread may have one in
      flight before the first failure returns). A close while the model is down is a failure of
      its own, checked apart (``report``);
    - ``trial``: the first request after a cooldown ended (the half-open trial);
    - ``missed``: sent while the breaker was open, a second request in one half-open period, or sent
      after ``threshold`` failures had come back and the breaker stayed closed: its failures.
    The state is read ``grace`` seconds before each request (the watch polls every 0.2 s, and a
    request reads the state a moment before it leaves)."""
    counts = {"learning": 0, "trial": 0, "missed": 0}
    stretch: list[float] = []  # failures seen since the breaker was last open
    trials_used: set[float] = set()
    was_open = False
    for sent, failed_at in sorted(calls):
        known = [until for at, until in samples if at <= sent - grace]
        open_until = known[-1] if known else 0.0
        if open_until is not None and open_until > 0:
            was_open = True
            if sent < open_until or open_until in trials_used:
                counts["missed"] += 1
            else:
                trials_used.add(open_until)
                counts["trial"] += 1
            continue
        if was_open:
            stretch, was_open = [], False
        seen = sum(1 for at in stretch if at <= sent - grace)
        counts["learning" if seen < threshold else "missed"] += 1
        stretch.append(failed_at)
    return counts


def sweep() -> int:
    from triage.pipeline.triage import tickets_sweep_stuck

    try:
        return len(tickets_sweep_stuck())
    except Exception as exc:  # noqa: BLE001 - the broker may be down; the next sweep retries
        say(f"sweep failed: {type(exc).__name__}: {str(exc)[:120]}")
        from django.db import connection

        connection.close()
        return 0


# --- main ------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=8.0, help="tickets submitted per second")
    parser.add_argument("--concurrency", type=int, default=32, help="worker threads")
    parser.add_argument("--error-rate", type=float, default=0.3)
    parser.add_argument("--timeout", type=float, default=2.0, help="provider timeout, seconds")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the downed model is down")
    parser.add_argument("--lease", type=int, default=10, help="TRIAGE_RUN_LEASE_SECONDS")
    parser.add_argument("--max-runs", type=int, default=3, help="TRIAGE_MAX_RUNS")
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument("--database", default="triage_soak")
    args = parser.parse_args()
    redis = start_private_stack(args)
    if redis is None:
        return 1
    from bench.chaos_stub import ChaosStub
    from triage_site.celery import app

    stub = ChaosStub(error_rate=args.error_rate, timeout_seconds=args.timeout, healthy=(FALLBACK,))
    stub.start()
    router = setup_router(stub.base_url, timeout=args.timeout)
    app.control.purge()
    from triage.models import LLMModel

    down_id = LLMModel.objects.get(slug=DOWN).pk
    worker = Worker(args.concurrency, "soak-worker.log")
    say(
        f"soak: {args.tickets} tickets at {args.rate:g}/s, worker threads {args.concurrency}, stub errors "
        f"{args.error_rate:.0%}, timeout {args.timeout:g}s, lease {args.lease}s, max runs {args.max_runs}, "
        f"Redis :{args.redis_port}, database {args.database}; load average {loadavg()}"
    )
    submit_seconds = args.tickets / args.rate
    # the faults, as seconds after the start (spread over the submission window)
    timeline = sorted(
        [
            (max(5.0, 0.10 * submit_seconds), "outage"),
            (max(8.0, 0.20 * submit_seconds), "kill"),
            (max(16.0, 0.45 * submit_seconds), "redis"),
            (max(24.0, 0.70 * submit_seconds), "kill"),
        ]
    )
    watch = BreakerWatch(down_id)
    watch.start()
    worker.start()
    submitter = Submitter(router, tickets=args.tickets, rate=args.rate)
    started = time.perf_counter()
    submitter.start()
    swept = 0
    last_sweep = time.perf_counter()
    outage_window = (0.0, 0.0)
    kills: list[float] = []
    redis_restart_at = 0.0
    worker_exits = 0
    settled_at: float | None = None
    from triage.models import Ticket

    try:
        while True:
            now = time.perf_counter()
            elapsed = now - started
            while timeline and timeline[0][0] <= elapsed:
                _, event = timeline.pop(0)
                if event == "outage":
                    stub.take_down(DOWN, seconds=args.outage)
                    outage_window = (stub.down_from, stub.down_until)
                    say(f"{DOWN} down for {args.outage:g}s")
                elif event == "kill":
                    worker.kill()
                    kills.append(time.time())
                    say(
                        f"worker SIGKILLed (pid {worker.process.pid if worker.process else '?'}); restarting in 2s"
                    )
                    time.sleep(2)
                    worker.start()
                elif event == "redis":
                    redis.stop()
                    redis_restart_at = time.time()
                    say("Redis shut down (nosave); restarting in 2s")
                    time.sleep(2)
                    redis.start()
                    say("Redis back")
            if worker.process is not None and worker.process.poll() is not None:
                # a failed check (the worker must ride out the Redis restart by itself); restarted
                # so the rest of the run still measures something
                worker_exits += 1
                say(f"worker exited on its own (code {worker.process.returncode}); restarting it")
                worker.start()
            if now - last_sweep >= args.lease:
                swept += sweep()
                last_sweep = time.perf_counter()
            if not submitter.is_alive() and not timeline:
                try:
                    pending = Ticket.objects.exclude(status__in=SETTLED).count()
                except Exception:  # noqa: BLE001
                    pending = -1
                if pending == 0:
                    settled_at = time.perf_counter()
                    break
                if now - started > submit_seconds + args.settle_timeout:
                    say(f"gave up waiting: {pending} tickets not settled")
                    break
            time.sleep(0.25)
    finally:
        worker.stop()
        watch.stop_event.set()
    total = (settled_at or time.perf_counter()) - started
    say(f"run over after {total:.0f}s; load average {loadavg()}")
    ok = report(
        args,
        stub=stub,
        submitter=submitter,
        watch=watch,
        down_id=down_id,
        outage=outage_window,
        kills=kills,
        redis_restart_at=redis_restart_at,
        swept=swept,
        worker_exits=worker_exits,
        settled=settled_at is not None,
        total=total,
    )
    stub.stop()
    redis.stop()
    return 0 if ok else 1


def report(
    args: argparse.Namespace,
    *,
    stub: Any,
    submitter: Submitter,
    watch: BreakerWatch,
    down_id: int,
    outage: tuple[float, float],
    kills: list[float],
    redis_restart_at: float,
    swept: int,
    worker_exits: int,
    settled: bool,
    total: float,
) -> bool:
    import datetime as dt

    from django.db.models import Count

    from triage.models import CallOutcome, ModelCall, Ticket
    from triage.routing import breaker

    checks: list[tuple[str, bool, str]] = []
    ids = set(submitter.ids)
    tickets = Ticket.objects.filter(subject__startswith="soak-")
    by_status = Counter(
        dict(tickets.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    )
    stored = sum(by_status.values())
    print("\n=== soak figures ===")
    print(f"submitted {args.tickets} (stored {stored}, ids seen {len(ids)}; enqueue failures during the Redis "
          f"restart {submitter.enqueue_errors}, submit failures {submitter.submit_errors}) in "
          f"{submitter.finished_at - submitter.started_at:.0f}s; whole run {total:.0f}s")  # fmt: skip
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    runs = Counter(tickets.values_list("triage_runs", flat=True))
    print("triage runs per ticket: " + ", ".join(f"{k}: {v}" for k, v in sorted(runs.items())))
    print(f"faults: worker SIGKILLed {len(kills)}x, Redis restarted {'1x' if redis_restart_at else '0x'}, "
          f"worker exited on its own and restarted {worker_exits}x, sweeper re-enqueued {swept} tickets")  # fmt: skip
    lost = args.tickets - stored
    stuck = stored - sum(by_status[s] for s in SETTLED)
    failed = by_status.get("failed", 0)
    checks.append(("none lost", lost == 0, f"{lost} lost"))
    checks.append(("none stuck (all settled)", stuck == 0 and settled, f"{stuck} not settled"))
    checks.append(("none failed (fallback healthy)", failed == 0, f"{failed} failed"))
    checks.append(("the worker rode out the Redis restart (never exited)", worker_exits == 0,
                   f"exited {worker_exits}x"))  # fmt: skip
    if failed:
        reasons = Counter(
            r[:110] for r in tickets.filter(status="failed").values_list("attention_reason", flat=True)
        )
        for reason, n in reasons.most_common(4):
            print(f"  failed x{n}: {reason}")
    attention = Counter(
        r.split(";")[0][:90]
        for r in tickets.filter(status="needs_attention").values_list("attention_reason", flat=True)
    )
    for reason, n in attention.most_common(3):
        print(f"  needs_attention x{n}: {reason}")

    # what the stub did
    calls = sum(sum(c.values()) for c in stub.by_kind.values())
    kinds: Counter[str] = Counter()
    for model, counter in stub.by_kind.items():
        if model != FALLBACK:
            kinds.update(counter)
    chaos_calls = sum(kinds.values())
    faults = chaos_calls - kinds["ok"]
    print(f"stub: {calls} requests; on the chaos models {chaos_calls}, of which faults {faults} "
          f"({faults / max(chaos_calls, 1):.1%}): " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()) if k != "ok")
          + f"; fallback {sum(stub.by_kind[FALLBACK].values())} requests")  # fmt: skip

    # every request that reached the model server has its row (written before the request left)
    soak_rows = ModelCall.objects.filter(ticket__subject__startswith="soak-").exclude(
        outcome__startswith="skipped"
    )
    row_outcomes = Counter(soak_rows.values_list("outcome", flat=True))
    print(f"ModelCall rows for requests sent: {sum(row_outcomes.values())} (stub received {calls}); "
          + ", ".join(f"{k} {v}" for k, v in sorted(row_outcomes.items())))  # fmt: skip
    # a row may exist for a request that never left (the worker SIGKILLed between writing the row
    # and sending): it is interrupted, counted as possibly billed; a request without a row never is
    rows = sum(row_outcomes.values())
    checks.append(("every upstream request has its ModelCall row",
                   calls <= rows <= calls + row_outcomes.get("interrupted", 0),
                   f"{rows} rows for {calls} requests, {row_outcomes.get('interrupted', 0)} interrupted"))  # fmt: skip
    checks.append(
        ("no row left pending", row_outcomes.get("pending", 0) == 0, f"{row_outcomes.get('pending')}")
    )

    # no step answered twice
    doubles = {key: n for key, n in stub.successes.items() if n > 1}
    steps_answered = len(stub.successes)
    row_doubles = (
        ModelCall.objects.filter(outcome=CallOutcome.OK, ticket__subject__startswith="soak-")
        .values("ticket_id", "task_name")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    print(f"successful answers per (ticket, step): {steps_answered} steps answered; answered twice or more: "
          f"{len(doubles)} at the stub, {row_doubles} in ModelCall rows")  # fmt: skip
    ok_times: dict[tuple[str, str], list[float]] = {}
    for event in stub.events:
        if event.kind == "ok" and (event.subject, event.task) in doubles:
            ok_times.setdefault((event.subject, event.task), []).append(event.at)
    across_kill = {
        key
        for key, at in ok_times.items()
        if any(min(at) <= k <= max(at) for k in kills + [redis_restart_at])
    }
    print(f"  of those, {len(across_kill)} had their first answer in flight when the worker was SIGKILLed (or "
          f"Redis restarted) and were asked again by the re-run; {len(doubles) - len(across_kill)} otherwise")  # fmt: skip
    for (subject, task), n in list(doubles.items())[:5]:
        ticket = Ticket.objects.filter(subject=subject).first()
        at = ", ".join(
            f"{t - kills[0] if kills else t:+.1f}s" for t in sorted(ok_times.get((subject, task), []))
        )
        print(f"  {subject} {task}: {n} valid answers sent (at {at} from the first kill); "
              f"ticket runs {ticket.triage_runs if ticket else '?'}")  # fmt: skip
    checks.append(("no step answered twice", not doubles and not row_doubles, f"{len(doubles)} steps"))
    checks.append(("no step answered twice except across a SIGKILL", not (set(doubles) - across_kill),
                   f"{len(set(doubles) - across_kill)} steps"))  # fmt: skip

    # the downed model
    start, end = outage
    down_events = [e for e in stub.events if e.model == DOWN and start <= e.at < end]
    start_dt = dt.datetime.fromtimestamp(start, tz=dt.UTC)
    end_dt = dt.datetime.fromtimestamp(end, tz=dt.UTC)
    rows = ModelCall.objects.filter(model_id=down_id, started_at__gte=start_dt, started_at__lt=end_dt)
    outcomes = Counter(rows.values_list("outcome", flat=True))
    candidate = sum(outcomes.values())  # every request that reached it: called or skipped
    opens_in_outage = [o for o in watch.opens if start <= o[0] < end + 1]
    print(f"{DOWN} outage {end - start:.0f}s: called {len(down_events)}x (stub side), ModelCall rows: "
          + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))  # fmt: skip
    for seen, until, reason in opens_in_outage:
        print(f"  breaker opened at +{seen - start:.1f}s for {until - seen:.1f}s: {reason}")
    # the requests that left: the down stub only fails them (a SIGKILL may interrupt one, whose
    # failure never came back); a "timeout" row here is a deadline reached before sending
    real_calls = (CallOutcome.SERVER_ERROR, CallOutcome.CONNECTION_ERROR, CallOutcome.INTERRUPTED)
    sent = [
        (
            row.started_at.timestamp(),
            float("inf")
            if row.outcome == CallOutcome.INTERRUPTED
            else row.started_at.timestamp() + (row.latency_ms or 0) / 1000,
        )
        for row in rows.filter(outcome__in=real_calls)
    ]
    kinds = breaker_misses(sent, watch.samples, threshold=breaker.FAILURE_THRESHOLD)
    wasted = len(down_events) / max(candidate, 1)
    print(f"  its {len(sent)} requests by what the breaker knew when each left: {kinds['learning']} before "
          f"{breaker.FAILURE_THRESHOLD} failures had come back (in flight while it learned), {kinds['trial']} "
          f"half-open trials, {kinds['missed']} it should have stopped; {len(down_events)} of its share "
          f"{candidate} requests reached it ({wasted:.1%})")  # fmt: skip
    checks.append(("downed model: no request after its breaker knew, but one trial per cooldown",
                   kinds["missed"] == 0, f"{kinds['missed']} requests"))  # fmt: skip
    wrong_closes = [c for c in watch.closes if start + 1.0 < c < end]
    checks.append(("its breaker never closed while it was down", not wrong_closes,
                   ", ".join(f"+{c - start:.1f}s" for c in wrong_closes)))  # fmt: skip
    first_skip = (
        ModelCall.objects.filter(
            model_id=down_id, outcome=CallOutcome.SKIPPED_OPEN_CIRCUIT, started_at__gte=start_dt
        )
        .order_by("started_at")
        .first()
    )
    ok_after = None
    if first_skip is not None:
        ok_after = (
            ModelCall.objects.filter(
                model_id=down_id, outcome=CallOutcome.OK, started_at__gt=max(first_skip.started_at, end_dt)
            )
            .order_by("started_at")
            .first()
        )
    closes_after = [c for c in watch.closes if c >= end]

    def since_start(row: Any) -> str:
        return f"+{(row.started_at - start_dt).total_seconds():.1f}s" if row is not None else "never"

    print(f"  breaker: first skipped_open_circuit at {since_start(first_skip)}; first ok after the outage at "
          f"{since_start(ok_after)}; seen closing {len(watch.closes)}x ({len(closes_after)} after the outage)")  # fmt: skip
    checks.append(("breaker opened and closed again", first_skip is not None and ok_after is not None, "no"))

    # ticket times: created -> settled
    times = [
        (done - created).total_seconds()
        for created, done in tickets.filter(triaged_at__isnull=False).values_list("created_at", "triaged_at")
        if done is not None
    ]
    print(f"ticket time (submitted -> settled): p50 {statistics.median(times) if times else float('nan'):.2f}s, "
          f"p95 {percentile(times, 95):.2f}s, p99 {percentile(times, 99):.2f}s, max {max(times, default=0):.2f}s")  # fmt: skip
    print(f"load average {loadavg()} (2 cores, shared with other test runs)")
    print("\nchecks:")
    for name, passed, detail in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {name}" + ("" if passed else f"  ({detail})"))
    print("SOAK_RESULT " + json.dumps({name: passed for name, passed, _ in checks}))
    return all(passed for _, passed, _ in checks)


if __name__ == "__main__":
    sys.exit(main())
