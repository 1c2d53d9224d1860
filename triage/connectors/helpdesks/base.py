"""What every helpdesk connector shares: the data it passes around and the one HTTP call it makes.

Pure code: no database, no Django. A helpdesk module (``zendesk.py``, ``freshdesk.py``) turns a
webhook payload into an :class:`IncomingTicket`, and a :class:`TriageOutcome` into the
:class:`HelpdeskRequest` list that writes it back; :func:`send_request` sends one request and reports
what happened without raising, so the caller decides about retries (``retry_after_seconds``).

HTTP goes through ``httpx2``, the HTTP client this project already installs with ``openai`` (the
distribution is named ``httpx2``, so is its import; ``triage/routing`` uses it the same way).
"""

from __future__ import annotations

import base64
import email.utils
import html
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, ClassVar

import httpx2

from triage.connectors.email_parsing import html_to_text

CUSTOMER_TIERS: tuple[str, ...] = ("free", "pro", "business", "enterprise")  # lowest first
OUTCOME_STATUSES: tuple[str, ...] = ("triaged", "needs_attention", "failed")
URGENCIES: tuple[int, ...] = (1, 2, 3, 4, 5)
TIER_TAG_PREFIX = "tier_"  # a ticket tag "tier_enterprise" marks the customer's tier
SNIPPET_CHARS = 200  # how much of an error response body goes into HelpdeskResponse.error


@dataclass(frozen=True)
class IncomingTicket:
    external_id: str  # the helpdesk's ticket id, as a string of digits
    subject: str
    body: str  # plain text; HTML descriptions are converted with html_to_text
    requester_email: str  # "" when the payload carries none (Zendesk event webhooks carry only an id)
    requester_name: str
    customer_tier: str  # one of CUSTOMER_TIERS; "free" when the payload says nothing
    tags: tuple[str, ...]


class PayloadInvalid(ValueError):
    """A webhook payload we can't read; the message starts with the missing or bad field's name."""


@dataclass(frozen=True)
class TriageOutcome:
    external_id: str
    category: str  # "" when unknown
    urgency_score: int | None  # 1..5
    escalated: bool
    status: str  # "triaged" | "needs_attention" | "failed"
    note: str  # plain-text private note, composed by the caller (untrusted model output inside)


@dataclass(frozen=True)
class FieldMapping:
    """How our triage result maps onto one helpdesk's tags and priorities (admin-editable JSON).

    ``allowed_priorities`` (an addition to the agreed fields, with a default) lists the helpdesk's own
    priority names, so :meth:`from_json` can refuse a name the helpdesk would reject.
    """

    category_tags: dict[str, str]  # our category -> helpdesk tag; others become tag_prefix + category
    priority_by_urgency: dict[int, str]  # urgency 1..5 -> helpdesk priority name ("5" keys accepted too)
    tag_prefix: str = "triage_"
    escalated_tag: str = "triage_escalated"
    allowed_priorities: tuple[str, ...] = ()  # empty: any name

    JSON_KEYS: ClassVar[tuple[str, ...]] = (
        "category_tags",
        "priority_by_urgency",
        "tag_prefix",
        "escalated_tag",
    )

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, *, default: FieldMapping) -> FieldMapping:
        """The mapping an admin saved, on top of ``default``.

        Missing top-level keys take the default. ``category_tags`` and ``priority_by_urgency`` are
        merged entry by entry over the default's, so ``{"priority_by_urgency": {"5": "urgent"}}``
        changes one urgency. Raises ``ValueError`` naming the bad key or value.
        """
        if data is None:
            return default
        if not isinstance(data, dict):
            raise ValueError(f"field mapping: expected a JSON object, got {type(data).__name__}")
        unknown = sorted(str(key) for key in data if key not in cls.JSON_KEYS)
        if unknown:
            raise ValueError(
                f"field mapping: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(cls.JSON_KEYS)}"
            )
        allowed = default.allowed_priorities

        category_tags = dict(default.category_tags)
        raw_categories = data.get("category_tags", {})
        if not isinstance(raw_categories, dict):
            raise ValueError("category_tags: expected an object mapping category -> tag")
        for category, tag in raw_categories.items():
            if not isinstance(category, str) or not category.strip():
                raise ValueError("category_tags: category names must be non-empty strings")
            category_tags[category] = _checked_tag(tag, where=f"category_tags[{category!r}]")

        priorities = {_urgency_key(key): name for key, name in default.priority_by_urgency.items()}
        raw_priorities = data.get("priority_by_urgency", {})
        if not isinstance(raw_priorities, dict):
            raise ValueError("priority_by_urgency: expected an object mapping urgency 1..5 -> priority name")
        for key, name in raw_priorities.items():
            urgency = _urgency_key(key)
            if not isinstance(name, str) or (allowed and name not in allowed):
                expected = f"; expected one of {', '.join(allowed)}" if allowed else ""
                raise ValueError(f"priority_by_urgency[{urgency}]: unknown priority name {name!r}{expected}")
            priorities[urgency] = name

        tag_prefix = data.get("tag_prefix", default.tag_prefix)
        if not isinstance(tag_prefix, str) or any(ch.isspace() for ch in tag_prefix):
            raise ValueError("tag_prefix: expected a string without spaces")
        escalated_tag = _checked_tag(data.get("escalated_tag", default.escalated_tag), where="escalated_tag")
        return cls(
            category_tags=category_tags,
            priority_by_urgency=priorities,
            tag_prefix=tag_prefix,
            escalated_tag=escalated_tag,
            allowed_priorities=allowed,
        )

    def to_json(self) -> dict[str, Any]:
        """The admin-editable JSON (what :meth:`from_json` reads back), urgency keys as strings."""
        return {
            "category_tags": dict(self.category_tags),
            "priority_by_urgency": {str(k): v for k, v in sorted(self.priority_by_urgency.items())},
            "tag_prefix": self.tag_prefix,
            "escalated_tag": self.escalated_tag,
        }

    def priority_for(self, urgency: int | None) -> str | None:
        """The helpdesk priority name for an urgency 1..5; ``None`` when urgency is unknown or unmapped."""
        if urgency is None:
            return None
        mapping: Mapping[Any, str] = self.priority_by_urgency
        return mapping.get(urgency) or mapping.get(str(urgency))

    def category_tag(self, category: str) -> str | None:
        """The tag for one of our categories; ``None`` when the category is unknown ("")."""
        if not category.strip():
            return None
        if category in self.category_tags:
            return self.category_tags[category]
        return self.tag_prefix + _tag_safe(category)

    def tags_for(self, outcome: TriageOutcome) -> list[str]:
        """The tags a write-back adds: category, then status (when not "triaged"), then escalation."""
        tags: list[str] = []
        category = self.category_tag(outcome.category)
        if category:
            tags.append(category)
        if outcome.status != "triaged":
            tags.append(self.tag_prefix + _tag_safe(outcome.status))
        if outcome.escalated:
            tags.append(self.escalated_tag)
        return unique(tags)


@dataclass(frozen=True)
class HelpdeskRequest:
    method: str  # "PUT" / "POST"
    path: str  # e.g. "/api/v2/tickets/123.json"
    json: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HelpdeskResponse:
    status_code: int | None  # None when no response came (refused, reset, timeout)
    retry_after_seconds: float | None  # from Retry-After (seconds or HTTP date) on 429/503
    latency_ms: int
    error: str  # "" on 2xx; otherwise a short reason, never a credential

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send_request(
    *,
    base_url: str,
    auth_header: str,
    request: HelpdeskRequest,
    timeout: float = 10.0,
    client: httpx2.Client | None = None,
) -> HelpdeskResponse:
    """Send one request; never raises for network or HTTP errors. Redirects are not followed."""
    url = base_url.rstrip("/") + request.path
    headers = {
        "Authorization": auth_header,
        # Zendesk: "You must supply a Content-Type: application/json header in PUT, POST, and DELETE
        # requests. You must set an Accept: application/json header on all requests."
        # https://developer.zendesk.com/api-reference/introduction/requests/
        # Freshdesk: JSON bodies with Content-Type application/json, https://developers.freshdesk.com/api/
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "support-triage-connector",
    }
    body = json.dumps(request.json).encode()
    started = time.monotonic()
    try:
        if client is None:
            with httpx2.Client(timeout=timeout, follow_redirects=False) as own:
                response = own.request(request.method, url, content=body, headers=headers)
        else:
            response = client.request(
                request.method, url, content=body, headers=headers, timeout=timeout, follow_redirects=False
            )
    except httpx2.TimeoutException:
        return HelpdeskResponse(None, None, _elapsed_ms(started), "timeout")
    except httpx2.ConnectError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else "connection failed"
        return HelpdeskResponse(None, None, _elapsed_ms(started), reason)
    except httpx2.RemoteProtocolError:
        return HelpdeskResponse(None, None, _elapsed_ms(started), "connection closed without a response")
    except httpx2.HTTPError as exc:
        return HelpdeskResponse(None, None, _elapsed_ms(started), f"network error ({type(exc).__name__})")
    except (httpx2.InvalidURL, ValueError) as exc:  # a malformed base_url
        return HelpdeskResponse(None, None, _elapsed_ms(started), f"invalid request ({type(exc).__name__})")
    latency = _elapsed_ms(started)
    status = response.status_code
    # Both helpdesks answer 429 with Retry-After in seconds when rate limited:
    # https://developer.zendesk.com/api-reference/introduction/rate-limits/ and
    # https://developers.freshdesk.com/api/#ratelimit; a 503 may carry one too (RFC 9110 §10.2.3).
    retry_after = parse_retry_after(response.headers.get("retry-after")) if status in (429, 503) else None
    if 200 <= status < 300:
        return HelpdeskResponse(status, None, latency, "")
    snippet = _snippet(response.text, secret=auth_header)
    error = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
    return HelpdeskResponse(status, retry_after, latency, error)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # a "-0000" zone: UTC, per RFC 5322 §3.3
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def required_credentials(credentials: Mapping[str, str], names: Iterable[str]) -> list[str]:
    """The credentials in ``names`` order; ``ValueError`` names the first missing one, never a value."""
    values = []
    for name in names:
        value = credentials.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"missing credential: {name}")
        values.append(value.strip())
    return values


def header_value(headers: Mapping[str, str], name: str) -> str:
    """A header from a plain dict or a case-insensitive mapping (Django's request.headers), "" if absent."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value if isinstance(value, str) else ""


def check_outcome(outcome: TriageOutcome) -> str:
    """Check an outcome before building requests; returns its ticket id (digits only: it goes in a path)."""
    external_id = outcome.external_id.strip()
    if not external_id.isascii() or not external_id.isdigit():
        raise ValueError(f"external_id: expected the helpdesk's numeric ticket id, got {_short(external_id)}")
    if outcome.status not in OUTCOME_STATUSES:
        expected = ", ".join(OUTCOME_STATUSES)
        raise ValueError(f"status: expected one of {expected}, got {_short(outcome.status)}")
    if outcome.urgency_score is not None and outcome.urgency_score not in URGENCIES:
        raise ValueError(f"urgency_score: expected 1..5 or None, got {outcome.urgency_score!r}")
    return external_id


# --- reading payloads ------------------------------------------------------------------------------


def json_object(payload: Any) -> dict[str, Any]:
    """A webhook payload as a dict: a parsed JSON object, or raw UTF-8 JSON bytes/str."""
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadInvalid("payload: not UTF-8") from None
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            raise PayloadInvalid("payload: not valid JSON") from None
    if not isinstance(payload, dict):
        raise PayloadInvalid(f"payload: expected a JSON object, got {type(payload).__name__}")
    return payload


def ticket_id(value: Any, *, field_name: str) -> str:
    """A helpdesk ticket id (an int, or a string of digits as placeholders render it) as a string."""
    if isinstance(value, bool) or value is None:
        raise PayloadInvalid(f"{field_name}: missing")
    if isinstance(value, int):
        if value <= 0:
            raise PayloadInvalid(f"{field_name}: expected a positive ticket id, got {value}")
        return str(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and int(value) > 0:
        return str(int(value))
    raise PayloadInvalid(f"{field_name}: expected a numeric ticket id, got {_short(value)}")


def text_field(data: Mapping[str, Any], names: Iterable[str], *, label: str) -> str:
    """The first of ``names`` present in ``data`` as a string ("" when none is); wrong types raise."""
    for name in names:
        if name in data and data[name] is not None:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise PayloadInvalid(f"{label}: expected a string, got {type(value).__name__}")
            return str(value).strip()
    return ""


def tag_list(value: Any, *, label: str = "tags") -> tuple[str, ...]:
    """Tags from a JSON list, or from a placeholder rendering ("a b c" in Zendesk, "a, b" in Freshdesk)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[Any] = re.split(r"[\s,]+", value)
    elif isinstance(value, list):
        items = value
    else:
        raise PayloadInvalid(f"{label}: expected a list of strings or a space/comma-separated string")
    tags = []
    for item in items:
        if not isinstance(item, str):
            raise PayloadInvalid(f"{label}: expected strings, got {type(item).__name__}")
        if item.strip():
            tags.append(item.strip())
    return tuple(unique(tags))


def customer_tier(explicit: str, tags: Iterable[str]) -> str:
    """The tier from an explicit field, else from a ``tier_<name>`` tag (highest wins), else "free".

    An explicit value that isn't a known tier (an unrendered placeholder, a typo) is ignored rather than
    refused: a bad tier must not stop a ticket from being triaged.
    """
    value = explicit.strip().lower()
    if value.startswith(TIER_TAG_PREFIX):
        value = value[len(TIER_TAG_PREFIX) :]
    if value in CUSTOMER_TIERS:
        return value
    found = [
        tag.lower()[len(TIER_TAG_PREFIX) :]
        for tag in tags
        if tag.lower().startswith(TIER_TAG_PREFIX) and tag.lower()[len(TIER_TAG_PREFIX) :] in CUSTOMER_TIERS
    ]
    return max(found, key=CUSTOMER_TIERS.index) if found else "free"


_HTML_TAG = re.compile(
    r"</?(p|br|div|span|a|ul|ol|li|b|i|u|strong|em|table|tr|td|th|h[1-6]|blockquote|pre|code|img|hr)\b[^>]*>",
    re.IGNORECASE,
)


def looks_like_html(text: str) -> bool:
    return bool(_HTML_TAG.search(text))


def plain_text(value: str) -> str:
    return html_to_text(value) if looks_like_html(value) else value.strip()


def note_html(note: str) -> str:
    """A plain-text note as HTML: every character escaped, newlines as <br> (the note is untrusted)."""
    escaped = html.escape(note.strip(), quote=True)
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# --- helpers ---------------------------------------------------------------------------------------


def _urgency_key(key: Any) -> int:
    if isinstance(key, bool):
        raise ValueError(f"priority_by_urgency: urgency {key!r} is not a number 1..5")
    try:
        urgency = int(key)
    except (TypeError, ValueError):
        raise ValueError(f"priority_by_urgency: urgency {_short(key)} is not a whole number 1..5") from None
    if str(key).strip() != str(urgency):
        raise ValueError(f"priority_by_urgency: urgency {_short(key)} is not a whole number 1..5")
    if urgency not in URGENCIES:
        raise ValueError(f"priority_by_urgency: urgency {urgency} is outside 1..5")
    return urgency


def _checked_tag(tag: Any, *, where: str) -> str:
    if not isinstance(tag, str) or not tag.strip() or any(ch.isspace() for ch in tag.strip()):
        raise ValueError(f"{where}: expected a non-empty tag without spaces, got {_short(tag)}")
    return tag.strip()


def _tag_safe(value: str) -> str:
    """A category or status as tag text: lower case, runs of other characters as one underscore."""
    return re.sub(r"[^a-z0-9_-]+", "_", value.strip().lower()).strip("_") or "unknown"


def _snippet(text: str, *, secret: str) -> str:
    snippet = " ".join(text.split())[:SNIPPET_CHARS]
    token = secret.split(" ", 1)[-1]
    return snippet.replace(token, "[redacted]") if token and token in snippet else snippet


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
