"""Submit a JSON file of tickets (the triage article's format), wait for them, print the results."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from triage.models import Router, Ticket
from triage.services.results import SETTLED, ticket_triage_result
from triage.services.tickets import ticket_submit, validation_error_text


class Command(BaseCommand):
    help = "Triage a JSON array of tickets ({subject, body, customer_tier?, account_id?}) and print results."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="Print the full results as JSON.")
        parser.add_argument("--router", default=None, help="Router name (default: the default router).")
        parser.add_argument("--timeout", type=float, default=600, help="Seconds to wait for the worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        tickets_in = _read_tickets(options["file"])
        router = _router(options["router"])
        submitted: list[Ticket | str] = []
        for index, item in enumerate(tickets_in):
            try:
                submitted.append(
                    ticket_submit(
                        subject=str(item.get("subject", "")),
                        body=str(item.get("body", "")),
                        customer_tier=str(item.get("customer_tier") or Ticket.Tier.FREE),
                        account_id=str(item.get("account_id") or ""),
                        router=router,
                    )
                )
            except ValidationError as exc:
                submitted.append(f"ticket {index} rejected: {validation_error_text(exc)}")
        tickets = [t for t in submitted if isinstance(t, Ticket)]
        self._wait(tickets, timeout=options["timeout"])
        results = [_result_or_error(index, item) for index, item in enumerate(submitted)]
        if options["json"]:
            self.stdout.write(json.dumps({"count": len(results), "results": results}, indent=2))
        else:
            for result in results:
                self.stdout.write(_one_ticket_text(result))

    def _wait(self, tickets: list[Ticket], *, timeout: float) -> None:
        ids = [t.pk for t in tickets]
        deadline = time.monotonic() + timeout
        with tqdm(total=len(ids), desc="triaging", unit="ticket", file=self.stderr._out) as bar:
            done = 0
            while done < len(ids):
                done = Ticket.objects.filter(pk__in=ids, status__in=SETTLED).count()
                bar.update(done - bar.n)
                if done == len(ids):
                    break
                if time.monotonic() > deadline:
                    waiting = len(ids) - done
                    raise CommandError(
                        f"{waiting} tickets not triaged after {timeout:.0f}s: is a worker running?"
                    )
                time.sleep(0.25)


def _read_tickets(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CommandError(f"can't read {path}: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise CommandError(f"{path} must hold a JSON array of ticket objects")
    return data


def _router(name: str | None) -> Router | None:
    if name is None:
        return None
    try:
        return Router.objects.get(name=name)
    except Router.DoesNotExist:
        raise CommandError(f"no router named {name!r}") from None


def _result_or_error(index: int, item: Ticket | str) -> dict[str, Any]:
    if isinstance(item, str):
        return {"ticket_index": index, "error": item}
    item.refresh_from_db()
    return {"ticket_index": index, "subject": item.subject, **ticket_triage_result(item)}


def _line(text: str | None, limit: int = 100) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _route_text(route: dict[str, Any]) -> str:
    return f"{route['task']}={route['selected_model']} ({route['latency_ms']} ms)"


def _one_ticket_text(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"\n[{result['ticket_index']}] ERROR {result['error']}"
    urgency = result["urgency"]
    lines = [
        f"\n[{result['ticket_index']}] {result['subject']}  ({result['status']})",
        f"  category: {result['category']}",
        f"  urgency:  {urgency['score']} ({urgency['sentiment']}), escalation risk: "
        f"{urgency['escalation_risk']}",
        f"  reply:    {_line(result['reply'])}",
        f"  brief:    {_line(result['escalation_summary']) if result['escalation_summary'] else '-'}",
        "  routes:   "
        + ", ".join(f"{r['task']}={r['selected_model']} ({r['latency_ms']} ms)" for r in result["routes"]),
    ]
    return "\n".join(lines)
