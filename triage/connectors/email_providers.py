"""Inbound email from the providers' webhooks (Postmark, Mailgun, SendGrid) as ``InboundEmail``, and the
checks that a request really comes from the provider. Pure functions: no database, no Django models.

Every ``*_email`` turns a payload that lacks a required field, or has one of the wrong type, into
``InboundRejected(422, ..., code="malformed_payload")`` whose message names the field. The body is
always trimmed by ``trim_reply`` (not the providers' own stripped fields, which also cut sign-offs),
so a message reads the same whichever provider delivered it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Protocol

from triage.connectors.email_parsing import (
    Attachment,
    EmailParseError,
    InboundEmail,
    clean_content_type,
    decode_text,
    decoded_header,
    header_pairs,
    header_value,
    inbound_email,
    parse_rfc822,
    safe_filename,
    sender_address,
)

REJECTABLE_STATUSES = (400, 401, 422)


class InboundRejected(Exception):
    """A request the inbound endpoint refuses: ``status`` is the HTTP answer (400, 401 or 422) and
    ``code`` a short machine-readable reason such as "bad_signature" or "malformed_payload"."""

    def __init__(self, status: int, message: str, *, code: str) -> None:
        if status not in REJECTABLE_STATUSES:
            raise ValueError(f"status must be one of {REJECTABLE_STATUSES}, not {status}")
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class UploadedFileLike(Protocol):
    """What a posted file offers; Django's ``UploadedFile`` satisfies it."""

    @property
    def name(self) -> str | None: ...

    @property
    def content_type(self) -> str | None: ...

    @property
    def size(self) -> int | None: ...

    def read(self) -> bytes: ...


def _malformed(field: str, problem: str) -> InboundRejected:
    return InboundRejected(422, f"{field}: {problem}", code="malformed_payload")


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


# --- Postmark -------------------------------------------------------------------------------------------
# Inbound webhook JSON: https://postmarkapp.com/developer/webhooks/inbound-webhook
# and https://postmarkapp.com/developer/user-guide/inbound/parse-an-email


def postmark_email(payload: dict[str, Any], *, keep_attachments: bool = False) -> InboundEmail:
    """An ``InboundEmail`` from Postmark's inbound webhook JSON. The Message-ID comes from ``Headers``;
    Postmark's own ``MessageID`` is only the fallback."""
    if not isinstance(payload, Mapping):
        raise _malformed("payload", f"expected a JSON object, got {_type_name(payload)}")
    sender_email, sender_name = _postmark_sender(payload)
    headers = _postmark_headers(payload)
    date = _json_str(payload, "Date")
    if date and not header_value(headers, "Date"):
        headers.append(("Date", date))
    text, html = _json_str(payload, "TextBody"), _json_str(payload, "HtmlBody")
    if not text.strip() and not html.strip():
        text = _json_str(payload, "StrippedTextReply")
    return inbound_email(
        headers=headers,
        sender_email=sender_email,
        sender_name=sender_name,
        subject=_json_str(payload, "Subject"),
        text=text,
        html=html,
        attachments=_postmark_attachments(payload, keep=keep_attachments),
        message_id=_json_str(payload, "MessageID"),
    )


def _json_str(data: Mapping[str, Any], key: str, *, label: str | None = None) -> str:
    """An optional string member: "" when absent or null, 422 when of another type."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(label or key, f"expected a string, got {_type_name(value)}")
    return value


def _postmark_sender(payload: Mapping[str, Any]) -> tuple[str, str]:
    full = payload.get("FromFull")
    if full is not None and not isinstance(full, Mapping):
        raise _malformed("FromFull", f"expected an object, got {_type_name(full)}")
    full_email = _json_str(full, "Email", label="FromFull.Email") if full else ""
    full_name = _json_str(full, "Name", label="FromFull.Name") if full else ""
    email, parsed_name = sender_address(full_email or _json_str(payload, "From"))
    if not email:
        raise _malformed("From", "no sender address in FromFull.Email or From")
    return email, full_name or _json_str(payload, "FromName") or parsed_name


def _postmark_headers(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    items = payload.get("Headers")
    if items is None:
        return []
    if not isinstance(items, list):
        raise _malformed("Headers", f"expected a list of {{Name, Value}}, got {_type_name(items)}")
    headers: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _malformed(f"Headers[{index}]", f"expected an object, got {_type_name(item)}")
        name = _json_str(item, "Name", label=f"Headers[{index}].Name")
        headers.append((name, _json_str(item, "Value", label=f"Headers[{index}].Value")))
    return headers


def _postmark_attachments(payload: Mapping[str, Any], *, keep: bool) -> list[Attachment]:
    items = payload.get("Attachments")
    if items is None:
        return []
    if not isinstance(items, list):
        raise _malformed("Attachments", f"expected a list, got {_type_name(items)}")
    return [_postmark_attachment(item, index=index, keep=keep) for index, item in enumerate(items)]


def _postmark_attachment(item: object, *, index: int, keep: bool) -> Attachment:
    label = f"Attachments[{index}]"
    if not isinstance(item, Mapping):
        raise _malformed(label, f"expected an object, got {_type_name(item)}")
    content_type = clean_content_type(_json_str(item, "ContentType", label=f"{label}.ContentType"))
    encoded = _json_str(item, "Content", label=f"{label}.Content")
    try:
        content = base64.b64decode(encoded)
    except (binascii.Error, ValueError) as error:
        raise _malformed(f"{label}.Content", "not valid base64") from error
    declared = item.get("ContentLength")
    size = len(content)
    if not encoded and isinstance(declared, int) and not isinstance(declared, bool) and declared >= 0:
        size = declared  # content left out: trust the declared length
    name = _json_str(item, "Name", label=f"{label}.Name")
    return Attachment(
        name=safe_filename(name, content_type=content_type, index=index + 1),
        content_type=content_type,
        size=size,
        content=content if keep else None,
    )


# --- Mailgun --------------------------------------------------------------------------------------------
# Route forward() POST: https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/receive-http
# Signature: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks


def mailgun_email(
    fields: Mapping[str, str], files: Mapping[str, UploadedFileLike], *, keep_attachments: bool = False
) -> InboundEmail:
    """An ``InboundEmail`` from a Mailgun route's forward() POST ("fully parsed", or raw MIME in
    ``body-mime`` when the route URL ends in "mime"). A listed attachment whose file did not arrive
    is skipped rather than refusing the message (a refusal makes Mailgun retry the same POST)."""
    if "body-mime" in fields:
        return _raw_mime(fields, "body-mime", keep_attachments=keep_attachments)
    sender_email, sender_name = sender_address(_form_str(fields, "from", required=True))
    if not sender_email:
        raise _malformed("from", "no sender address")
    headers = _mailgun_headers(fields)
    for name in ("Message-Id", "In-Reply-To", "References", "Date"):
        if not header_value(headers, name) and _form_str(fields, name):
            headers.append((name, _form_str(fields, name)))
    text, html = _form_str(fields, "body-plain"), _form_str(fields, "body-html")
    if not text.strip() and not html.strip():
        text = _form_str(fields, "stripped-text")
    return inbound_email(
        headers=headers,
        sender_email=sender_email,
        sender_name=sender_name,
        subject=_form_str(fields, "subject") or header_value(headers, "Subject"),
        text=text,
        html=html,
        attachments=_mailgun_attachments(fields, files, keep=keep_attachments),
    )


def _form_str(fields: Mapping[str, str | bytes], name: str, *, required: bool = False) -> str:
    """A form field as text ("" when absent); bytes are read as UTF-8; 422 for other types."""
    value = fields.get(name)
    if value is None:
        if required:
            raise _malformed(name, "missing")
        return ""
    if isinstance(value, bytes):
        return decode_text(value, "utf-8")
    if not isinstance(value, str):
        raise _malformed(name, f"expected text, got {_type_name(value)}")
    return value


def _mailgun_headers(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """``message-headers``: a JSON list of [name, value] pairs, in the message's order."""
    raw = _form_str(fields, "message-headers")
    if not raw:
        return []
    try:
        pairs = json.loads(raw)
    except ValueError as error:
        raise _malformed("message-headers", "not valid JSON") from error
    if not isinstance(pairs, list):
        raise _malformed("message-headers", "expected a JSON list of [name, value] pairs")
    headers: list[tuple[str, str]] = []
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            raise _malformed("message-headers", "expected a JSON list of [name, value] pairs")
        headers.append((pair[0], pair[1]))
    return headers


def _mailgun_attachments(
    fields: Mapping[str, str], files: Mapping[str, UploadedFileLike], *, keep: bool
) -> list[Attachment]:
    """Files ``attachment-1`` .. ``attachment-<attachment-count>`` (all ``attachment-N`` if no count)."""
    count_text = _form_str(fields, "attachment-count").strip()
    if count_text and not count_text.isdigit():
        raise _malformed("attachment-count", f"expected a whole number, got {count_text[:20]!r}")
    limit = int(count_text) if count_text else None
    numbered = _numbered_files(files, prefix="attachment-")
    return [
        _uploaded_attachment(files[key], index=index, keep=keep)
        for index, (number, key) in enumerate(numbered, start=1)
        if limit is None or number <= limit
    ]


def _numbered_files(files: Mapping[str, object], *, prefix: str) -> list[tuple[int, str]]:
    """(number, key) of the files called ``<prefix><number>``, by number."""
    pattern = re.compile(re.escape(prefix) + r"(\d{1,6})")
    return sorted((int(match.group(1)), key) for key in files if (match := pattern.fullmatch(key)))


def _uploaded_attachment(
    upload: UploadedFileLike, *, index: int, keep: bool, name: str = "", content_type: str = ""
) -> Attachment:
    """An ``Attachment`` from a posted file; its bytes are read only when kept or when its size is unknown."""
    clean_type = clean_content_type(content_type or upload.content_type)
    declared_size = upload.size
    content: bytes | None = None
    if keep or not isinstance(declared_size, int) or declared_size < 0:
        seek = getattr(upload, "seek", None)
        if callable(seek):
            seek(0)
        content = upload.read()
    return Attachment(
        name=safe_filename(name or upload.name, content_type=clean_type, index=index),
        content_type=clean_type,
        size=len(content) if content is not None else int(declared_size or 0),
        content=content if keep else None,
    )


def mailgun_signature_valid(
    *,
    signing_key: str,
    timestamp: str,
    token: str,
    signature: str,
    now: float | None = None,
    max_age_seconds: int = 900,
) -> bool:
    """Whether Mailgun signed this request: ``signature`` is the hex HMAC-SHA256 of ``timestamp + token``
    under the webhook signing key, and ``timestamp`` is within ``max_age_seconds`` of now (older ones are
    replays). Callers should also refuse a ``token`` they have seen before, as Mailgun advises."""
    if not (signing_key and timestamp and token and signature):
        return False
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > max_age_seconds:
        return False
    expected = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "surrogatepass"))


# --- SendGrid -------------------------------------------------------------------------------------------
# Inbound Parse: https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/setting-up-the-inbound-parse-webhook
# (default parameters, and the raw "POST the raw, full MIME message" mode with the whole message in `email`)


def sendgrid_email(
    fields: Mapping[str, str | bytes],
    files: Mapping[str, UploadedFileLike],
    *,
    keep_attachments: bool = False,
) -> InboundEmail:
    """An ``InboundEmail`` from SendGrid Inbound Parse: the raw full MIME message in ``email``, or the
    default parsed fields. From, Subject and the ids come from the raw ``headers`` block when present.
    ``text``/``html`` given as bytes are decoded with the charset SendGrid lists for them in ``charsets``;
    as str they are taken to be decoded already (e.g. Django's ``request.POST``)."""
    if "email" in fields:
        return _raw_mime(fields, "email", keep_attachments=keep_attachments)
    if "headers" not in fields and "from" not in fields:
        raise _malformed("headers", "missing (and no 'from' or raw 'email' field either)")
    headers = header_pairs(_form_str(fields, "headers"))
    from_value = decoded_header("From", header_value(headers, "From")) or _form_str(fields, "from")
    sender_email, sender_name = sender_address(from_value)
    if not sender_email:
        sender_email, sender_name = sender_address(_form_str(fields, "from"))
    if not sender_email:
        raise _malformed("from", "no sender address in 'headers' or 'from'")
    subject = decoded_header("Subject", header_value(headers, "Subject")) or _form_str(fields, "subject")
    charsets = _json_object(fields, "charsets")
    return inbound_email(
        headers=headers,
        sender_email=sender_email,
        sender_name=sender_name,
        subject=subject,
        text=_charset_text(fields, "text", charsets),
        html=_charset_text(fields, "html", charsets),
        attachments=_sendgrid_attachments(fields, files, keep=keep_attachments),
    )


def _json_object(fields: Mapping[str, str | bytes], name: str) -> dict[str, Any]:
    raw = _form_str(fields, name)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise _malformed(name, "not valid JSON") from error
    if not isinstance(value, dict):
        raise _malformed(name, f"expected a JSON object, got {_type_name(value)}")
    return value


def _charset_text(fields: Mapping[str, str | bytes], name: str, charsets: Mapping[str, Any]) -> str:
    value = fields.get(name)
    if isinstance(value, bytes):
        charset = charsets.get(name)
        return decode_text(value, charset if isinstance(charset, str) else None)
    return _form_str(fields, name)


def _sendgrid_attachments(
    fields: Mapping[str, str | bytes], files: Mapping[str, UploadedFileLike], *, keep: bool
) -> list[Attachment]:
    """Files ``attachment1``.. described by ``attachment-info`` ({"attachment1": {"filename", "type"}})."""
    info = _json_object(fields, "attachment-info")
    attachments = []
    for index, (_, key) in enumerate(_numbered_files(files, prefix="attachment"), start=1):
        details = info.get(key)
        details = details if isinstance(details, Mapping) else {}
        name = details.get("filename") or details.get("name")
        content_type = details.get("type")
        attachments.append(
            _uploaded_attachment(
                files[key],
                index=index,
                keep=keep,
                name=name if isinstance(name, str) else "",
                content_type=content_type if isinstance(content_type, str) else "",
            )
        )
    return attachments


def _raw_mime(fields: Mapping[str, str | bytes], name: str, *, keep_attachments: bool) -> InboundEmail:
    value = fields[name]
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogateescape")
    elif isinstance(value, bytes):
        raw = value
    else:
        raise _malformed(name, f"expected the raw message as text, got {_type_name(value)}")
    try:
        return parse_rfc822(raw, keep_attachments=keep_attachments)
    except EmailParseError as error:
        raise _malformed(name, str(error)) from error


# --- shared secrets (Postmark, SendGrid) -----------------------------------------------------------------
# Neither signs its inbound POSTs, so the URL we give each carries a per-source secret. Postmark documents
# basic auth in the webhook URL (https://postmarkapp.com/developer/webhooks/webhooks-overview, "Basic HTTP
# authentication"); a ?token= query parameter works for any provider that posts to a URL as given.


def shared_secret_valid(*, expected: str, authorization_header: str | None, query_token: str | None) -> bool:
    """Whether the request carries the source's secret, as the password of HTTP Basic auth or as the
    ``token`` query parameter. Constant-time; always False when no secret is configured."""
    if not expected:
        return False
    wanted = expected.encode("utf-8", "surrogatepass")
    offered = [value for value in (_basic_auth_password(authorization_header), query_token) if value]
    matched = False
    for candidate in offered:
        matched |= hmac.compare_digest(wanted, candidate.encode("utf-8", "surrogatepass"))
    return matched


def _basic_auth_password(header: str | None) -> str:
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        return ""
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return ""
    _, separator, password = decode_text(decoded, "utf-8").partition(":")
    return password if separator else ""


__all__ = [
    "InboundRejected",
    "UploadedFileLike",
    "mailgun_email",
    "mailgun_signature_valid",
    "postmark_email",
    "sendgrid_email",
    "shared_secret_valid",
]
