"""The queue: newest first, filters in the URL, htmx fragments, rows that poll until settled."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true", "HX-Target": "queue-results"}


def test_queue_lists_newest_first_with_status_category_urgency_models(
    agent_client: Client, make_ticket: Any
) -> None:
    older = make_ticket(subject="Older ticket")
    newer = make_ticket(subject="Newer ticket", urgency_score=5, escalated=True)
    html = agent_client.get("/").content.decode()
    assert html.index("Newer ticket") < html.index("Older ticket")
    assert f'id="ticket-row-{older.pk}"' in html
    assert "5 · critical" in html
    assert "Escalated" in html
    assert "openai-gpt-5-nano" in html and "anthropic-claude-haiku-4.5" in html
    assert f'href="/tickets/{newer.pk}/"' in html


def test_queue_is_paginated_on_the_server(agent_client: Client, make_ticket: Any) -> None:
    from triage.web.selectors import QUEUE_PAGE_SIZE

    for i in range(QUEUE_PAGE_SIZE + 3):
        make_ticket(subject=f"Ticket number {i:03d}")
    first = agent_client.get("/").content.decode()
    assert "Page 1 of 2" in first
    assert "Ticket number 000" not in first
    second = agent_client.get("/?page=2").content.decode()
    assert "Ticket number 000" in second


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("status=failed", "Broken one", "Calm one"),
        ("category=billing", "Billing one", "Calm one"),
        ("urgency_min=4", "Urgent one", "Calm one"),
        ("q=invoice", "Billing one", "Urgent one"),
        ("attention=1", "Broken one", "Calm one"),
    ],
)
def test_filters(agent_client: Client, make_ticket: Any, query: str, shown: str, hidden: str) -> None:
    make_ticket(subject="Calm one")
    make_ticket(subject="Urgent one", urgency_score=5)
    make_ticket(subject="Billing one: invoice twice", category="billing")
    make_ticket(subject="Broken one", status="failed", attention_reason="classify_ticket could not be served")
    html = agent_client.get(f"/?{query}").content.decode()
    assert shown in html
    assert hidden not in html


def test_search_by_ticket_number(agent_client: Client, make_ticket: Any) -> None:
    wanted = make_ticket(subject="The one we want")
    make_ticket(subject="Another")
    html = agent_client.get(f"/?q=%23{wanted.pk}").content.decode()
    assert "The one we want" in html and "Another" not in html


def test_filters_are_kept_in_the_pager_links(agent_client: Client, make_ticket: Any) -> None:
    for _ in range(55):
        make_ticket(category="billing")
    html = agent_client.get("/?category=billing").content.decode()
    assert "?category=billing&amp;page=2" in html


def test_htmx_filter_request_gets_only_the_results_fragment(agent_client: Client, make_ticket: Any) -> None:
    make_ticket(subject="Fragment ticket")
    response = agent_client.get("/?status=triaged", headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="queue-results"')
    assert "<html" not in html and "Fragment ticket" in html


def test_history_restore_gets_the_whole_page(agent_client: Client, make_ticket: Any) -> None:
    make_ticket()
    response = agent_client.get("/?status=triaged", headers={**HX, "HX-History-Restore-Request": "true"})
    assert b"<html" in response.content


def test_filter_form_pushes_its_url_and_works_without_javascript(
    agent_client: Client, make_ticket: Any
) -> None:
    make_ticket()
    html = agent_client.get("/").content.decode()
    assert 'hx-push-url="true"' in html
    assert 'method="get" action="/"' in html
    assert '<noscript><button type="submit">Filter</button></noscript>' in html


def test_triaging_rows_poll_and_settled_rows_do_not(agent_client: Client, make_ticket: Any) -> None:
    running = make_ticket(subject="Still going", status="triaging")
    done = make_ticket(subject="All done")
    html = agent_client.get("/").content.decode()
    row = html[html.index(f'id="ticket-row-{running.pk}"') :]
    assert f'hx-get="/tickets/{running.pk}/row/" hx-trigger="every 2s"' in row.split(">")[0]
    settled_row = html[html.index(f'id="ticket-row-{done.pk}"') :]
    assert "hx-trigger" not in settled_row.split(">")[0]


def test_row_fragment_keeps_polling_while_triaging(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket(status="triaging")
    response = agent_client.get(f"/tickets/{ticket.pk}/row/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"every 2s" in response.content


def test_row_fragment_stops_polling_when_the_ticket_settles(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket(status="triaged")
    response = agent_client.get(f"/tickets/{ticket.pk}/row/", headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx: stop polling (and still swap the final row)
    assert f'id="ticket-row-{ticket.pk}"'.encode() in response.content
    assert b"hx-trigger" not in response.content


def test_row_url_without_htmx_goes_to_the_ticket(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    response = agent_client.get(f"/tickets/{ticket.pk}/row/")
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"


def test_row_of_a_deleted_ticket_stops_polling(agent_client: Client, db: None) -> None:
    assert agent_client.get("/tickets/999999/row/", headers={"HX-Request": "true"}).status_code == 286


def test_bad_filter_values_are_ignored(agent_client: Client, make_ticket: Any) -> None:
    make_ticket(subject="Still listed")
    response = agent_client.get("/?status=nonsense&urgency_min=9&page=abc")
    assert response.status_code == 200
    assert b"Still listed" in response.content


def test_queue_and_ticket_page_show_the_detected_language(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket(subject="Problème de facturation", language="fr")
    undetermined = make_ticket(subject="refund??")
    html = agent_client.get("/").content.decode()
    row = html[html.index(f'id="ticket-row-{ticket.pk}"') :]
    assert '<code title="Detected language">fr</code>' in row[: row.index("</tr>")]
    other = html[html.index(f'id="ticket-row-{undetermined.pk}"') :]
    assert "Too short to tell" in other[: other.index("</tr>")]
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "<dt>Language</dt><dd><code>fr</code></dd>" in page
