from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from triage.services.presets import presets_load


class Command(BaseCommand):
    help = "Load the preset providers, model catalog and routers (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Restore preset rows even where an admin edited them."
        )

    def handle(self, *args: Any, reset: bool = False, **options: Any) -> None:
        self.stdout.write(str(presets_load(reset=reset)))
