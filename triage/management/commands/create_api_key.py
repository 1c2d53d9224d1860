from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from triage.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key for /api/, /triage and /v1/. The key is printed once and stored hashed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the key, e.g. 'helpdesk-sync'.")
        parser.add_argument("--rate-limit", type=int, default=None, help="Requests per minute for this key.")

    def handle(self, *args: Any, name: str, rate_limit: int | None = None, **options: Any) -> None:
        key, raw = ApiKey.issue(name=name, rate_limit_per_minute=rate_limit)
        self.stdout.write(f"API key for {name!r} (shown once, store it now):\n{raw}")
