"""Inbound doors: ``POST /inbound/email/<source>`` (Postmark, Mailgun, SendGrid) and
``POST /inbound/zendesk/<name>`` / ``POST /inbound/freshdesk/<name>`` (their webhooks).

Each door checks the sender as its provider documents, parses, and answers 2xx only once the ticket
row is committed (201 for a new ticket, 200 for a redelivery or a reply added to a thread); errors
come in the API's error shape. Plain Django views, not ninja routes: the bodies are the providers'
formats (multipart forms, raw bytes signed as sent), not schemas we define.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from triage.api.errors import error_response
from triage.connectors import email_providers
from triage.connectors.email_providers import InboundRejected
from triage.connectors.helpdesks import helpdesk
from triage.connectors.helpdesks.base import PayloadInvalid
from triage.models import Connector
from triage.models.connectors import secret_env_value
from triage.services.inbound import Ingested, email_ingest, helpdesk_ticket_ingest
from triage.services.tickets import validation_error_text

log = logging.getLogger(__name__)

BAD_SIGNATURE = "The request's signature or secret did not verify for this source."
MAILGUN_TOKEN_SECONDS = 900  # the age email_providers.mailgun_signature_valid accepts


def _connector(name: str, kinds: tuple[str, ...]) -> Connector | None:
    return Connector.objects.filter(name=name, kind__in=kinds, enabled=True).select_related("router").first()


def _ingested_response(result: Ingested) -> HttpResponse:
    ticket = result.ticket
    body = {
        "ticket_id": ticket.pk,
        "status": ticket.status,
        "created": result.created,
        "appended": result.appended,
    }
    return JsonResponse(body, status=201 if result.created else 200)


def _too_big(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > settings.TRIAGE_INBOUND_MAX_BYTES
    except ValueError:
        return True


def _read_raw(request: HttpRequest) -> bytes:
    # read the stream, not request.body: Postmark sends attachments base64 inside the JSON, past
    # Django's in-memory limit for form data; TRIAGE_INBOUND_MAX_BYTES bounds it instead
    return request.read(settings.TRIAGE_INBOUND_MAX_BYTES + 1)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InboundRejected(400, "The body is not valid JSON.", code="invalid_json") from None


def _secret_missing(connector: Connector) -> HttpResponse:
    log.warning(
        "inbound %s: its secret variable %r is not set; refusing everything",
        connector.name,
        connector.secret_env,
    )
    return error_response(401, BAD_SIGNATURE, code="bad_signature")


@csrf_exempt
@require_POST
def email(request: HttpRequest, name: str) -> HttpResponse:
    connector = _connector(name, (Connector.Kind.POSTMARK, Connector.Kind.MAILGUN, Connector.Kind.SENDGRID))
    if connector is None:
        return error_response(404, f"No email source named {name!r}.", param="source", code="not_found")
    if _too_big(request):
        return error_response(413, "The message is larger than TRIAGE_INBOUND_MAX_BYTES.", code="too_large")
    secret = secret_env_value(connector.secret_env)
    if not secret:
        return _secret_missing(connector)
    keep = connector.keep_attachments
    try:
        if connector.kind == Connector.Kind.POSTMARK:
            _check_shared_secret(request, secret)
            payload = _parse_json(_read_raw(request))
            parsed = email_providers.postmark_email(payload, keep_attachments=keep)
        elif connector.kind == Connector.Kind.SENDGRID:
            _check_shared_secret(request, secret)  # before reading a body of up to 40 MB
            parsed = email_providers.sendgrid_email(request.POST, request.FILES, keep_attachments=keep)
        else:
            # Mailgun signs the timestamp and token, which are in the form: it has to be read first
            fields, files = request.POST, request.FILES
            _check_mailgun(fields, secret)
            parsed = email_providers.mailgun_email(fields, files, keep_attachments=keep)
            _check_mailgun_token_unused(connector, str(fields.get("token", "")), parsed.message_id)
        return _ingested_response(email_ingest(connector=connector, email=parsed))
    except InboundRejected as exc:
        return error_response(exc.status, str(exc), code=exc.code)
    except RequestDataTooBig:
        return error_response(
            413, "A form field is larger than Django's DATA_UPLOAD_MAX_MEMORY_SIZE.", code="too_large"
        )
    except ValidationError as exc:
        return error_response(422, validation_error_text(exc), code="invalid_ticket")


def _check_shared_secret(request: HttpRequest, secret: str) -> None:
    valid = email_providers.shared_secret_valid(
        expected=secret,
        authorization_header=request.headers.get("Authorization"),
        query_token=request.GET.get("token"),
    )
    if not valid:
        raise InboundRejected(401, BAD_SIGNATURE, code="bad_signature")


def _check_mailgun_token_unused(connector: Connector, token: str, message_id: str) -> None:
    """Mailgun's signature covers the timestamp and token, not the message: a token seen before with
    another message is a replay (Mailgun's own retries resend the same message: they pass). Tokens
    are kept as long as a signature is accepted (15 minutes)."""
    key = f"triage:mailgun-token:{connector.pk}:{token}"
    if not cache.add(key, message_id, timeout=MAILGUN_TOKEN_SECONDS) and cache.get(key) != message_id:
        raise InboundRejected(401, BAD_SIGNATURE, code="bad_signature")


def _check_mailgun(fields: Any, secret: str) -> None:
    valid = email_providers.mailgun_signature_valid(
        signing_key=secret,
        timestamp=str(fields.get("timestamp", "")),
        token=str(fields.get("token", "")),
        signature=str(fields.get("signature", "")),
    )
    if not valid:
        raise InboundRejected(401, BAD_SIGNATURE, code="bad_signature")


@csrf_exempt
@require_POST
def helpdesk_webhook(request: HttpRequest, kind: str, name: str) -> HttpResponse:
    connector = _connector(name, (kind,)) if kind in Connector.HELPDESK_KINDS else None
    if connector is None:
        return error_response(404, f"No {kind} connector named {name!r}.", param="name", code="not_found")
    if _too_big(request):
        return error_response(413, "The request is larger than TRIAGE_INBOUND_MAX_BYTES.", code="too_large")
    secret = secret_env_value(connector.secret_env)
    if not secret:
        return _secret_missing(connector)
    module = helpdesk(connector.kind)
    try:
        raw = _read_raw(request)
        if not module.webhook_authentic(secret=secret, headers=dict(request.headers.items()), body=raw):
            return error_response(401, BAD_SIGNATURE, code="bad_signature")
        incoming = module.incoming_ticket(_parse_json(raw))
        return _ingested_response(helpdesk_ticket_ingest(connector=connector, incoming=incoming))
    except InboundRejected as exc:
        return error_response(exc.status, str(exc), code=exc.code)
    except PayloadInvalid as exc:
        return error_response(422, str(exc), code="malformed_payload")
    except ValidationError as exc:
        return error_response(422, validation_error_text(exc), code="invalid_ticket")
