"""``manage.py evaluate --router R --task T``: score a task's configurations against labeled tickets.

Replays agents' labels (and, with ``--include-shipped``, the shipped labeled set's held-out split)
through each pool model alone and the cascade at several thresholds, from stored answers; answers
that aren't stored are asked live only with ``--yes``, after their estimated cost is printed.
``--calibrate --target strong:0.95`` (or ``labels:0.93``) stores the cheapest cascade threshold
meeting the target on the task (the admin applies it). See ``triage/services/evaluation.py``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from triage.models import Router
from triage.services.evaluation import (
    DEFAULT_THRESHOLDS,
    CandidateResult,
    Evaluation,
    EvaluationError,
    calibrate,
    calibration_save,
    calibration_summary,
    parse_target,
    replay_prepare,
)


def _thresholds(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--thresholds {text!r}: give numbers between 0 and 1, e.g. 0.5,0.7,0.9") from None
    if not values or not all(0 <= v <= 1 for v in values):
        raise CommandError(f"--thresholds {text!r}: give numbers between 0 and 1, e.g. 0.5,0.7,0.9")
    return values


def _pct(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "–"


def candidate_table(candidates: list[CandidateResult]) -> list[list[str]]:
    """Header and one row per candidate; ``*`` marks the task's configuration."""
    rows = [["candidate", "accuracy", "95% CI", "strong", "$/1k tickets", "p95 ms", "n"]]
    for c in candidates:
        cost = "–" if c.cost_per_1000 is None else f"{c.cost_per_1000:.4f}{'~' if c.estimated_costs else ''}"
        rows.append(
            [
                f"{'* ' if c.configured else '  '}{c.key}",
                _pct(c.accuracy),
                f"{_pct(c.low)}–{_pct(c.high)}" if c.n else "–",
                _pct(c.strong_share),
                cost,
                str(c.p95_latency_ms) if c.p95_latency_ms is not None else "–",
                str(c.n),
            ]
        )
    return rows


class Command(BaseCommand):
    help = (
        "Score a router task's configurations (each pool model alone, the cascade at several "
        "thresholds) against labeled tickets, from stored answers; optionally calibrate the cascade."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--router", required=True, help="The router's name.")
        parser.add_argument(
            "--task",
            required=True,
            help="classify_ticket, urgency_detection (against labels), draft_customer_reply or "
            "escalate_complex_issue (against agents' verdicts on the answers they were shown).",
        )
        parser.add_argument(
            "--candidates",
            nargs="+",
            default=None,
            help="Only these candidates: a pool model's slug, or cascade@0.70 / cascade@0.70+local.",
        )
        parser.add_argument("--limit", type=int, default=None, help="At most this many labeled tickets.")
        parser.add_argument(
            "--include-shipped",
            action="store_true",
            help="Also the shipped labeled set's held-out split (asked live unless stored).",
        )
        parser.add_argument(
            "--thresholds",
            default=",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS),
            help="Cascade confidence thresholds to try (default %(default)s; the configured one is added).",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="Ask the answers that aren't stored (billed calls; their estimated cost is printed first).",
        )
        parser.add_argument(
            "--calibrate",
            action="store_true",
            help="Store the cheapest cascade threshold meeting --target on the task (admin applies it).",
        )
        parser.add_argument(
            "--target",
            default=None,
            help="strong:0.95 (95%% of the best single model's accuracy) or labels:0.93 (93%% right).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        # with --json, stdout carries the JSON alone: notes go to stderr
        note = (lambda text: sys.stderr.write(text + "\n")) if as_json else self.stdout.write
        target = None
        if options["calibrate"]:
            if not options["target"]:
                raise CommandError("--calibrate needs --target, e.g. --target strong:0.95 or labels:0.93")
            try:
                target = parse_target(options["target"])
            except EvaluationError as error:
                raise CommandError(str(error)) from error
        elif options["target"]:
            raise CommandError("--target is used with --calibrate")
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        thresholds = _thresholds(options["thresholds"])

        router = Router.objects.filter(name=options["router"]).first()
        if router is None:
            known = ", ".join(Router.objects.order_by("name").values_list("name", flat=True)) or "none"
            raise CommandError(f"No router named {options['router']!r} (routers: {known})")
        try:
            replay = replay_prepare(
                router=router,
                task_name=options["task"],
                include_shipped=options["include_shipped"],
                limit=options["limit"],
            )
        except EvaluationError as error:
            raise CommandError(str(error)) from error
        if not replay.examples:
            if replay.labeled.judged:
                raise CommandError(
                    f"No judged answers for {router.name}:{options['task']}: agents' thumbs on the step "
                    "and approved replies (as drafted, or edited) are its labels."
                )
            raise CommandError(
                f"No labeled tickets for {router.name}:{options['task']}: agents' corrections and confirmed "
                "tickets are the labels (or add --include-shipped)."
            )

        missing = replay.missing()
        if missing:
            estimate = replay.live_estimate(missing)
            tickets = len({example.key for example, _ in missing})
            note(
                f"{len(missing)} answer(s) of {tickets} ticket(s) are not stored; asking them would cost "
                f"about ${estimate:.4f} (prompt tokens counted, "
                f"{replay.task.expected_output_tokens} answer tokens each, catalog prices)."
            )
            if options["yes"]:
                note("Asking them now (each model alone)...")
                answered = replay.fetch_live(missing)
                note(f"{answered} answered, {len(missing) - answered} failed.")
            else:
                note("Scoring the stored answers only; add --yes to ask the missing ones.")

        try:
            evaluation = replay.evaluate(thresholds, options["candidates"])
        except EvaluationError as error:
            raise CommandError(str(error)) from error
        if target is not None:
            full = replay.evaluate(thresholds)  # calibration reads every candidate, whatever is shown
            evaluation.calibration = calibrate(full, target, local=replay.local_check)
            calibration_save(replay.task, evaluation.calibration)

        if as_json:
            self.stdout.write(json.dumps(evaluation.as_dict(), indent=2, default=str))
            return
        self._print(evaluation)

    def _print(self, evaluation: Evaluation) -> None:
        sources = ", ".join(f"{n} {source}" for source, n in sorted(evaluation.sources.items()))
        self.stdout.write(
            f"{evaluation.router}:{evaluation.task}: {evaluation.examples} labeled ticket(s) ({sources}); "
            f"right when {evaluation.rule}; pool in order: {' → '.join(evaluation.pool)}"
        )
        table = candidate_table(evaluation.candidates)
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
        self.stdout.write(
            "* the task as configured · strong: share reaching a later pool model · "
            "~: includes estimated costs · n: tickets replayable"
        )
        if evaluation.judged:
            self.stdout.write(
                "Judged by agents: only answers they were shown count, so a candidate with a smaller n "
                "skipped tickets whose outcome it would change; calibration compares only the best "
                "covered thresholds. Agents' thumbs on both answers of a sample widen what can be judged."
            )
        if evaluation.calibration is not None:
            summary = calibration_summary(evaluation.calibration)
            self.stdout.write(f"\nCalibration (stored on the task; apply it in the admin): {summary}")
