from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from triage.models import ApiKey
from triage.models.apikeys import DEFAULT_SCOPES, SCOPES, scopes_clean


class Command(BaseCommand):
    help = (
        "Create an API key for /api/, /triage and /v1/. The key is printed once and stored hashed. "
        f"Scopes: {', '.join(SCOPES)} (default {', '.join(DEFAULT_SCOPES)})."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the key, e.g. 'helpdesk-sync'.")
        parser.add_argument("--rate-limit", type=int, default=None, help="Requests per minute for this key.")
        parser.add_argument(
            "--scopes",
            default=",".join(DEFAULT_SCOPES),
            help=(
                "Comma-separated: tickets (/api/tickets, /triage), routers (/api/routers, /v1 with "
                "router:<name>), models (/v1 calling a catalog model directly). Default: tickets."
            ),
        )

    def handle(
        self, *args: Any, name: str, rate_limit: int | None = None, scopes: str = "tickets", **options: Any
    ) -> None:
        try:
            chosen = scopes_clean([s.strip() for s in scopes.split(",") if s.strip()])
        except ValueError as exc:
            raise CommandError(f"--scopes: {exc}") from None
        key, raw = ApiKey.issue(name=name, rate_limit_per_minute=rate_limit, scopes=chosen)
        scope_text = ",".join(chosen)
        self.stdout.write(f"API key for {name!r} with scopes {scope_text} (shown once, store it now):\n{raw}")
