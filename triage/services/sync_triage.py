"""Synchronous triage for the triage article's contract: submit, triage in this process, answer.

The tickets are stored like any other (channel ``compat``); if this process dies mid-way, the stuck
sweep re-enqueues them for a worker, so nothing is lost.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.db import connection

from triage.models import Router, Ticket
from triage.pipeline.triage import triage_ticket
from triage.services.results import ticket_triage_result
from triage.services.tickets import ticket_submit

BATCH_CONCURRENCY = 8


class SyncDeadlineExceeded(Exception):
    """The batch outlived ``TRIAGE_SYNC_DEADLINE_SECONDS``; its tickets are stored and still running."""

    def __init__(self, ticket_ids: list[int], seconds: float) -> None:
        self.ticket_ids, self.seconds = ticket_ids, seconds
        super().__init__(f"triage took longer than {seconds:g} s")


def triage_now(*, tickets: list[dict[str, Any]], router: Router | None = None) -> list[dict[str, Any]]:
    """Store every ticket first (all or nothing), then triage them concurrently and return results.

    Raises :class:`SyncDeadlineExceeded` when they are not all settled within
    ``TRIAGE_SYNC_DEADLINE_SECONDS``: the request answers then, while the tickets keep going (their
    runs hold leases: if this process stops, the sweep hands them to a worker)."""
    stored = _store_all(tickets, router)
    pool = ThreadPoolExecutor(max_workers=min(BATCH_CONCURRENCY, len(stored)))
    futures = [pool.submit(_triage_in_thread, ticket.pk) for ticket in stored]
    pool.shutdown(wait=False)  # the threads end with their tickets, answered in time or not
    deadline = settings.TRIAGE_SYNC_DEADLINE_SECONDS
    _, late = wait(futures, timeout=deadline)
    if late:
        raise SyncDeadlineExceeded([ticket.pk for ticket in stored], deadline)
    for future in futures:
        future.result()
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
