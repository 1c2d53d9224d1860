"""Load: tickets submitted through the API under gunicorn at a fixed rate while a worker triages them.

    .venv/bin/python bench/load.py [--rate 50] [--seconds 120] [--worker-processes 2] [--concurrency 16]

Uses its own redis-server on --redis-port (default 6392; never the system Redis) and its own
PostgreSQL database (--database, default triage_load: created if missing, its tables emptied). The
stub model server answers every call validly after --delay (0.2 s); a router with two stub models
per task and a fallback. POST /api/tickets is sent on a fixed schedule (request i at i / rate,
from --clients keep-alive connections); a Celery worker (thread pool) consumes.

Prints the achieved submission rate and HTTP latency, that every acknowledged ticket was processed,
and the ticket completion time (created -> settled) p50/p95/p99, with the load average.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.soak import (  # noqa: E402 - after the path is set
    SETTLED,
    STUB_KEY_ENV,
    PrivateRedis,
    Worker,
    ensure_database,
    loadavg,
    percentile,
    say,
    setup_router,
)


class Client(threading.Thread):
    """Takes the next request index, waits for its slot on the schedule, POSTs, records."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(daemon=True)
        self.shared = shared

    def run(self) -> None:
        shared = self.shared
        conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=30)
        while True:
            n = shared.next_index()
            if n is None:
                break
            due = shared.t0 + n / shared.rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body = json.dumps(
                {
                    "subject": f"{shared.prefix}-{n}",
                    "body": "Dashboard down, 200 users blocked.",
                    "router": shared.router,
                }
            )
            sent = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/api/tickets",
                    body=body,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {shared.key}"},
                )
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=30)
                status, data = 0, b""
            shared.record(status, data, sent, time.perf_counter())
        conn.close()


class Shared:
    def __init__(self, *, port: int, key: str, rate: float, total: int, router: str) -> None:
        self.port, self.key, self.rate, self.total, self.router = port, key, rate, total, router
        self.prefix = f"load-{uuid.uuid4().hex[:6]}"
        self.t0 = 0.0
        self._next = 0
        self._lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.ids: list[int] = []
        self.latencies: list[float] = []
        self.last_ack = 0.0
        self.lag: list[float] = []  # how late each request was sent against its slot

    def next_index(self) -> int | None:
        with self._lock:
            if self._next >= self.total:
                return None
            self._next += 1
            return self._next - 1

    def record(self, status: int, data: bytes, sent: float, done: float) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.latencies.append(done - sent)
            self.last_ack = max(self.last_ack, done)
            if status in (200, 202):
                self.ids.append(int(json.loads(data)["id"]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0, help="tickets per second")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long to submit")
    parser.add_argument("--delay", type=float, default=0.2, help="stub latency per model call, seconds")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="worker threads per process (each holds a database connection; TRIAGE_STEP_THREADS adds more)",
    )
    parser.add_argument(
        "--lease", type=int, default=30, help="TRIAGE_RUN_LEASE_SECONDS (renewed while a run works)"
    )
    parser.add_argument(
        "--worker-processes", type=int, default=2, help="Celery worker processes (one per core)"
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="nice value of the workers: on one shared machine the API keeps the CPU it needs to take "
        "tickets at the offered rate while the workers work through the backlog (in production they "
        "run on their own cores); 0 lets them compete",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (4 threads each)")
    parser.add_argument("--clients", type=int, default=16, help="client connections")
    parser.add_argument("--settle-timeout", type=float, default=900.0)
    parser.add_argument(
        "--sweep-every", type=float, default=60.0, help="seconds between sweeps (the beat: 60)"
    )
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--redis-port", type=int, default=6392)
    parser.add_argument("--database", default="triage_load")
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "triage_site.settings"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{args.redis_port}/0"
    os.environ[STUB_KEY_ENV] = "soak-key"
    os.environ["TRIAGE_RUN_LEASE_SECONDS"] = str(args.lease)
    redis = PrivateRedis(args.redis_port)
    redis.stop()
    redis.start()
    ensure_database()
    import django

    django.setup()
    from bench.api_load import _gunicorn
    from bench.chaos_stub import ChaosStub
    from bench.soak import sweep
    from triage.models import ApiKey, Ticket
    from triage_site.celery import app

    stub = ChaosStub(error_rate=0.0, delay=args.delay)
    stub.start()
    router = setup_router(stub.base_url, timeout=10.0, name="load-router", with_down=False)
    app.control.purge()
    _, key = ApiKey.issue(name="load", rate_limit_per_minute=10**7)
    total = int(args.rate * args.seconds)
    shared = Shared(port=args.port, key=key, rate=args.rate, total=total, router=router.name)
    say(
        f"load: {total} tickets at {args.rate:g}/s for {args.seconds:g}s through POST /api/tickets "
        f"(gunicorn {args.web_workers}x4 threads, {args.clients} client connections); stub {args.delay * 1000:.0f} "
        f"ms/call; worker {args.worker_processes} process(es) x {args.concurrency} threads at nice "
        f"{args.worker_nice}; load average {loadavg()}"
    )
    server = _gunicorn(args.port, args.web_workers)
    workers = [
        Worker(args.concurrency, "load-worker.log", name=f"load{i}-", nice=args.worker_nice)
        for i in range(args.worker_processes)
    ]
    log_path = workers[0].log_path
    log_offset = log_path.stat().st_size if log_path.exists() else 0
    for worker in workers:
        worker.start()
    time.sleep(3)  # let the worker connect before the clock starts
    settled_all = False
    try:
        clients = [Client(shared) for _ in range(args.clients)]
        shared.t0 = time.perf_counter()
        for client in clients:
            client.start()
        swept = 0
        while any(client.is_alive() for client in clients):
            for client in clients:
                client.join(timeout=args.sweep_every)
            swept += sweep()  # as the beat would
        submit_elapsed = shared.last_ack - shared.t0
        backlog = Ticket.objects.filter(subject__startswith=shared.prefix).exclude(status__in=SETTLED).count()
        say(f"submission over after {submit_elapsed:.1f}s; {backlog} tickets not yet settled")
        deadline = time.perf_counter() + args.settle_timeout
        last_sweep = time.perf_counter()
        while time.perf_counter() < deadline:
            if time.perf_counter() - last_sweep >= args.sweep_every:
                swept += sweep()
                last_sweep = time.perf_counter()
            pending = Ticket.objects.filter(pk__in=shared.ids).exclude(status__in=SETTLED).count()
            if pending == 0:
                settled_all = True
                break
            time.sleep(0.5)
        drained = time.perf_counter() - shared.t0
    finally:
        for worker in workers:
            worker.stop()
        server.terminate()
        server.wait(timeout=30)
        stub.stop()

    acked = len(shared.ids)
    rows = Ticket.objects.filter(pk__in=shared.ids)
    statuses = Counter(rows.values_list("status", flat=True))
    times = [
        (done - created).total_seconds()
        for created, done in rows.filter(triaged_at__isnull=False).values_list("created_at", "triaged_at")
        if done is not None
    ]
    http_ms = [1000 * x for x in shared.latencies]
    print("\n=== load figures ===")
    print(
        f"submitted {total} requests: achieved {total / submit_elapsed:.1f} req/s (target {args.rate:g}); HTTP "
        + ", ".join(f"{k or 'error'}: {v}" for k, v in sorted(shared.statuses.items()))
        + f"; latency p50 {statistics.median(http_ms):.0f} ms, p95 {percentile(http_ms, 95):.0f} ms, "
        f"p99 {percentile(http_ms, 99):.0f} ms"
    )
    print(
        f"processed: {sum(statuses[s] for s in SETTLED)} of {acked} acknowledged settled "
        f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}); all settled {drained:.1f}s after the "
        f"first request" + ("" if settled_all else " (GAVE UP waiting)")
    )
    print(
        f"ticket completion (created -> settled): p50 {statistics.median(times) if times else float('nan'):.2f}s, "
        f"p95 {percentile(times, 95):.2f}s, p99 {percentile(times, 99):.2f}s, max {max(times, default=0):.2f}s; "
        f"worker throughput {len(times) / drained:.1f} tickets/s over the whole run "
        f"({len(times) / drained / args.worker_processes:.1f} per worker process)"
    )
    with open(log_path, "rb") as log:
        log.seek(log_offset)
        errors = Counter(
            line.split(b"raised unexpected: ")[1][:60].decode(errors="replace")
            for line in log
            if b"raised unexpected: " in line
        )
    print(
        f"sweeper (every {args.sweep_every:g}s, as the beat; lease {args.lease}s) re-enqueued {swept}; worker task errors {sum(errors.values())}"
        + "".join(f"; {n}x {text}" for text, n in errors.most_common(3))
    )
    print(f"load average {loadavg()} (2 cores, shared with other test runs)")
    redis.stop()
    ok = settled_all and acked == total and statuses.get("triaged", 0) == acked
    print(f"\n{'PASS' if ok else 'FAIL'}: every submitted ticket acknowledged and triaged")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
