"""Server time and SQL queries of the agent pages with 100,000 tickets in the database.

    .venv/bin/python bench/pages.py [--tickets 100000] [--runs 50]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_pages .venv/bin/python bench/pages.py

Uses the configured database (created if it is a missing PostgreSQL database; migrated). Tickets
made by this script carry the account id ``bench-pages``; it tops them up to ``--tickets`` and
reuses them on the next run. Requests go through Django's whole stack (middleware, session, auth,
view, template) with the test client, so the times are server time without the network.
Every bench ticket gets its four step rows and their calls, so analytics reads 400,000 steps.
Prints p50/p95 per page and the number of SQL queries each one ran.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, percentile  # noqa: E402 - after the path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BENCH_ACCOUNT = "bench-pages"


def _fill(target: int) -> None:
    from decimal import Decimal

    from django.utils import timezone

    from triage.models import ModelCall, Router, Ticket, TriageStep
    from triage.pipeline.subtasks import subtask_names
    from triage.services.presets import presets_load

    presets_load()
    router = Router.objects.get(name="triage-router")
    have = Ticket.objects.filter(account_id=BENCH_ACCOUNT).count()
    missing = max(0, target - have)
    if missing:
        print(f"creating {missing:,} tickets...", flush=True)
        categories = ("billing", "bug", "how-to", "account", "feature-request", "other")
        batch: list[Ticket] = []
        for i in range(missing):
            batch.append(
                Ticket(
                    subject=f"Bench ticket {have + i}: export fails on report {i % 97}",
                    body="The export button shows an error page since this morning.",
                    account_id=BENCH_ACCOUNT,
                    router=router,
                    status="triaged" if i % 11 else "needs_attention",
                    category=categories[i % len(categories)],
                    urgency_score=i % 5 + 1,
                    escalated=i % 5 >= 3,
                )
            )
            if len(batch) == 5000:
                Ticket.objects.bulk_create(batch)
                batch = []
        Ticket.objects.bulk_create(batch)
    served = {
        "classify_ticket": "openai-gpt-5-nano",
        "urgency_detection": "anthropic-claude-haiku-4.5",
        "draft_customer_reply": "anthropic-claude-haiku-4.5",
        "escalate_complex_issue": "anthropic-claude-sonnet-4.6",
    }
    without = list(
        Ticket.objects.filter(account_id=BENCH_ACCOUNT, steps__isnull=True).values_list("pk", flat=True)
    )
    if without:
        print(f"creating steps and calls for {len(without):,} tickets...", flush=True)
    for start in range(0, len(without), 2000):
        steps = []
        for pk in without[start : start + 2000]:
            for name in subtask_names():
                chain = [{"model": served[name], "outcome": "ok", "latency_ms": 300 + pk % 900, "error": ""}]
                if pk % 50 == 0:  # one ticket in fifty failed over
                    chain.insert(
                        0, {"model": "llama3.3-70b-instruct", "outcome": "timeout", "latency_ms": 900}
                    )
                steps.append(
                    TriageStep(
                        ticket_id=pk,
                        task_name=name,
                        status="done",
                        served_by=served[name],
                        result={"category": "bug", "confidence": 0.9, "score": 3, "reply": "Thanks, on it."},
                        attempts=chain,
                        latency_ms=300 + pk % 900,
                        prompt_tokens=200,
                        completion_tokens=40,
                        cost=Decimal("0.0003"),
                    )
                )
        TriageStep.objects.bulk_create(steps)
        ModelCall.objects.bulk_create(
            [
                ModelCall(
                    router=router,
                    task_name=step.task_name,
                    model_slug=step.served_by,
                    ticket_id=step.ticket_id,
                    step_id=step.pk,
                    started_at=timezone.now(),
                    latency_ms=step.latency_ms or 0,
                    outcome="ok",
                    prompt_tokens=200,
                    completion_tokens=40,
                    cost=Decimal("0.0003"),
                )
                for step in steps
            ]
        )
    _vacuum()


def _vacuum() -> None:
    """What autovacuum does on a live database: statistics and the visibility map after bulk loads."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("triage_ticket", "triage_triagestep", "triage_modelcall"):
                cursor.execute(f"VACUUM ANALYZE {table}")


def _measure(
    client: Any, url: str, runs: int, headers: dict[str, str] | None = None
) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, headers=headers or {})  # warm caches and templates
    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers or {})
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 286), (url, response.status_code)
        queries = len(captured)
    return percentile(times, 50), percentile(times, 95), queries


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from triage.models import Ticket

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    _fill(args.tickets)
    user, _ = User.objects.get_or_create(username="bench-agent")
    user.groups.add(Group.objects.get_or_create(name="agents")[0])
    client = Client()
    client.force_login(user)
    newest = Ticket.objects.order_by("-created_at", "-id").values_list("pk", flat=True).first()

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {engine}, tickets: {Ticket.objects.count():,}, runs per page: {args.runs}")
    pages = [
        ("queue /", "/", None),
        ("queue page 50", "/?page=50", None),
        ("queue filtered (category+urgency)", "/?category=billing&urgency_min=4", None),
        (
            "queue htmx fragment (status)",
            "/?status=needs_attention",
            {"HX-Request": "true", "HX-Target": "queue-results"},
        ),
        ("queue search", "/?q=report+42", None),
        ("ticket page", f"/tickets/{newest}/", None),
        ("ticket live fragment", f"/tickets/{newest}/", {"HX-Request": "true", "HX-Target": "ticket-live"}),
        ("analytics 30 d (all tickets)", "/analytics/?period=30d", None),
    ]
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, url, headers in pages:
        runs = max(5, args.runs // 10) if url.startswith("/analytics/") else args.runs
        p50, p95, queries = _measure(client, url, runs, headers)
        print(f"{label:40} {p50:8.1f} {p95:8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
