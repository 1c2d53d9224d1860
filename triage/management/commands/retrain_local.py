"""``manage.py retrain_local [--dry-run]``: retrain the built-in local models on agents' labels."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from triage.services.retrain import retrain_local_models

METRICS = [
    ("category", "category accuracy"),
    ("urgency", "urgency exact"),
    ("urgency_within_1", "urgency +-1"),
]


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


class Command(BaseCommand):
    help = (
        "Retrain the built-in ticket classifier and urgency scorer on the shipped labels plus agents' "
        "labels (corrections, and confirmed tickets); adopt them only if accuracy on a held-back share "
        "does not drop. Prints before and after; exits 0 whether adopted or not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Measure the candidate, but keep the current models."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run = retrain_local_models(dry_run=options["dry_run"])
        self.stdout.write(
            f"trained on {run.shipped_examples} shipped + {run.agent_examples} agent example(s)\n"
        )
        self.stdout.write(f"{'':20}  {'before':>7}  {'after':>7}")
        for key, name in METRICS:
            before, after = run.before.get(key), run.after.get(key)
            self.stdout.write(f"{name:20}  {_percent(before):>7}  {_percent(after):>7}")
        self.stdout.write("")
        self.stdout.write(run.note)
        if run.adopted:
            self.stdout.write(
                self.style.SUCCESS("adopted: every process uses the new models on its next load")
            )
        else:
            self.stdout.write(self.style.WARNING("not adopted: the current models stay"))
