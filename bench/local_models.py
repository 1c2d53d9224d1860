"""Benchmark of the offline local tier: quality on blind sets and the held-out split, latency, memory.

Run: ``.venv/bin/python bench/local_models.py`` (uses ``TRIAGE_LOCAL_MODELS_DIR`` or ./var/local_models
for the model cache). Prints the figures the offline-tier issue asks for next to its bars.
``--set FILE`` scores only that labeled JSON-lines file the same way (a development set);
``--blind-only`` stops after the blind sets.

The blind sets (``tests/data/blind/blind_tickets*.jsonl``) were written without access to this
repository or each other, under the rule in ``tests/data/blind/RULES.md``; each is printed apart,
with 95% Wilson intervals. Nothing may be tuned on a set after it has been scored.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import percentile  # noqa: E402 - after the path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "1")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


BARE_TIER = """
import json
from pathlib import Path
from triage.local_models.builtin import builtin_models
from triage.ticket_text import TicketText, ticket_message
text = ticket_message(TicketText("Outage", "Dashboard down for ~200 users, 502s since 09:14 UTC."))
tasks = ["classify_ticket", "urgency_detection", "draft_customer_reply", "escalate_complex_issue", None]
for model, task in zip(builtin_models(), tasks):
    model.reply([{"role": "user", "content": text}], task=task)
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024)
"""


TIMED_MODELS = ("local/ticket-classifier", "local/urgency-scorer")

WORKER = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "1")
import django
django.setup()
from django.core.management import call_command
from triage_site.celery import app  # noqa: F401 - the worker's app, as a worker imports it
call_command("migrate", verbosity=0)
call_command("load_presets", verbosity=0)
from triage.services.tickets import ticket_submit
from triage.pipeline.triage import triage_ticket
# No provider key is set here, so the preset router's remote models are skipped and the local
# tier answers every step, as on a new install.
ticket = ticket_submit(
    subject="Outage", body="Our dashboard returns 502 for all 300 users since 09:14 UTC. We restarted twice.",
    enqueue=False,
)
triage_ticket(ticket_id=ticket.pk)
ticket.refresh_from_db()
assert ticket.status in ("triaged", "needs_attention"), ticket.status
from pathlib import Path
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024)
"""


def worker_rss_mb() -> float:
    """RSS of a fresh process set up as a worker is, after triaging one ticket with the local tier."""
    import tempfile

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "PYTHONPATH": str(root), "TRIAGE_DATA_DIR": data_dir, "DATABASE_URL": ""}
        env.setdefault("TRIAGE_LOCAL_MODELS_DIR", str(store_cache_dir()))
        done = subprocess.run(
            [sys.executable, "-c", WORKER], capture_output=True, text=True, env=env, cwd=root
        )
    if done.returncode != 0:
        print(done.stderr[-1500:])
    return float(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else float("nan")


def store_cache_dir() -> Path:
    from triage.local_models import store

    return store.cache_dir()


def bare_tier_rss_mb() -> float:
    """RSS of a process that only loads the five local models and answers once with each."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", BARE_TIER], capture_output=True, text=True, env=env, cwd=root
    )
    return float(done.stdout.strip() or "nan")


def macro_f1(labels: list[str], predicted: list[str]) -> tuple[float, dict[str, float]]:
    per_class = {}
    for label in sorted(set(labels)):
        tp = sum(p == label and y == label for p, y in zip(predicted, labels, strict=True))
        fp = sum(p == label and y != label for p, y in zip(predicted, labels, strict=True))
        fn = sum(p != label and y == label for p, y in zip(predicted, labels, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per_class[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return statistics.mean(per_class.values()), per_class


def check(name: str, value: float, bar: float, fmt: str = "{:.1%}", above: bool = True) -> str:
    ok = value >= bar if above else value <= bar
    sign = "≥" if above else "≤"
    return f"  {name:<34} {fmt.format(value):>9}   bar {sign} {fmt.format(bar):<8} {'ok' if ok else 'MISS'}"


BLIND_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "blind"
LANGUAGE_MIN_WORDS = 5


def wilson(correct: int, n: int) -> str:
    from triage.services.evaluation import wilson_interval

    low, high = wilson_interval(correct, n)
    return f"[{low:.0%}-{high:.0%}]" if low is not None and high is not None else ""


def score_labeled_set(path: Path) -> dict[str, float]:
    """Category, urgency, escalation and language figures of the local tier on one labeled file."""
    from triage.local_models.classifier import classify
    from triage.local_models.language import detect_language
    from triage.local_models.store import parse_labeled
    from triage.local_models.urgency import ESCALATION_SCORE, assess

    rows = parse_labeled(path.read_text(encoding="utf-8"))
    n = len(rows)
    category_ok = sum(classify(r.ticket).category == r.category for r in rows)
    assessed = [assess(r.ticket) for r in rows]
    within = sum(abs(a.score - r.urgency) <= 1 for a, r in zip(assessed, rows, strict=True))
    exact = sum(a.score == r.urgency for a, r in zip(assessed, rows, strict=True))
    needs = [r.urgency >= ESCALATION_SCORE for r in rows]
    flagged = [a.escalation_risk for a in assessed]
    true_pos = sum(f and y for f, y in zip(flagged, needs, strict=True))
    precision = true_pos / max(1, sum(flagged))
    recall = true_pos / max(1, sum(needs))
    long_enough = [r for r in rows if len(f"{r.subject} {r.body}".split()) >= LANGUAGE_MIN_WORDS]
    language_ok = sum(detect_language(f"{r.subject}\n{r.body}").code == r.lang for r in long_enough)
    other = [r for r in rows if r.lang != "en"]
    other_ok = sum(classify(r.ticket).category == r.category for r in other)
    print(f"\n{path.name}: {n} tickets ({len(other)} not in English), {sum(needs)} needing a human")
    print(check("category accuracy", category_ok / n, 0.92) + f" {wilson(category_ok, n)}")
    print(check("urgency within ±1", within / n, 0.95) + f" {wilson(within, n)}")
    print(f"  {'urgency exact':<34} {exact / n:>9.1%}   {wilson(exact, n)}")
    print(check("escalation recall", recall, 0.90) + f" {wilson(true_pos, sum(needs))}")
    print(check("escalation precision", precision, 0.85) + f" {wilson(true_pos, sum(flagged))}")
    print(
        check(
            f"language, tickets of ≥{LANGUAGE_MIN_WORDS} words", language_ok / max(1, len(long_enough)), 0.95
        )
        + f" {wilson(language_ok, len(long_enough))} of {len(long_enough)}"
    )
    if other:
        print(
            f"  {'category accuracy, not English':<34} {other_ok / len(other):>9.1%}   ({len(other)} tickets)"
        )
    return {"category": category_ok / n, "within": within / n, "recall": recall, "precision": precision}


def main() -> None:
    import django

    django.setup()
    if "--set" in sys.argv:  # a development set: scored alone, the blind sets left untouched
        score_labeled_set(Path(sys.argv[sys.argv.index("--set") + 1]))
        return
    print("blind sets (each scored as written; see tests/data/blind/RULES.md)")
    for path in sorted(
        BLIND_DIR.glob("blind_tickets*.jsonl"), key=lambda p: int(p.stem.removeprefix("blind_tickets"))
    ):
        score_labeled_set(path)
    if "--blind-only" in sys.argv:
        return
    from triage.local_models import store
    from triage.local_models.builtin import builtin_models
    from triage.local_models.classifier import classify
    from triage.local_models.examples import set_example_source
    from triage.local_models.registry import LocalModel
    from triage.local_models.text import CATEGORIES
    from triage.local_models.urgency import assess
    from triage.presets import LOCAL_MODELS, ROUTERS, SAMPLE_TICKETS
    from triage.ticket_text import TicketText, ticket_message

    # The models alone: no approved replies from a database (the worker measurement below has its own).
    set_example_source(None)

    rows = store.load_dataset()
    train, held_out = store.split(rows)
    langs = sorted({r.lang for r in rows})
    print(
        f"labeled set: {len(rows)} tickets ({len(train)} train / {len(held_out)} held out), languages {langs}"
    )
    print(f"model cache: {store.cache_dir()}")
    started = time.perf_counter()
    loaded = store.trained_models()
    print(
        f"first load in a process: {(time.perf_counter() - started) * 1000:.0f} ms "
        f"({'trained' if loaded.fitted.fresh else 'read from the disk cache'})"
    )

    print("\nquality on the held-out 20% (never trained on)")
    predicted = [classify(r.ticket).category for r in held_out]
    labels = [r.category for r in held_out]
    accuracy = sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(labels)
    f1, per_class = macro_f1(labels, predicted)
    print(check("category accuracy", accuracy, 0.88))
    print(f"  {'category macro-F1':<34} {f1:>9.3f}")
    print("  per-class F1: " + ", ".join(f"{k} {v:.2f}" for k, v in per_class.items()))
    hand = [(p, r) for p, r in zip(predicted, held_out, strict=True) if r.source == "hand"]
    if hand:
        hand_acc = sum(p == r.category for p, r in hand) / len(hand)
        print(f"  {'category accuracy, hand-written':<34} {hand_acc:>9.1%}   ({len(hand)} tickets)")
    other_lang = [(p, r) for p, r in zip(predicted, held_out, strict=True) if r.lang != "en"]
    if other_lang:
        other_acc = sum(p == r.category for p, r in other_lang) / len(other_lang)
        print(f"  {'category accuracy, non-English':<34} {other_acc:>9.1%}   ({len(other_lang)} tickets)")

    scores = [assess(r.ticket).score for r in held_out]
    truth = [r.urgency for r in held_out]
    pairs = list(zip(scores, truth, strict=True))
    exact = sum(p == y for p, y in pairs) / len(pairs)
    within = sum(abs(p - y) <= 1 for p, y in pairs) / len(pairs)
    mae = sum(abs(p - y) for p, y in pairs) / len(pairs)
    flagged = [y >= 4 for p, y in pairs if p >= 4]
    urgent = [p >= 4 for p, y in pairs if y >= 4]
    precision = sum(flagged) / len(flagged) if flagged else 0.0
    recall = sum(urgent) / len(urgent) if urgent else 0.0
    print(check("urgency exact", exact, 0.60))
    print(check("urgency within ±1", within, 0.90))
    print(f"  {'urgency MAE':<34} {mae:>9.3f}")
    print(check("escalation (score ≥4) precision", precision, 0.85))
    # The threshold is fitted for precision 0.90 (tests/data/blind/SCORES.md, round 3).
    print(check("escalation (score ≥4) recall", recall, 0.80))
    print(f"  (held-out tickets labeled ≥4: {len(urgent)}; predicted ≥4: {len(flagged)})")
    hand_pairs = [(p, r.urgency) for p, r in zip(scores, held_out, strict=True) if r.source == "hand"]
    if hand_pairs:
        hand_exact = sum(p == y for p, y in hand_pairs) / len(hand_pairs)
        hand_within = sum(abs(p - y) <= 1 for p, y in hand_pairs) / len(hand_pairs)
        print(
            f"  {'urgency, hand-written':<34} exact {hand_exact:.1%}, within ±1 {hand_within:.1%} "
            f"({len(hand_pairs)} tickets)"
        )
    print(
        "  note: most tickets come from the templates in data/generate.py, so the held-out figures are\n"
        "  optimistic; the hand-written rows are the closer estimate for real tickets."
    )

    print("\nthe triage article's seven sample tickets")
    models = {m.slug: m for m in builtin_models()}
    categories = ", ".join(CATEGORIES)
    triage_tasks = cast(list[dict[str, Any]], ROUTERS[0]["tasks"])
    prompts = {
        str(t["name"]): str(t["system_prompt"]).replace("{categories}", categories) for t in triage_tasks
    }

    def request(task: str, ticket: TicketText) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": prompts[task]},
            {"role": "user", "content": ticket_message(ticket)},
        ]

    for sample in SAMPLE_TICKETS:
        ticket = TicketText(**sample)
        category = json.loads(
            models[LOCAL_MODELS["classify_ticket"]].reply(
                request("classify_ticket", ticket), task="classify_ticket"
            )
        )
        urgency = json.loads(
            models[LOCAL_MODELS["urgency_detection"]].reply(
                request("urgency_detection", ticket), task="urgency_detection"
            )
        )
        print(
            f"  {sample['subject']:<28} {category['category']:<16} conf {category['confidence']:.2f}  "
            f"urgency {urgency['score']}  escalate {urgency['escalation_risk']!s:<5}  {urgency['sentiment']}"
        )

    def triage_call(model: LocalModel, task: str, ticket: TicketText) -> str:
        return model.reply(request(task, ticket), task=task)

    def chat_call(model: LocalModel, ticket: TicketText) -> str:
        return model.reply([{"role": "user", "content": ticket.body}], task="general_faq")

    print("\nlatency per call after warm-up (held-out tickets, one thread)")
    tickets = [r.ticket for r in held_out]
    calls: dict[str, Callable[[TicketText], str]] = {}
    for task in ("classify_ticket", "urgency_detection", "draft_customer_reply", "escalate_complex_issue"):
        model = models[LOCAL_MODELS[task]]
        calls[model.slug] = partial(triage_call, model, task)
    bot = models[LOCAL_MODELS["support_bot"]]
    calls[bot.slug] = partial(chat_call, bot)
    for slug, call in calls.items():
        for ticket in tickets[:20]:
            call(ticket)
        timings = []
        for _ in range(3):
            for ticket in tickets:
                started = time.perf_counter()
                call(ticket)
                timings.append((time.perf_counter() - started) * 1000)
        p95 = percentile(timings, 95)
        # The bar is on the classifier and the urgency scorer; the others are printed.
        bar = f"bar p95 ≤ 20 ms {'ok' if p95 <= 20 else 'MISS'}" if slug in TIMED_MODELS else ""
        print(
            f"  {slug:<26} p50 {percentile(timings, 50):5.2f} ms  p95 {p95:5.2f} ms  "
            f"p99 {percentile(timings, 99):5.2f} ms   {bar}"
        )

    long_body = "Our dashboard returns 502 for all 300 users since 09:14 UTC. " + "log line 42 ok " * 4000
    long_ticket = TicketText(subject="Outage", body=long_body)
    print(f"  a {len(long_body):,}-character ticket (models read the first 2,000 body characters):")
    for slug, call in calls.items():
        call(long_ticket)
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            call(long_ticket)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"    {slug:<26} p50 {percentile(timings, 50):5.2f} ms")

    print(f"\nmemory: this process (Django, the tier, every call above): {rss_mb():.0f} MB")
    print(f"  the tier alone in a fresh Python process (libraries included): {bare_tier_rss_mb():.0f} MB")
    worker = worker_rss_mb()
    print(
        f"  a worker process (Django, the Celery app, every local model and the language detector "
        f"loaded, one ticket triaged through the local router): {worker:.0f} MB "
        f"(bar ≤ 400 MB {'ok' if worker <= 400 else 'MISS'})"
    )
    cache = store.cache_path(store.cache_dir(), loaded.fitted.data_hash)
    if cache.exists():
        print(f"model cache file: {cache.stat().st_size / 1e6:.1f} MB")
    started = time.perf_counter()
    store.train(rows, "bench")
    print(f"training from scratch: {time.perf_counter() - started:.2f} s (done once per data-file version)")
    print(
        f"load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
