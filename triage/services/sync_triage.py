"""Synchronous triage for the triage article's contract: submit, triage in this process, answer.

The tickets are stored like any other (channel ``compat``); if this process dies mid-way, the stuck
sweep re-enqueues them for a worker, so nothing is lost.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection

from triage.models import Router, Ticket
from triage.pipeline.triage import triage_ticket
from triage.services.results import ticket_triage_result
from triage.services.tickets import ticket_submit

BATCH_CONCURRENCY = 8


def triage_now(*, tickets: list[dict[str, Any]], router: Router | None = None) -> list[dict[str, Any]]:
    """Store every ticket first (all or nothing), then triage them concurrently and return results."""
    stored = _store_all(tickets, router)
    if len(stored) == 1:
        triage_ticket(ticket_id=stored[0].pk)
    else:
        with ThreadPoolExecutor(max_workers=min(BATCH_CONCURRENCY, len(stored))) as pool:
            list(pool.map(_triage_in_thread, [t.pk for t in stored]))
    results = []
    for index, ticket in enumerate(stored):
        ticket.refresh_from_db()
        if ticket.status == Ticket.Status.FAILED:
            results.append(
                {"ticket_index": index, "subject": ticket.subject, "error": ticket.attention_reason}
            )
        else:
            results.append(ticket_triage_result(ticket))
    return results


def _store_all(tickets: list[dict[str, Any]], router: Router | None) -> list[Ticket]:
    from django.db import transaction

    with transaction.atomic():
        return [
            ticket_submit(channel=Ticket.Channel.COMPAT, router=router, enqueue=False, **fields)
            for fields in tickets
        ]


def _triage_in_thread(ticket_id: int) -> None:
    try:
        triage_ticket(ticket_id=ticket_id)
    finally:
        connection.close()
