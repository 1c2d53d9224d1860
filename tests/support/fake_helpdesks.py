"""Fake Zendesk and Freshdesk APIs on 127.0.0.1, written from their public API documentation.

Each fake is a real ``ThreadingHTTPServer`` (port 0) that checks what a connector sends the way the
documented API would: the path, the basic-auth credentials, the content type and the body's shape,
answering with the helpdesk's documented error bodies. It keeps a small ticket store, applies the
updates it accepts, records every request, and can be told to misbehave::

    zd = FakeZendesk(email="bot@acme.test", api_token="tok").start()
    zd.add_ticket(101, tags=["vip"])
    ... send requests to zd.base_url ...
    zd.ticket(101)["tags"]            # what the store holds now
    zd.requests                       # RecordedRequest list, in arrival order
    zd.rate_limit_every(3, retry_after=2)   # every 3rd request: 429 with Retry-After
    zd.go_down(); zd.come_back()      # "close": drop the connection unanswered; "503": answer 503
    zd.stop()

Where a fake is stricter than the real API (it refuses something the docs don't forbid), the code says
so: a fake that is too lenient would let a connector bug through.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_NOT_JSON = object()  # a body that did not parse


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]
    json: Any  # the parsed body; None when empty or not JSON
    raw: bytes
    arrived: float  # time.monotonic()
    status: int | None  # what the fake answered; None when it closed the connection unanswered


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _json_answer(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    return Answer(status, json.dumps(payload).encode(), headers=headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping in delay() doesn't hold up stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) before the answer: nothing to report.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _FakeHelpdesk:
    """The shared machinery: server lifecycle, recording, misbehaviour; subclasses route requests."""

    def __init__(self, *, down_mode: str = "close") -> None:
        if down_mode not in ("close", "503"):
            raise ValueError("down_mode is 'close' or '503'")
        self.down_mode = down_mode
        self._lock = threading.Lock()
        self._tickets: dict[int, dict[str, Any]] = {}
        self._records: list[RecordedRequest] = []
        self._arrivals = 0
        self._rate_every = 0
        self._retry_after = "1"
        self._down = False
        self._delay = 0.0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._unavailable_retry_after: str | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> _FakeHelpdesk:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one write per answer, no 40 ms delayed-ACK stalls

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                fake._serve(self)

            def do_PUT(self) -> None:  # noqa: N802
                fake._serve(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._serve(self)

            def do_DELETE(self) -> None:  # noqa: N802
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
                return

        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers waiting in delay(); they close without answering
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> _FakeHelpdesk:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- state -----------------------------------------------------------------------------------

    def add_ticket(self, ticket_id: int, *, tags: list[str] | None = None, priority: Any = None) -> None:
        with self._lock:
            self._tickets[int(ticket_id)] = {
                "id": int(ticket_id),
                "tags": list(tags or []),
                "priority": priority,
                "comments": [],  # Zendesk comments / Freshdesk notes, in order
            }

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._tickets[int(ticket_id)])

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    # --- misbehaviour ----------------------------------------------------------------------------

    def rate_limit_every(self, n: int, retry_after: int | float | str = 1) -> None:
        """Answer every ``n``-th request from now on with a 429 (0 turns it off)."""
        with self._lock:
            self._rate_every = max(int(n), 0)
            self._arrivals = 0
            self._retry_after = str(retry_after)

    def go_down(self, mode: str | None = None, *, retry_after: int | float | str | None = None) -> None:
        """Until come_back(): close each connection unanswered ("close") or answer 503 ("503"),
        with ``Retry-After`` when given."""
        with self._lock:
            self._unavailable_retry_after = None if retry_after is None else str(retry_after)
            if mode is not None:
                if mode not in ("close", "503"):
                    raise ValueError("mode is 'close' or '503'")
                self.down_mode = mode
            self._down = True

    def come_back(self) -> None:
        with self._lock:
            self._down = False

    def delay(self, seconds: float) -> None:
        """Wait this long before every answer (for client timeouts)."""
        with self._lock:
            self._delay = max(float(seconds), 0.0)

    # --- serving ---------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = _NOT_JSON
        path = handler.path
        headers = {k: v for k, v in handler.headers.items()}
        with self._lock:
            down, mode, delay = self._down, self.down_mode, self._delay
            limited = False
            if not down:
                self._arrivals += 1
                limited = bool(self._rate_every) and self._arrivals % self._rate_every == 0
            retry_after = self._retry_after
            unavailable_retry_after = self._unavailable_retry_after
        answer: Answer | None
        if down and mode == "close":
            answer = None
        elif down:
            answer = self._unavailable(unavailable_retry_after)
        elif limited:
            answer = self._rate_limited(retry_after)
        elif not self._authorized(headers.get("Authorization", "")):
            answer = self._unauthorized()
        else:
            route = urlsplit(path).path
            with self._lock:  # one request at a time touches the store
                answer = self._route(handler.command, route, headers, parsed)
        with self._lock:
            self._records.append(
                RecordedRequest(
                    method=handler.command,
                    path=path,
                    headers=headers,
                    json=None if parsed is _NOT_JSON else parsed,
                    raw=raw,
                    arrived=arrived,
                    status=None if answer is None else answer.status,
                )
            )
        if answer is None:
            handler.close_connection = True  # the server closes the socket; the client sees no answer
            return
        if delay and self._stopping.wait(delay):
            handler.close_connection = True
            return
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(answer.body)

    # subclass hooks
    def _authorized(self, authorization: str) -> bool:
        raise NotImplementedError

    def _unauthorized(self) -> Answer:
        raise NotImplementedError

    def _rate_limited(self, retry_after: str) -> Answer:
        raise NotImplementedError

    def _unavailable(self, retry_after: str | None) -> Answer:
        raise NotImplementedError

    def _route(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        raise NotImplementedError


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _is_json_content(headers: dict[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return content_type.split(";")[0].strip().lower() == "application/json"


# --- Zendesk ---------------------------------------------------------------------------------------

# Ticket priorities (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#json-format)
ZENDESK_PRIORITIES = ("urgent", "high", "normal", "low")
ZENDESK_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
# Properties Update Ticket takes (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket).
# additional_tags / remove_tags are documented only for Update Many Tickets
# (https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/);
# the fake refuses them here (stricter than the docs, which don't say what Update Ticket does with them).
ZENDESK_UPDATE_KEYS = frozenset(
    {
        "additional_collaborators",
        "assignee_email",
        "assignee_id",
        "attribute_value_ids",
        "collaborator_ids",
        "comment",
        "custom_fields",
        "custom_status_id",
        "due_at",
        "email_cc_ids",
        "email_ccs",
        "external_id",
        "follower_ids",
        "followers",
        "group_id",
        "organization_id",
        "priority",
        "problem_id",
        "requester_id",
        "safe_update",
        "sharing_agreement_ids",
        "status",
        "subject",
        "tags",
        "type",
        "updated_stamp",
    }
)
# Ticket comment properties (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#json-format)
ZENDESK_COMMENT_KEYS = frozenset({"body", "html_body", "public", "author_id", "uploads"})
ZENDESK_TICKET = re.compile(r"^/api/v2/tickets/(\d+)(?:\.json)?$")
ZENDESK_TAGS = re.compile(r"^/api/v2/tickets/(\d+)/tags(?:\.json)?$")


class FakeZendesk(_FakeHelpdesk):
    """Zendesk Support's Tickets and Tags endpoints, as far as a write-back uses them.

    - Auth: basic ``{email}/token:{api_token}``; anything else is 401 ``{"error": "Couldn't authenticate
      you"}`` (https://developer.zendesk.com/api-reference/introduction/security-and-auth/).
    - Content type: PUT/POST bodies must be ``application/json``; API-level errors (wrong content type,
      unparseable JSON) come back as ``text/plain`` 400s, as the docs warn they may
      (https://developer.zendesk.com/api-reference/introduction/requests/).
    - Validation errors: 422 ``{"error": "RecordInvalid", "description": "Record validation errors",
      "details": {field: [{"description": ..., "error": ...}]}}``; unknown ticket: 404
      ``{"error": "RecordNotFound", "description": "Not found"}``; unknown endpoint: 404
      ``{"error": "InvalidEndpoint", "description": "Not found"}``.
    - Update Ticket ``PUT /api/v2/tickets/{id}.json`` sets priority, *replaces* tags, appends the comment.
    - Add Tags ``PUT /api/v2/tickets/{id}/tags.json`` merges; Set Tags ``POST`` replaces
      (https://developer.zendesk.com/api-reference/ticketing/ticket-management/tags/).
    - Rate limit: 429 with ``Retry-After`` (seconds) and the text/plain body Zendesk sends,
      "Number of allowed API requests per minute exceeded"
      (https://developer.zendesk.com/api-reference/introduction/rate-limits/).
    """

    def __init__(self, *, email: str, api_token: str, down_mode: str = "close") -> None:
        super().__init__(down_mode=down_mode)
        self.email = email
        self.api_token = api_token

    def start(self) -> FakeZendesk:
        super().start()
        return self

    def _authorized(self, authorization: str) -> bool:
        return _basic_credentials(authorization) == (f"{self.email}/token", self.api_token)

    def _unauthorized(self) -> Answer:
        return _json_answer(401, {"error": "Couldn't authenticate you"})

    def _rate_limited(self, retry_after: str) -> Answer:
        return Answer(
            429,
            b"Number of allowed API requests per minute exceeded",
            content_type="text/plain",
            headers=(("Retry-After", retry_after),),
        )

    def _unavailable(self, retry_after: str | None) -> Answer:
        headers = (("Retry-After", retry_after),) if retry_after else ()
        return Answer(503, b"Service Unavailable", content_type="text/plain", headers=headers)

    def _route(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        ticket_match, tags_match = ZENDESK_TICKET.match(path), ZENDESK_TAGS.match(path)
        if not ticket_match and not tags_match:
            return _json_answer(404, {"error": "InvalidEndpoint", "description": "Not found"})
        if method in ("PUT", "POST"):
            if not _is_json_content(headers):
                return Answer(400, b"Content-Type must be application/json", content_type="text/plain")
            if body is _NOT_JSON or body is None:
                return Answer(400, b"Request body is not valid JSON", content_type="text/plain")
        match = ticket_match or tags_match
        assert match is not None
        ticket = self._tickets.get(int(match.group(1)))
        if ticket is None:
            return _json_answer(404, {"error": "RecordNotFound", "description": "Not found"})
        if ticket_match and method == "GET":
            return _json_answer(200, {"ticket": _public(ticket)})
        if ticket_match and method == "PUT":
            return self._update_ticket(ticket, body)
        if tags_match and method in ("PUT", "POST"):
            return self._tags(ticket, body, replace=method == "POST")
        return _json_answer(404, {"error": "InvalidEndpoint", "description": "Not found"})

    def _update_ticket(self, ticket: dict[str, Any], body: Any) -> Answer:
        if not isinstance(body, dict):
            return _invalid("base", "The request body must be a JSON object")
        unknown = sorted(set(body) - {"ticket"})
        if unknown:
            return _invalid(
                unknown[0], f"Unknown top-level property {unknown[0]!r}; send {{'ticket': {{...}}}}"
            )
        update = body.get("ticket")
        if not isinstance(update, dict) or not update:
            return _invalid("ticket", "ticket must be a non-empty object")
        unknown = sorted(set(update) - ZENDESK_UPDATE_KEYS)
        if unknown:
            return _invalid(unknown[0], f"{unknown[0]} is not a property Update Ticket takes")
        if (
            "priority" in update
            and update["priority"] is not None
            and update["priority"] not in ZENDESK_PRIORITIES
        ):
            return _invalid(
                "priority", f"Priority: {update['priority']!r} is not one of {', '.join(ZENDESK_PRIORITIES)}"
            )
        if "status" in update and update["status"] not in ZENDESK_STATUSES:
            return _invalid("status", "Status: is invalid")
        if "tags" in update and not _string_list(update["tags"]):
            return _invalid("tags", "Tags: must be an array of strings")
        comment = update.get("comment")
        if comment is not None:
            problem = _comment_problem(comment)
            if problem:
                return _invalid("comment", problem)
        if "priority" in update:
            ticket["priority"] = update["priority"]
        if "status" in update:
            ticket["status"] = update["status"]
        if "tags" in update:
            ticket["tags"] = list(dict.fromkeys(update["tags"]))  # Update Ticket replaces the tags
        if comment is not None:
            ticket["comments"].append(
                {
                    "body": comment.get("body") or comment.get("html_body"),
                    "public": comment.get("public", True),  # comments are public unless public: false
                }
            )
        return _json_answer(200, {"ticket": _public(ticket)})

    def _tags(self, ticket: dict[str, Any], body: Any, *, replace: bool) -> Answer:
        if not isinstance(body, dict):
            return _invalid("base", "The request body must be a JSON object")
        unknown = sorted(set(body) - {"tags", "updated_stamp", "safe_update"})
        if unknown:
            return _invalid(unknown[0], f"Unknown property {unknown[0]!r}")
        if not _string_list(body.get("tags")):
            return _invalid("tags", "Tags: must be an array of strings")
        tags = body["tags"] if replace else [*ticket["tags"], *body["tags"]]
        ticket["tags"] = list(dict.fromkeys(tags))
        return _json_answer(200, {"tags": list(ticket["tags"])})


def _invalid(field: str, description: str) -> Answer:
    # 422 RecordInvalid, details keyed by field (https://developer.zendesk.com/api-reference/introduction/requests/)
    return _json_answer(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": "InvalidValue"}]},
        },
    )


def _comment_problem(comment: Any) -> str:
    if not isinstance(comment, dict):
        return "Comment: must be an object"
    unknown = sorted(set(comment) - ZENDESK_COMMENT_KEYS)
    if unknown:
        return f"Comment: unknown property {unknown[0]!r}"
    text = comment.get("body") if "body" in comment else comment.get("html_body")
    if not isinstance(text, str) or not text.strip():
        return "Comment: body can't be blank"
    if "public" in comment and not isinstance(comment["public"], bool):
        return "Comment: public must be true or false"
    return ""


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item.strip() for item in value)


def _public(ticket: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in ticket.items() if k != "comments"}


# --- Freshdesk -------------------------------------------------------------------------------------

# Update a ticket: fields it takes (https://developers.freshdesk.com/api/#update_ticket)
FRESHDESK_UPDATE_KEYS = frozenset(
    {
        "attachments",
        "company_id",
        "custom_fields",
        "description",
        "due_by",
        "email",
        "email_config_id",
        "facebook_id",
        "fr_due_by",
        "group_id",
        "internal_agent_id",
        "internal_group_id",
        "lookup_parameter",
        "name",
        "parent_id",
        "phone",
        "priority",
        "product_id",
        "requester_id",
        "responder_id",
        "source",
        "status",
        "subject",
        "tags",
        "twitter_id",
        "type",
        "unique_external_id",
    }
)
# Add note to a ticket: fields it takes (https://developers.freshdesk.com/api/#add_note_to_a_ticket)
FRESHDESK_NOTE_KEYS = frozenset({"attachments", "body", "incoming", "notify_emails", "private", "user_id"})
FRESHDESK_PRIORITIES = (1, 2, 3, 4)  # Low, Medium, High, Urgent
FRESHDESK_TICKET = re.compile(r"^/api/v2/tickets/(\d+)$")
FRESHDESK_NOTES = re.compile(r"^/api/v2/tickets/(\d+)/notes$")


class FakeFreshdesk(_FakeHelpdesk):
    """Freshdesk's Update Ticket and Add Note endpoints (https://developers.freshdesk.com/api/).

    - Auth: basic ``api_key:<anything>`` (the password is a dummy, "X" by convention); otherwise 401
      ``{"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}``.
    - Content type other than application/json: 415 ``{"code": "invalid_content_type", ...}``.
    - Validation errors: 400 ``{"description": "Validation failed", "errors": [{"field", "message",
      "code"}]}`` with codes ``invalid_field`` (unexpected field), ``invalid_value``, ``missing_field``,
      ``datatype_mismatch``, ``invalid_json``.
    - Unknown ticket or URL: 404 (the docs give no body; the fake sends none).
    - ``PUT /api/v2/tickets/{id}``: priority 1..4 set, ``tags`` *replaces* the list.
    - ``POST /api/v2/tickets/{id}/notes``: ``body`` (HTML) required. Stricter than Freshdesk, where
      ``private`` defaults to true: the fake requires ``private`` so a write-back states it.
    - Rate limit: 429 with ``Retry-After`` (seconds); the docs don't specify a body, the fake sends a
      short JSON message.
    """

    def __init__(self, *, api_key: str, down_mode: str = "close") -> None:
        super().__init__(down_mode=down_mode)
        self.api_key = api_key

    def start(self) -> FakeFreshdesk:
        super().start()
        return self

    def _authorized(self, authorization: str) -> bool:
        credentials = _basic_credentials(authorization)
        return credentials is not None and credentials[0] == self.api_key

    def _unauthorized(self) -> Answer:
        return _json_answer(
            401,
            {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."},
        )

    def _rate_limited(self, retry_after: str) -> Answer:
        return _json_answer(
            429,
            {"message": "You have exceeded the limit of requests per minute"},
            (("Retry-After", retry_after),),
        )

    def _unavailable(self, retry_after: str | None) -> Answer:
        headers = (("Retry-After", retry_after),) if retry_after else ()
        return _json_answer(503, {"message": "Service Unavailable"}, headers)

    def _route(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        ticket_match, notes_match = FRESHDESK_TICKET.match(path), FRESHDESK_NOTES.match(path)
        if not ticket_match and not notes_match:
            return Answer(404)
        if method in ("PUT", "POST"):
            if not _is_json_content(headers):
                sent = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
                return _json_answer(
                    415,
                    {
                        "code": "invalid_content_type",
                        "message": f"Content-Type header is set to {sent or 'nothing'}. "
                        "It should be set to application/json",
                    },
                )
            if body is _NOT_JSON or body is None:
                return _validation([(None, "Request body has invalid json format", "invalid_json")])
        match = ticket_match or notes_match
        assert match is not None
        ticket = self._tickets.get(int(match.group(1)))
        if ticket is None:
            return Answer(404)
        if ticket_match and method == "GET":
            return _json_answer(200, _public(ticket))
        if ticket_match and method == "PUT":
            return self._update_ticket(ticket, body)
        if notes_match and method == "POST":
            return self._add_note(ticket, body)
        return Answer(405)

    def _update_ticket(self, ticket: dict[str, Any], body: Any) -> Answer:
        if not isinstance(body, dict):
            return _validation([(None, "Request body must be a JSON object", "datatype_mismatch")])
        errors = [
            (k, "Unexpected/invalid field in request", "invalid_field")
            for k in sorted(set(body) - FRESHDESK_UPDATE_KEYS)
        ]
        if "priority" in body and (
            isinstance(body["priority"], bool) or body["priority"] not in FRESHDESK_PRIORITIES
        ):
            errors.append(("priority", "It should be one of these values: '1,2,3,4'", "invalid_value"))
        if "tags" in body and not _string_list(body["tags"]):
            errors.append(("tags", "It should be of type Array of Strings", "datatype_mismatch"))
        if errors:
            return _validation(errors)
        if "priority" in body:
            ticket["priority"] = body["priority"]
        if "tags" in body:
            ticket["tags"] = list(dict.fromkeys(body["tags"]))  # replaces the list
        return _json_answer(200, _public(ticket))

    def _add_note(self, ticket: dict[str, Any], body: Any) -> Answer:
        if not isinstance(body, dict):
            return _validation([(None, "Request body must be a JSON object", "datatype_mismatch")])
        errors = [
            (k, "Unexpected/invalid field in request", "invalid_field")
            for k in sorted(set(body) - FRESHDESK_NOTE_KEYS)
        ]
        if not isinstance(body.get("body"), str) or not body["body"].strip():
            code = "missing_field" if "body" not in body else "datatype_mismatch"
            errors.append(("body", "It should be a/an String", code))
        if "private" not in body:
            errors.append(("private", "It should be a/an Boolean", "missing_field"))
        elif not isinstance(body["private"], bool):
            errors.append(("private", "It should be a/an Boolean", "datatype_mismatch"))
        if errors:
            return _validation(errors)
        note = {"id": len(ticket["comments"]) + 1, "body": body["body"], "private": body["private"]}
        ticket["comments"].append(note)
        return _json_answer(201, {**note, "ticket_id": ticket["id"]})


def _validation(errors: list[tuple[str | None, str, str]]) -> Answer:
    # 400 "Validation failed" with one entry per field (https://developers.freshdesk.com/api/#error)
    items = []
    for field, message, code in errors:
        item = {"message": message, "code": code}
        if field is not None:
            item = {"field": field, **item}
        items.append(item)
    return _json_answer(400, {"description": "Validation failed", "errors": items})


def zendesk_signed_post(
    client: Any, path: str, body: bytes, *, secret: str, timestamp: str | None = None
) -> Any:
    """POST ``body`` to one of our Zendesk doors through Django's test client, signed as Zendesk signs
    its webhooks: base64(HMAC-SHA256(timestamp + body, signing secret)), in the two headers
    (https://developer.zendesk.com/documentation/webhooks/verifying/)."""
    import hashlib
    import hmac

    timestamp = timestamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    signature = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    )
    return client.post(
        path,
        data=body,
        content_type="application/json",
        HTTP_X_ZENDESK_WEBHOOK_SIGNATURE=signature.decode(),
        HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP=timestamp,
    )
