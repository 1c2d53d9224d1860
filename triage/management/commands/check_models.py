"""``manage.py check_models [--router NAME]``: one tiny real request to every configured model."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from triage.routing.service import UnknownRouter
from triage.services.model_check import check_failed, models_check, probe_table, probes_total_cost


class Command(BaseCommand):
    help = (
        "Send one tiny request, in its real shape, to each enabled model of each router's pools and "
        "fallbacks, per task it serves; print what came back. Exits 1 when a pool model fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--router", default=None, help="Only this router (default: every enabled router)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rows = models_check(router_name=options["router"])
        except UnknownRouter as error:
            raise CommandError(str(error)) from error
        if not rows:
            raise CommandError("No enabled model in any pool or fallback list: nothing to check.")
        table = probe_table(rows)
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
        for line in table:
            cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
            self.stdout.write("  ".join([*cells, line[-1]]).rstrip())
        failed = [row for row in rows if not row.ok]
        self.stdout.write(
            f"\n{len(rows)} probe(s), {len(rows) - len(failed)} passed, {len(failed)} failed; "
            f"total cost of the probes: ${probes_total_cost(rows):.6f}"
        )
        if check_failed(rows):
            raise CommandError(
                "A pool model failed its probe: fix its profile or key (the error column has the "
                "provider's message), then run check_models again."
            )
