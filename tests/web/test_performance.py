"""The queue stays bounded with 100,000 tickets: a fixed number of queries, whatever the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from triage.models import Router, Ticket, TriageStep
from triage.pipeline.subtasks import subtask_names

pytestmark = pytest.mark.django_db

TICKETS = 100_000
QUEUE_QUERIES = 8  # session, user, agent group, count, page, current steps, router categories (+1 slack)


@pytest.fixture
def hundred_thousand_tickets(presets: None) -> Router:
    router = Router.objects.get(name="triage-router")
    batch = [
        Ticket(
            subject=f"Bulk ticket {i}",
            body="bulk",
            router=router,
            status="triaged" if i % 7 else "needs_attention",
            category=("billing", "bug", "how-to")[i % 3],
            urgency_score=i % 5 + 1,
        )
        for i in range(TICKETS)
    ]
    Ticket.objects.bulk_create(batch, batch_size=5000)
    newest = list(Ticket.objects.order_by("-created_at", "-id").values_list("pk", flat=True)[:60])
    TriageStep.objects.bulk_create(
        [
            TriageStep(ticket_id=pk, task_name=name, status="done", served_by=f"model-{name}")
            for pk in newest
            for name in subtask_names()
        ]
    )
    return router


def test_queue_query_count_is_bounded_with_100k_tickets(
    agent_client: Client, hundred_thousand_tickets: Router, django_assert_max_num_queries: Any
) -> None:
    assert Ticket.objects.count() == TICKETS
    for url in ("/", "/?page=3", "/?category=billing&urgency_min=4", "/?attention=1&q=Bulk"):
        with django_assert_max_num_queries(QUEUE_QUERIES):
            response = agent_client.get(url)
        assert response.status_code == 200
    with django_assert_max_num_queries(QUEUE_QUERIES):
        fragment = agent_client.get(
            "/?status=triaged", headers={"HX-Request": "true", "HX-Target": "queue-results"}
        )
    assert b"model-classify_ticket" in fragment.content
    assert fragment.content.count(b'id="ticket-row-') == 50
