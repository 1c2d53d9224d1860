"""What the router adds to a model call, against a zero-latency stub on 127.0.0.1.

Makes the same chat call N times directly with the openai SDK and N times through ``route()``
(in alternating blocks, so both see the same machine), and prints p50/p95/p99 of:
- selection overhead: from entering ``route()`` to handing the request to the SDK (config version
  check, breaker/latency/pin read, task resolution, policy ordering), measured directly;
- added end-to-end time: routed minus direct ``chat.completions.create`` (as quantile differences),
  everything the router does per request included: the one shared-cache read, the attempt's
  ModelCall row written before the call and completed after it (two database writes); the run
  checks every call's row is in the database and none is left pending;
and the same with classification (no task named). Prints figures; asserts nothing.

Runs on a throw-away SQLite database + database cache by default; with DATABASE_URL / REDIS_URL
set it uses those (it creates its own router, prefixed ``bench-``, and deletes it afterwards).

    .venv/bin/python bench/routing_overhead.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import allow_provider_key_env, ensure_database, percentile  # noqa: E402 - after the path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
allow_provider_key_env("BENCH_STUB_API_KEY")  # its stub provider's key variable
# production settings: DEBUG would make Django keep every query in memory and slow all of it down
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ["LOG_LEVEL"] = "WARNING"  # per-request INFO lines would be measured too
if not os.environ.get("DATABASE_URL"):
    os.environ["TRIAGE_DATA_DIR"] = tempfile.mkdtemp(prefix="triage-bench-")

import django  # noqa: E402

ensure_database()
django.setup()

import logging  # noqa: E402

import openai  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.stub_process import StubProcess  # noqa: E402
from triage.models import LLMModel, ModelCall, PoolEntry, Provider, Router, RouterTask  # noqa: E402
from triage.routing import route  # noqa: E402
from triage.routing.adapters import ADAPTERS  # noqa: E402

logging.getLogger("httpx2").setLevel(logging.WARNING)
KEY_ENV = "BENCH_STUB_API_KEY"
MESSAGES = [
    {"role": "system", "content": "You are a helpful customer support assistant."},
    {"role": "user", "content": "I was charged twice for my subscription this month. Why?"},
]


def setup_router(base_url: str) -> Router:
    os.environ[KEY_ENV] = "bench-key"
    suffix = str(os.getpid())
    provider = Provider.objects.create(name=f"bench-stub-{suffix}", base_url=base_url, api_key_env=KEY_ENV)
    model = LLMModel.objects.create(
        slug=f"bench-model-{suffix}",
        provider=provider,
        input_price_per_m=Decimal("1"),
        output_price_per_m=Decimal("2"),
    )
    router = Router.objects.create(name=f"bench-{suffix}", classifier_confidence_threshold=Decimal("0"))
    billing = RouterTask.objects.create(
        router=router,
        name="billing_support",
        description="Billing disputes: double charges, unexpected invoices, refunds, renewals.",
        example_utterances="I was charged twice\nWhy is my invoice higher than last month?",
    )
    tech = RouterTask.objects.create(
        router=router,
        name="technical_troubleshooting",
        description="Infrastructure failures, Kubernetes errors, API errors.",
        example_utterances="My pod keeps crashing\nThe API returns 502 errors",
    )
    for task in (billing, tech):
        PoolEntry.objects.create(task=task, model=model, rank=1)
    return router


def teardown(router: Router) -> None:
    model_ids = list(LLMModel.objects.filter(pool_entries__task__router=router).values_list("id", flat=True))
    ModelCall.objects.filter(router=router).delete()
    provider_ids = list(Provider.objects.filter(models__id__in=model_ids).values_list("id", flat=True))
    router.delete()
    LLMModel.objects.filter(id__in=model_ids).delete()
    Provider.objects.filter(id__in=provider_ids).delete()


class SendClock:
    """Wraps the OpenAI-compatible adapter's call to note when route() hands the request to it."""

    def __init__(self) -> None:
        self.handed_over = 0.0
        self._real = ADAPTERS["openai"].complete

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.handed_over = time.perf_counter()
        return self._real(*args, **kwargs)


BLOCK = 50  # calls per block; blocks of direct and routed calls alternate


def measure(base_url: str, router: Router, calls: int, *, task: str | None) -> dict[str, list[float]]:
    """Alternating blocks of direct and routed calls (both see the same machine)."""
    slug = LLMModel.objects.get(
        pool_entries__task__router=router, pool_entries__task__name="billing_support"
    ).slug
    client = openai.OpenAI(base_url=base_url, api_key="bench-key", max_retries=0, timeout=30)
    clock = SendClock()
    ADAPTERS["openai"].complete = clock  # type: ignore[method-assign]
    spans: dict[str, list[float]] = {"direct": [], "routed": [], "selection": []}
    try:
        for _ in range(50):  # warm up: connections, snapshot, classifier, encodings
            client.chat.completions.create(model=slug, messages=MESSAGES)
            route(router, MESSAGES, task=task)
        rows_before = ModelCall.objects.filter(router=router).count()
        for block_start in range(0, calls, BLOCK):
            size = min(BLOCK, calls - block_start)
            for _ in range(size):
                start = time.perf_counter()
                client.chat.completions.create(model=slug, messages=MESSAGES)
                spans["direct"].append((time.perf_counter() - start) * 1000)
            for _ in range(size):
                start = time.perf_counter()
                route(router, MESSAGES, task=task)
                spans["routed"].append((time.perf_counter() - start) * 1000)
                spans["selection"].append((clock.handed_over - start) * 1000)
    finally:
        ADAPTERS["openai"].complete = clock._real  # type: ignore[method-assign]
    written = ModelCall.objects.filter(router=router).count() - rows_before
    spans["audit_rows"] = [float(written)]
    spans["pending_rows"] = [float(ModelCall.objects.filter(router=router, outcome="pending").count())]
    return spans


def report(title: str, spans: dict[str, list[float]]) -> None:
    calls = len(spans["direct"])
    print(f"\n{title} ({calls} calls each, in alternating blocks of {BLOCK})")
    print(f"  {'':44s} {'p50':>8s} {'p95':>8s} {'p99':>8s}  (ms)")

    def row(label: str, values: list[float]) -> None:
        print(f"  {label:44s} " + " ".join(f"{percentile(values, q):8.3f}" for q in (50, 95, 99)))

    row("direct SDK call (chat.completions.create)", spans["direct"])
    row("route(), end to end", spans["routed"])
    row("selection + attempt row (entry -> adapter)", spans["selection"])
    added = [percentile(spans["routed"], q) - percentile(spans["direct"], q) for q in (50, 95, 99)]
    print(f"  {'added end-to-end (routed - direct, pXX)':44s} " + " ".join(f"{v:8.3f}" for v in added))
    ratio = statistics.median(spans["routed"]) / statistics.median(spans["direct"])
    print(f"  {'ratio routed/create (medians)':44s} {ratio:8.2f}x")
    rows, pending = int(spans["audit_rows"][0]), int(spans["pending_rows"][0])
    print(f"  audit rows written: {rows} of {calls} calls, {pending} left pending")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--classified-calls", type=int, default=500)
    args = parser.parse_args()
    stub = StubProcess()  # before any database connection exists: see StubProcess
    call_command("migrate", verbosity=0)  # a no-op when the configured database is up to date
    from django.conf import settings

    print(
        f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"shared cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"openai {openai.__version__}"
    )
    router = setup_router(stub.base_url)
    try:
        report(
            "named task (the pipeline's path)",
            measure(stub.base_url, router, args.calls, task="billing_support"),
        )
        if args.classified_calls:
            report(
                "no task named: TF-IDF classification included",
                measure(stub.base_url, router, args.classified_calls, task=None),
            )
    finally:
        teardown(router)
        stub.stop()
    print_classification_latency()


def print_classification_latency() -> None:
    """Per-query classification latency for each installed encoder (bench/classification.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from classification import evaluate, load_queries

    from triage.routing.classifier import minilm_available

    print("\nclassification latency per query (labeled support-bot set, threshold 0.35)")
    for encoder in ("tfidf", "minilm"):
        if encoder == "minilm" and not minilm_available():
            print(f"  {encoder:7s} not installed (requirements-embeddings.txt)")
            continue
        figures = evaluate(encoder, 0.35, load_queries())
        print(
            f"  {encoder:7s} p50 {figures['p50_ms']:.2f} ms  p95 {figures['p95_ms']:.2f} ms  "
            f"(accuracy {figures['accuracy']:.1%}, fallback precision {figures['fallback_precision']:.1%})"
        )


if __name__ == "__main__":
    main()
