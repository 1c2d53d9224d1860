"""Outbound webhooks end to end: tickets triaged by a real Celery worker (the built-in local models,
no key needed), each settled ticket announced to a receiver on 127.0.0.1 that checks signatures and
de-duplicates on the delivery id.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/webhooks.py [--tickets 1000] [--rate 20] [--down 0]

Prints: deliveries made for the settled tickets (each exactly once after de-duplication), copies sent
twice, bad signatures, and settle-to-delivery latency (p50/p95/max: the ticket's ``triaged_at`` in the
worker to the receiver's arrival time). With ``--down S`` the receiver refuses connections for the
first S seconds: the figures then show everything arriving after it returns, in order per ticket.
The database named in DATABASE_URL is emptied: don't point this at data you care about.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import database_reset, ensure_database, percentile  # noqa: E402 - after the path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRIAGE_WEBHOOK_SECRET", "bench-webhook-secret")
# short backoff, so a --down run shows delivery soon after the receiver returns
os.environ.setdefault("TRIAGE_DELIVERY_BACKOFF_BASE_SECONDS", "0.5")
os.environ.setdefault("TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS", "5")
os.environ.setdefault("TRIAGE_DELIVERY_SWEEP_SECONDS", "1")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="tickets submitted per second")
    parser.add_argument("--down", type=float, default=0.0, help="receiver down for the first S seconds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from tests.support.webhook_receiver import WebhookReceiver
    from triage.models import Delivery, Ticket, WebhookEndpoint
    from triage.services.presets import presets_load
    from triage.services.tickets import ticket_submit

    database_reset()
    Delivery.objects.all().delete()
    WebhookEndpoint.objects.all().delete()
    presets_load()
    receiver = WebhookReceiver(secret=os.environ["TRIAGE_WEBHOOK_SECRET"]).start()
    WebhookEndpoint.objects.create(
        name="bench",
        url=receiver.url,
        events=["ticket.triaged", "ticket.needs_attention"],
        secret_env="TRIAGE_WEBHOOK_SECRET",
        max_consecutive_failures=1000,
    )
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / "bench-webhooks-worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "triage_site", "worker", "--beat", "--pool", "threads",
         "--concurrency", str(args.concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
         "--schedule", str(ROOT / "var" / "bench-webhooks-beat")],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        time.sleep(3)  # the worker loads the local models before its first task
        if args.down:
            receiver.go_down(mode="refuse")
        started = time.time()
        print(f"submitting {args.tickets} tickets at {args.rate:g}/s", flush=True)
        for n in range(args.tickets):
            time.sleep(max(started + n / args.rate - time.time(), 0))
            ticket_submit(
                subject=f"Checkout fails #{n}", body="Every payment fails with error 502 since 09:00."
            )
            if args.down and receiver._server is None and time.time() - started >= args.down:
                receiver.come_back()
        if args.down and receiver._server is None:
            time.sleep(max(started + args.down - time.time(), 0))
            receiver.come_back()
        deadline = time.time() + args.timeout
        last_print = 0.0
        while time.time() < deadline:
            settled = Ticket.objects.filter(triaged_at__isnull=False).count()
            arrived = len(receiver.unique())
            if time.time() - last_print >= 5:
                print(f"  settled {settled}/{args.tickets}, delivered {arrived}", flush=True)
                last_print = time.time()
            if settled == args.tickets and arrived >= settled:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        receiver.stop()

    settled_at = {t.pk: t.triaged_at.timestamp() for t in Ticket.objects.filter(triaged_at__isnull=False)}
    unique = receiver.unique()
    lags = [u.arrived - settled_at[u.ticket_id] for u in unique if u.ticket_id in settled_at]
    duplicates = len([r for r in receiver.received if r.signature_ok]) - len(unique)
    bad = len([r for r in receiver.received if not r.signature_ok])
    came_back = started + args.down
    print(f"tickets settled:            {len(settled_at)}/{args.tickets}")
    print(
        f"deliveries (unique ids):    {len(unique)}   copies sent twice: {duplicates}   bad signatures: {bad}"
    )
    print(f"delivery rows:              {Delivery.objects.filter(status='delivered').count()} delivered, "
          f"{Delivery.objects.filter(status='pending').count()} pending, "
          f"{Delivery.objects.filter(status='failed').count()} given up")  # fmt: skip
    if lags:
        print(f"settle -> delivery:         p50 {percentile(lags, 50) * 1000:.0f} ms   "
              f"p95 {percentile(lags, 95) * 1000:.0f} ms   max {max(lags) * 1000:.0f} ms")  # fmt: skip
    if args.down:
        after = [u.arrived - came_back for u in unique]
        print(f"receiver back after {args.down:g} s: last delivery {max(after):.1f} s later; "
              f"all {len(unique)} arrived after it returned: {min(after) >= 0}")  # fmt: skip
    ok = len(unique) == len(settled_at) == args.tickets and bad == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
