"""Load on the API under gunicorn (PostgreSQL + Redis), measured with wrk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/api_load.py [--seconds 30] [--connections 32] [--workers 4]

1. POST /api/tickets: requests/s, p50/p95/p99, and afterwards every acknowledged (2xx) ticket is
   in the database exactly once (counted by this run's unique subject prefix).
2. POST /v1/chat/completions against a zero-latency stub model: requests/s and p50/p95, next to
   the same load sent to the stub directly; the difference is the router endpoint's added time.

Needs wrk (`apt-get install wrk`). The database is migrated and the tickets it creates stay.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
from bench.common import allow_provider_key_env  # noqa: E402 - after the path is set

allow_provider_key_env("BENCH_STUB_KEY")  # its stub provider's key variable
os.environ.setdefault("DEBUG", "1")
STUB_KEY_ENV = "BENCH_STUB_KEY"
os.environ[STUB_KEY_ENV] = "bench-key"

WRK_SCRIPT = """
wrk.method = "%(method)s"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
%(body)s
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%f %%f %%f %%f\\n", summary.requests, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def _wrk(
    url: str, *, key: str, body: dict[str, Any] | None, seconds: int, connections: int
) -> dict[str, float]:
    """POST ``body`` (GET when it is None) from ``connections`` clients for ``seconds``."""
    lua_body = f"wrk.body = [[{json.dumps(body)}]]" if body is not None else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"key": key, "body": lua_body, "method": "GET" if body is None else "POST"})
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    assert match, out
    requests, status_errors, socket_errors, duration, p50, p95, p99 = (float(x) for x in match.groups())
    return {
        "requests": requests,
        "non_2xx": status_errors,
        "socket_errors": socket_errors,
        "rps": requests / duration,
        "p50": p50,
        "p95": p95,
        "p99": p99,
    }


def _gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "0",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "triage_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310 - our own server
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def _setup(stub_url: str) -> str:
    from django.core.management import call_command

    from triage.models import ApiKey, LLMModel, PoolEntry, Provider, Router, RouterTask
    from triage.services.presets import presets_load

    call_command("migrate", verbosity=0)
    presets_load()
    provider, _ = Provider.objects.update_or_create(
        name="bench stub", defaults={"base_url": stub_url, "api_key_env": STUB_KEY_ENV, "timeout_seconds": 10}
    )
    model, _ = LLMModel.objects.get_or_create(
        slug="bench-direct", provider=provider, defaults={"input_price_per_m": Decimal("1")}
    )
    router, _ = Router.objects.get_or_create(name="bench-router")
    task, _ = RouterTask.objects.get_or_create(
        router=router, name="general_faq", defaults={"description": "faq"}
    )
    task.pool.all().delete()
    PoolEntry.objects.create(task=task, model=model, rank=1)
    _, raw = ApiKey.issue(
        name="bench", rate_limit_per_minute=10_000_000, scopes=["tickets", "routers", "models"]
    )
    return raw


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8787)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk")
        return 1
    from bench.common import ensure_database

    ensure_database()
    import django

    django.setup()
    from tests.support.stub_openai import StubOpenAI, answer
    from triage.models import Ticket
    from triage_site.celery import app

    stub = StubOpenAI().start()
    stub.record_requests = False
    stub.set_default("bench-direct", answer("We are open 9-5 UTC."))
    key = _setup(stub.base_url)
    server = _gunicorn(args.port, args.workers, args.threads)
    base = f"http://127.0.0.1:{args.port}"
    try:
        # the first answer comes from one worker while the others may still be importing Django:
        # warm every worker up before measuring
        _wrk(f"{base}/healthz", key=key, body=None, seconds=5, connections=args.connections)
        prefix = f"load-{uuid.uuid4().hex[:8]}"
        tickets = _wrk(
            f"{base}/api/tickets",
            key=key,
            body={"subject": f"{prefix} outage", "body": "Dashboard down."},
            seconds=args.seconds,
            connections=args.connections,
        )
        acknowledged = int(tickets["requests"] - tickets["non_2xx"] - tickets["socket_errors"])
        stored = Ticket.objects.filter(subject=f"{prefix} outage").count()
        print(
            f"POST /api/tickets, {args.connections} clients, {args.seconds}s, gunicorn {args.workers}x{args.threads} threads: "
            f"{tickets['rps']:.0f} req/s; p50 {tickets['p50']:.1f} ms, p95 {tickets['p95']:.1f} ms, "
            f"p99 {tickets['p99']:.1f} ms; acknowledged {acknowledged}, stored {stored} "
            f"({'none lost' if stored >= acknowledged else f'{acknowledged - stored} LOST'}; "
            f"{max(0, stored - acknowledged)} more were in flight when wrk stopped), "
            f"non-2xx {tickets['non_2xx']:.0f}"
        )

        # the same server answering its cheapest request: the ceiling of this machine + gunicorn
        # setup, next to which the ticket figure above can be read
        ceiling = _wrk(f"{base}/healthz", key=key, body=None, seconds=5, connections=args.connections)
        print(
            f"GET /healthz on the same server (no database, no broker): {ceiling['rps']:.0f} req/s, "
            f"p50 {ceiling['p50']:.1f} ms"
        )

        chat = {
            "model": "router:bench-router",
            "task": "general_faq",
            "messages": [{"role": "user", "content": "What are your support hours?"}],
        }
        seconds = max(5, args.seconds // 3)
        routed = _wrk(
            f"{base}/v1/chat/completions", key=key, body=chat, seconds=seconds, connections=args.connections
        )
        direct = _wrk(
            f"{stub.base_url}/chat/completions",
            key="bench-key",
            body={**chat, "model": "bench-direct"},
            seconds=seconds,
            connections=args.connections,
        )
        print(
            f"POST /v1/chat/completions (stub at 0 ms), {args.connections} clients: {routed['rps']:.0f} req/s, "
            f"p50 {routed['p50']:.1f} ms, p95 {routed['p95']:.1f} ms; the stub directly: {direct['rps']:.0f} req/s, "
            f"p50 {direct['p50']:.1f} ms; added p50 {routed['p50'] - direct['p50']:.1f} ms"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        stub.stop()
        app.control.purge()  # no worker ran: drop the queued triage tasks
    return 0


if __name__ == "__main__":
    sys.exit(main())
