"""Outbound deliveries: signed webhooks and helpdesk write-back, recorded with what causes them and
sent by workers, in order per ticket, retried with backoff until delivered or a day has passed.

The life of a delivery:

1. ``deliveries_record_*`` writes a ``Delivery`` row in the transaction that settles the ticket (or
   approves its reply): both commit or neither, so no event is lost to a crash in between. On commit
   each row's id goes to a worker (``send_delivery_task``).
2. ``delivery_send`` claims the row (a conditional update: still pending, due, not held by another
   worker, and no earlier delivery of the same ticket to the same target still pending), sends it,
   and records the answer.
3. On failure the *target* backs off (a failing receiver is probed by one delivery at a time, not
   hammered by all of them), and after ``max_consecutive_failures`` in a row it is disabled until an
   admin turns it back on. A delivery not made within ``TRIAGE_DELIVERY_GIVE_UP_HOURS`` is given up.
4. ``deliveries_send_due`` (every few seconds, from beat) hands on what is due: retries, deliveries
   whose worker died, and those waiting behind an earlier one.

A delivery's id goes in every attempt's headers, so receivers that remember ids see each event once.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from triage.connectors.helpdesks import helpdesk
from triage.connectors.helpdesks.base import (
    FieldMapping,
    HelpdeskRequest,
    TriageOutcome,
    parse_retry_after,
    send_request,
)
from triage.connectors.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header
from triage.models import Connector, Delivery, Ticket, WebhookEndpoint
from triage.models.connectors import DeliveryTarget, secret_env_value
from triage.pipeline.subtasks import BRIEF, REPLY, subtask_names
from triage.services.results import step_as_dict, ticket_as_dict

log = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
SETTLE_EVENTS = {
    Ticket.Status.TRIAGED: Event.TRIAGED,
    Ticket.Status.NEEDS_ATTENTION: Event.NEEDS_ATTENTION,
    Ticket.Status.FAILED: Event.NEEDS_ATTENTION,
}
# a write-back answered with one of these will never succeed for this ticket: give it up at once
# (a deleted ticket, a value the helpdesk refuses) rather than retry for a day
PERMANENT_WRITE_BACK_STATUSES = (400, 404, 422)
FRESH_GRACE = timedelta(seconds=10)
QUEUED_GRACE = timedelta(seconds=60)


# --- recording (inside the caller's transaction) --------------------------------------------------


def deliveries_wanted(ticket: Ticket, *, status: str, escalated: bool) -> bool:
    """Whether settling this ticket so is announced anywhere (an endpoint subscribed to its events,
    or its helpdesk's write-back): one small query, so a ticket nobody listens for settles in one
    write, without a transaction around it."""
    events = {SETTLE_EVENTS[Ticket.Status(status)]} | ({Event.ESCALATED} if escalated else set())
    endpoints = WebhookEndpoint.objects.filter(enabled=True).only("events")
    if any(events & set(e.events or []) for e in endpoints):
        return True
    if not ticket.connector_id or not ticket.external_id:
        return False
    helpdesk = Connector.objects.filter(pk=ticket.connector_id, kind__in=Connector.HELPDESK_KINDS)
    return helpdesk.filter(write_back=True).exists()


def deliveries_record_settled(ticket_id: int) -> list[Delivery]:
    """The deliveries a ticket's settling causes: its status event, ``ticket.escalated`` when it was
    escalated, and the write-back to the helpdesk it came from."""
    ticket = Ticket.objects.select_related("router", "connector").get(pk=ticket_id)
    events = [SETTLE_EVENTS[Ticket.Status(ticket.status)]]
    if ticket.escalated:
        events.append(Event.ESCALATED)
    rows = _webhook_rows(ticket, events)
    connector = ticket.connector
    if connector is not None and connector.is_helpdesk and connector.write_back and ticket.external_id:
        rows.append(_write_back_row(ticket, connector))
    return _save(rows)


def deliveries_record_reply_approved(ticket_id: int) -> list[Delivery]:
    ticket = Ticket.objects.select_related("router", "connector").get(pk=ticket_id)
    return _save(_webhook_rows(ticket, [Event.REPLY_APPROVED]))


def deliveries_record_event(event: str, data: dict[str, Any]) -> list[Delivery]:
    """A delivery of an event about no ticket (``budget.warning``, ``budget.exceeded``) to every
    endpoint subscribed to it."""
    now = timezone.now()
    rows = []
    for endpoint in _subscribed(event):
        row = Delivery(endpoint=endpoint, event=event, next_attempt_at=now)
        row.payload = {"id": str(row.uid), "event": event, "created_at": now.isoformat(), "data": data}
        rows.append(row)
    return _save(rows)


def _subscribed(event: str) -> list[WebhookEndpoint]:
    return [e for e in WebhookEndpoint.objects.filter(enabled=True) if event in (e.events or [])]


def _webhook_rows(ticket: Ticket, events: Sequence[str]) -> list[Delivery]:
    rows: list[Delivery] = []
    data: dict[str, Any] | None = None
    now = timezone.now()
    for event in events:
        for endpoint in _subscribed(event):
            data = data if data is not None else ticket_event_data(ticket)
            row = Delivery(endpoint=endpoint, ticket=ticket, event=event, next_attempt_at=now)
            row.payload = {"id": str(row.uid), "event": event, "created_at": now.isoformat(), "data": data}
            rows.append(row)
    return rows


def ticket_event_data(ticket: Ticket) -> dict[str, Any]:
    """The ticket and its current steps, as the API's ``GET /api/tickets/{id}`` shows them."""
    order = {name: i for i, name in enumerate(subtask_names())}
    steps = sorted(ticket.steps.filter(is_current=True), key=lambda s: order.get(s.task_name, 99))
    data = {
        "ticket": {**ticket_as_dict(ticket), "body": ticket.body, "url": ticket_url(ticket.pk)},
        "steps": [step_as_dict(s) for s in steps],
    }
    # datetimes and Decimals as JSON text, once: the stored payload is what every attempt sends
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def ticket_url(ticket_id: int) -> str:
    return f"{settings.TRIAGE_PUBLIC_URL}/tickets/{ticket_id}" if settings.TRIAGE_PUBLIC_URL else ""


def _write_back_row(ticket: Ticket, connector: Connector) -> Delivery:
    outcome = TriageOutcome(
        external_id=ticket.external_id,
        category=ticket.category,
        urgency_score=ticket.urgency_score,
        escalated=ticket.escalated,
        status=ticket.status,
        note=write_back_note(ticket),
    )
    return Delivery(
        connector=connector,
        ticket=ticket,
        event=Delivery.WRITE_BACK,
        payload={**outcome.__dict__, "existing_tags": list(ticket.external_tags or [])},
        next_attempt_at=timezone.now(),
    )


def write_back_note(ticket: Ticket) -> str:
    """The private note left on the helpdesk ticket: the decision, the brief and the draft reply."""
    steps = {s.task_name: s for s in ticket.steps.filter(is_current=True, task_name__in=(BRIEF, REPLY))}
    urgency = f"urgency {ticket.urgency_score}/5" if ticket.urgency_score else "urgency unknown"
    escalated = ", escalated" if ticket.escalated else ""
    lines = [f"AI triage: {ticket.category or 'no category'}, {urgency}{escalated}."]
    if ticket.attention_reason:
        lines.append(f"Needs attention: {ticket.attention_reason}")
    brief = steps.get(BRIEF)
    if brief is not None and isinstance(brief.result, dict) and brief.result.get("summary"):
        lines += ["", "Escalation brief:", str(brief.result["summary"])]
        for field in ("impact", "tried", "ask"):
            if brief.result.get(field):
                lines.append(f"{field.capitalize()}: {brief.result[field]}")
    reply = steps.get(REPLY)
    if reply is not None and isinstance(reply.result, dict) and reply.result.get("reply"):
        lines += ["", "Suggested reply (a draft; not sent to the customer):", str(reply.result["reply"])]
    if url := ticket_url(ticket.pk):
        lines += ["", f"Details: {url}"]
    return "\n".join(lines)


def _save(rows: list[Delivery]) -> list[Delivery]:
    if not rows:
        return []
    saved = Delivery.objects.bulk_create(rows)
    ids = [d.pk for d in saved if d.pk is not None] or list(
        Delivery.objects.filter(uid__in=[d.uid for d in rows]).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: deliveries_enqueue(ids))
    return saved


def deliveries_enqueue(ids: list[int]) -> None:
    from triage.pipeline.tasks import send_delivery_task

    for delivery_id in ids:
        send_delivery_task.delay(delivery_id)


# --- sending ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str = ""
    retry_after: float | None = None
    progress: int = 0


def _lease() -> timedelta:
    return timedelta(seconds=2 * float(settings.TRIAGE_DELIVERY_TIMEOUT_SECONDS) + 30)


def _same_queue(delivery: Delivery) -> Q:
    target = (
        Q(endpoint_id=delivery.endpoint_id) if delivery.endpoint_id else Q(connector_id=delivery.connector_id)
    )
    return target & Q(ticket_id=delivery.ticket_id)


def delivery_claim(delivery_id: int) -> Delivery | None:
    """Take the delivery for this worker, or None: it is done, not due, held by a live worker, or an
    earlier delivery of its ticket to the same target is still pending (it goes first)."""
    now = timezone.now()
    delivery = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).first()
    if delivery is None:
        return None
    claimable = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
    )
    claimable = claimable.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if delivery.ticket_id is not None:
        earlier = Delivery.objects.filter(
            _same_queue(delivery), status=Delivery.Status.PENDING, pk__lt=delivery_id
        )
        if earlier.exists():
            return None
    if not claimable.update(claimed_until=now + _lease()):
        return None
    delivery.refresh_from_db()
    return delivery


def delivery_send(*, delivery_id: int) -> bool:
    """Send one delivery if it is this worker's to send; True when it was delivered."""
    delivery = delivery_claim(delivery_id)
    if delivery is None:
        return False
    target = delivery.target
    now = timezone.now()
    if not target_active(target):
        _release(delivery, next_attempt_at=now)  # waits for an admin; the sweep gives it up after a day
        return False
    if target.retry_at is not None and target.retry_at > now:
        _release(delivery, next_attempt_at=target.retry_at)
        return False
    answer = _write_back(delivery) if delivery.connector_id else _post_webhook(delivery)
    _record(delivery, answer)
    if answer.ok and delivery.ticket_id is not None:
        _enqueue_next(delivery)
    return answer.ok


def target_active(target: DeliveryTarget) -> bool:
    if target.disabled_at is not None:
        return False
    if isinstance(target, Connector):
        return target.enabled and target.write_back
    assert isinstance(target, WebhookEndpoint)
    return target.enabled


def _release(delivery: Delivery, *, next_attempt_at: datetime) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=None, queued_until=None, next_attempt_at=next_attempt_at
    )


def _post_webhook(delivery: Delivery) -> Answer:
    endpoint = delivery.endpoint
    assert endpoint is not None
    secret = secret_env_value(endpoint.secret_env)
    if not secret:
        return Answer(False, None, 0, f"the signing secret variable {endpoint.secret_env} is not set")
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "support-triage-webhooks/1",
        DELIVERY_HEADER: str(delivery.uid),
        EVENT_HEADER: delivery.event,
        SIGNATURE_HEADER: signature_header(secret=secret, body=body),
    }
    started = time.perf_counter()
    try:
        with httpx2.Client(timeout=float(settings.TRIAGE_DELIVERY_TIMEOUT_SECONDS)) as client:
            response = client.post(endpoint.url, content=body, headers=headers)
    except httpx2.TimeoutException:
        return Answer(False, None, _since(started), "timed out")
    except httpx2.HTTPError as exc:
        return Answer(False, None, _since(started), f"no answer: {type(exc).__name__}")
    latency = _since(started)
    if 200 <= response.status_code < 300:
        return Answer(True, response.status_code, latency)
    return Answer(
        False,
        response.status_code,
        latency,
        f"HTTP {response.status_code}: {response.text[:200]}",
        retry_after=_clamped(parse_retry_after(response.headers.get("Retry-After"))),
    )


def _write_back(delivery: Delivery) -> Answer:
    connector = delivery.connector
    assert connector is not None
    module = helpdesk(connector.kind)
    try:
        credentials = {name: secret_env_value(env) for name, env in (connector.credential_envs or {}).items()}
        auth = module.auth_header(credentials)
        mapping = FieldMapping.from_json(connector.mapping or {}, default=module.DEFAULT_MAPPING)
    except ValueError as exc:
        return Answer(False, None, 0, f"connector misconfigured: {exc}", progress=delivery.progress)
    payload = dict(delivery.payload)
    existing_tags = payload.pop("existing_tags", [])
    requests: list[HelpdeskRequest] = module.writeback_requests(
        TriageOutcome(**payload), mapping, existing_tags=existing_tags
    )
    done, latency, last_status = delivery.progress, 0, None
    for request in requests[delivery.progress :]:
        response = send_request(
            base_url=connector.base_url,
            auth_header=auth,
            request=request,
            timeout=float(settings.TRIAGE_DELIVERY_TIMEOUT_SECONDS),
        )
        latency += response.latency_ms
        if not response.ok:
            return Answer(
                False,
                response.status_code,
                latency,
                f"{request.method} {request.path}: {response.error}",
                _clamped(response.retry_after_seconds),
                done,
            )
        done += 1
        last_status = response.status_code
    return Answer(True, last_status, latency, progress=done)


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _clamped(seconds: float | None) -> float | None:
    """A receiver's Retry-After, at most the backoff cap (a huge one would overflow the clock or park
    the target past the give-up time)."""
    if seconds is None or seconds != seconds:  # absent, or NaN
        return None
    return min(seconds, float(settings.TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS))


def _record(delivery: Delivery, answer: Answer) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {
        "attempts": F("attempts") + 1,
        "claimed_until": None,
        "queued_until": None,
        "progress": answer.progress,
        "last_status_code": answer.status_code,
        "last_latency_ms": answer.latency_ms,
        "last_error": answer.error[:500],
    }
    target = delivery.target
    target_rows = type(target).objects.filter(pk=target.pk)
    if answer.ok:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.DELIVERED, delivered_at=now, **fields
        )
        target_rows.filter(Q(consecutive_failures__gt=0) | Q(retry_at__isnull=False)).update(
            consecutive_failures=0, retry_at=None
        )
        return
    if delivery.connector_id and answer.status_code in PERMANENT_WRITE_BACK_STATUSES:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, **fields)
        log.warning("write-back %s refused for good: %s", delivery.uid, answer.error)
        _enqueue_next(delivery)
        return
    if answer.status_code == 429:
        # rate-limited: the whole target waits as long as it asks; not a failure of the receiver
        wait = answer.retry_after if answer.retry_after is not None else backoff_seconds(0)
        retry_at = now + timedelta(seconds=wait)
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=retry_at, **fields)
        target_rows.update(retry_at=retry_at)
        return
    failures = target.consecutive_failures + 1
    wait = max(backoff_seconds(target.consecutive_failures), answer.retry_after or 0)
    retry_at = now + timedelta(seconds=wait)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=retry_at, **fields)
    target_rows.update(consecutive_failures=F("consecutive_failures") + 1, retry_at=retry_at)
    if failures >= target.max_consecutive_failures:
        target_rows.filter(disabled_at__isnull=True).update(
            disabled_at=now,
            disabled_reason=f"{failures} failed attempts in a row; last: {answer.error[:200]}",
        )
        log.warning("%s disabled after %d failed deliveries in a row", target, failures)


def backoff_seconds(failures: int) -> float:
    """Wait before the next try after ``failures`` failures in a row: doubling from the base up to
    the cap, with up to 10% jitter so that receivers coming back aren't hit by everyone at once."""
    base = float(settings.TRIAGE_DELIVERY_BACKOFF_BASE_SECONDS)
    cap = float(settings.TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS)
    wait = min(cap, base * 2 ** min(failures, 30))
    return wait * random.uniform(0.9, 1.0)


def _enqueue_next(delivery: Delivery) -> None:
    following = (
        Delivery.objects.filter(_same_queue(delivery), status=Delivery.Status.PENDING, pk__gt=delivery.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        deliveries_enqueue([following])


def deliveries_send_due(*, limit: int = 500) -> int:
    """Give up what is too old, then hand on what is due: one per ticket and target (the first in
    line), and only one per target that is failing (its probe). Returns how many were handed on."""
    now = timezone.now()
    give_up = now - timedelta(hours=float(settings.TRIAGE_DELIVERY_GIVE_UP_HOURS))
    Delivery.objects.filter(status=Delivery.Status.PENDING, created_at__lt=give_up).update(
        status=Delivery.Status.FAILED,
        claimed_until=None,
        last_error=f"given up: not delivered within {settings.TRIAGE_DELIVERY_GIVE_UP_HOURS:g} h",
    )
    # targets that take nothing now (off, disabled, backing off) are left out in the query, and a
    # failing one gets one probe: so one dead receiver's backlog can't fill the window of others
    idle_endpoints = WebhookEndpoint.objects.filter(
        Q(enabled=False) | Q(disabled_at__isnull=False) | Q(retry_at__gt=now)
    ).values("pk")
    idle_connectors = Connector.objects.filter(
        Q(enabled=False) | Q(write_back=False) | Q(disabled_at__isnull=False) | Q(retry_at__gt=now)
    ).values("pk")
    failing_endpoints = WebhookEndpoint.objects.filter(consecutive_failures__gt=0).values("pk")
    failing_connectors = Connector.objects.filter(consecutive_failures__gt=0).values("pk")
    due_all = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        # a new delivery's own message is on its way: sweep it only if that was lost (not to queue
        # copies behind a busy worker's backlog every few seconds); tried or put off: sweep it when due
        .filter(
            Q(attempts__gt=0) | Q(next_attempt_at__gt=F("created_at")) | Q(created_at__lt=now - FRESH_GRACE)
        )
        .filter(Q(queued_until__isnull=True) | Q(queued_until__lt=now))
        .exclude(endpoint_id__in=idle_endpoints)
        .exclude(connector_id__in=idle_connectors)
        .order_by("pk")
    )
    healthy = due_all.exclude(endpoint_id__in=failing_endpoints).exclude(connector_id__in=failing_connectors)
    chosen: list[int] = []
    first_in_line: set[tuple[int | None, int | None, int | None]] = set()
    for pk, endpoint_id, connector_id, ticket_id in healthy.values_list(
        "pk", "endpoint_id", "connector_id", "ticket_id"
    )[: limit * 4]:
        line = (endpoint_id, connector_id, ticket_id)
        if ticket_id is not None and line in first_in_line:
            continue  # behind an earlier delivery of its ticket to the same target
        first_in_line.add(line)
        chosen.append(pk)
        if len(chosen) >= limit:
            break
    for field, failing in (("endpoint_id", failing_endpoints), ("connector_id", failing_connectors)):
        for target_id in failing.filter(pk__in=due_all.values(field)).values_list("pk", flat=True):
            probe = due_all.filter(**{field: target_id}).values_list("pk", flat=True).first()
            if probe is not None:
                chosen.append(probe)
    Delivery.objects.filter(pk__in=chosen).update(queued_until=now + QUEUED_GRACE)
    deliveries_enqueue(chosen)
    return len(chosen)


# --- admin actions ---------------------------------------------------------------------------------


def deliveries_redeliver(ids: list[int]) -> int:
    """Send these deliveries again (delivered or given up ones too), now, with the same delivery id;
    the give-up clock starts again. One a worker is sending right now is left to it."""
    now = timezone.now()
    live = Q(status=Delivery.Status.PENDING, claimed_until__gt=now)  # a worker is sending it right now
    count = (
        Delivery.objects.filter(pk__in=ids)
        .exclude(live)
        .update(
            created_at=now,  # the 24 h give-up clock starts again
            status=Delivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            claimed_until=None,
            queued_until=None,
            progress=0,
        )
    )
    transaction.on_commit(lambda: deliveries_enqueue(sorted(ids)))
    return count


def target_enable(target: DeliveryTarget) -> None:
    """Turn an auto-disabled target back on; its pending deliveries go out from the next sweep."""
    model: type[Connector] | type[WebhookEndpoint] = type(target)  # type: ignore[assignment]
    model.objects.filter(pk=target.pk).update(
        disabled_at=None, disabled_reason="", consecutive_failures=0, retry_at=None
    )
    Delivery.objects.filter(
        Q(endpoint_id=target.pk) if isinstance(target, WebhookEndpoint) else Q(connector_id=target.pk),
        status=Delivery.Status.PENDING,
    ).update(next_attempt_at=timezone.now(), queued_until=None)
