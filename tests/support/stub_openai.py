"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1 for tests and benchmarks.

Tests queue *behaviours* per model slug; each request to that model takes the next one (or the
model's default, or a plain answer). Every request body is recorded per model, so a test can
assert which models were called and with what. The server is a real ``ThreadingHTTPServer``,
so the openai SDK talks to it over TCP exactly as it would to a provider.

It must never listen on anything but the loopback interface, and never sleep unboundedly:
``hang`` waits at most its given seconds and ends early when the server stops.

    stub = StubOpenAI().start()
    stub.script("model-a", rate_limited(retry_after=2), answer("hello"))
    client = openai.OpenAI(base_url=stub.base_url, api_key="x")
    ...
    stub.stop()
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Behaviour:
    """What the stub does for one request. Build them with the functions below."""

    kind: str = "answer"  # answer | status | hang | raw | stream_die
    content: str = "ok"
    prompt_tokens: int = 11
    completion_tokens: int = 7
    include_usage: bool = True
    delay: float = 0.0  # seconds before the response starts (before the first chunk when streaming)
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    chunks: tuple[str, ...] = ()  # stream_die: content pieces sent before the connection drops
    chunk_delay: float = 0.0  # seconds between streamed chunks
    finish_reason: str = "stop"
    reasoning_tokens: int | None = None  # usage.completion_tokens_details.reasoning_tokens
    cached_tokens: int | None = None  # usage.prompt_tokens_details.cached_tokens


def answer(
    content: str = "ok",
    *,
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
    usage: bool = True,
    delay: float = 0.0,
    chunk_delay: float = 0.0,
) -> Behaviour:
    """A normal completion (or stream, when the request asks for one) with the given usage."""
    return Behaviour(
        content=content,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        include_usage=usage,
        delay=delay,
        chunk_delay=chunk_delay,
    )


def omit_usage(content: str = "ok") -> Behaviour:
    """A completion without a ``usage`` block, as some self-hosted servers answer."""
    return answer(content, usage=False)


def delayed(seconds: float, content: str = "ok") -> Behaviour:
    return answer(content, delay=seconds)


def rate_limited(retry_after: float | None = 1) -> Behaviour:
    headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
    return error_status(429, "Rate limit reached", "rate_limit_exceeded", headers=headers)


def server_error(status: int = 500) -> Behaviour:
    return error_status(status, "Internal server error", "server_error")


def overloaded() -> Behaviour:
    """Anthropic-style 529 with an ``overloaded_error`` body."""
    return error_status(529, "Overloaded", "overloaded_error")


def error_status(
    status: int, message: str, error_type: str, *, headers: tuple[tuple[str, str], ...] = ()
) -> Behaviour:
    body = json.dumps({"error": {"message": message, "type": error_type, "code": error_type}}).encode()
    return Behaviour(kind="status", status=status, headers=headers, body=body)


def hang(seconds: float = 30.0) -> Behaviour:
    """Accept the request and say nothing for ``seconds`` (past the client's timeout)."""
    return Behaviour(kind="hang", delay=seconds)


def malformed() -> Behaviour:
    """HTTP 200 whose body is not JSON."""
    return Behaviour(kind="raw", status=200, body=b'{"id": "chatcmpl-broken", "choices": [')


def stream_then_die(*chunks: str, delay: float = 0.0) -> Behaviour:
    """Streams ``chunks`` as content deltas, then drops the connection mid-body."""
    return Behaviour(kind="stream_die", chunks=chunks or ("partial ",), delay=delay)


@dataclass
class RecordedRequest:
    model: str
    body: dict[str, Any]
    headers: dict[str, str]  # names lower-cased
    received_at: float = field(default_factory=time.perf_counter)


class StubOpenAI:
    """The server and its script. Thread-safe; one instance per test (or per benchmark)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Behaviour]] = defaultdict(deque)
        self._defaults: dict[str, Behaviour] = {}
        self._requests: dict[str, list[RecordedRequest]] = defaultdict(list)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.record_requests = True

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> StubOpenAI:
        handler = type("BoundStubHandler", (_StubHandler,), {"stub": self})
        server = _QuietServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StubOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stub first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting ---------------------------------------------------------------------
    def script(self, model: str, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests to ``model``, in order."""
        with self._lock:
            self._queues[model].extend(behaviours)

    def set_default(self, model: str, behaviour: Behaviour) -> None:
        """What ``model`` does once its queue is empty (default: ``answer("ok")``)."""
        with self._lock:
            self._defaults[model] = behaviour

    def reset(self) -> None:
        with self._lock:
            self._queues.clear()
            self._defaults.clear()
            self._requests.clear()

    def respond(self, model: str, body: dict[str, Any]) -> Behaviour:
        """What to do with this request: the next scripted behaviour (a simulator may look at the body)."""
        return self.next_behaviour(model)

    def next_behaviour(self, model: str) -> Behaviour:
        with self._lock:
            queue = self._queues.get(model)
            if queue:
                return queue.popleft()
            return self._defaults.get(model, Behaviour())

    # --- what was received -------------------------------------------------------------
    def record(self, request: RecordedRequest) -> None:
        if self.record_requests:
            with self._lock:
                self._requests[request.model].append(request)

    def requests(self, model: str) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests.get(model, []))

    def request_count(self, model: str) -> int:
        with self._lock:
            return len(self._requests.get(model, []))

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the server is stopping."""
        return self._stopping.wait(seconds)


class _QuietServer(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of new client connections (a worker's
    # threads starting together) overflows it and some come back reset, which measures the stub
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # clients hanging up mid-stream (a timeout, a closed stream) are part of the script
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _StubHandler(BaseHTTPRequestHandler):
    stub: StubOpenAI
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # keep test output clean

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        model = str(body.get("model", ""))
        self.stub.record(
            RecordedRequest(model=model, body=body, headers={k.lower(): v for k, v in self.headers.items()})
        )
        behaviour = self.stub.respond(model, body)
        self._perform(behaviour, model, body)

    def _perform(self, behaviour: Behaviour, model: str, body: dict[str, Any]) -> None:
        if behaviour.kind == "hang":
            self.stub.wait(behaviour.delay)
            self.close_connection = True
            return
        if behaviour.delay and self.stub.wait(behaviour.delay):
            return
        if behaviour.kind == "status" or behaviour.kind == "raw":
            self._send_raw(behaviour.status, behaviour.body, behaviour.headers)
        elif behaviour.kind == "stream_die":
            self._stream(model, behaviour, body, die=True)
        elif body.get("stream"):
            self._stream(model, behaviour, body, die=False)
        else:
            self._send_json(200, _completion(model, behaviour))

    # --- plain responses ---------------------------------------------------------------
    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send_raw(status, json.dumps(payload).encode(), ())

    def _send_raw(self, status: int, data: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    # --- server-sent events, chunked -------------------------------------------------
    def _stream(self, model: str, behaviour: Behaviour, body: dict[str, Any], *, die: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        self._event(_chunk(completion_id, model, {"role": "assistant", "content": ""}))
        pieces = list(behaviour.chunks) if die else _split(behaviour.content)
        for piece in pieces:
            if behaviour.chunk_delay and self.stub.wait(behaviour.chunk_delay):
                return
            self._event(_chunk(completion_id, model, {"content": piece}))
        if die:
            self.wfile.flush()
            self.close_connection = True  # no terminating chunk: the client sees a broken body
            return
        self._event(_chunk(completion_id, model, {}, finish_reason=behaviour.finish_reason))
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if wants_usage and behaviour.include_usage:
            usage_chunk = _chunk(completion_id, model, None)
            usage_chunk["choices"] = []
            usage_chunk["usage"] = _usage(behaviour)
            self._event(usage_chunk)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _split(content: str) -> list[str]:
    words = content.split(" ")
    return [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)] or [""]


def _usage(behaviour: Behaviour) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": behaviour.prompt_tokens,
        "completion_tokens": behaviour.completion_tokens,
        "total_tokens": behaviour.prompt_tokens + behaviour.completion_tokens,
    }
    if behaviour.reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": behaviour.reasoning_tokens}
    if behaviour.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": behaviour.cached_tokens}
    return usage


def _completion(model: str, behaviour: Behaviour) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": behaviour.content},
                "finish_reason": behaviour.finish_reason,
            }
        ],
    }
    if behaviour.include_usage:
        payload["usage"] = _usage(behaviour)
    return payload


def _chunk(
    completion_id: str, model: str, delta: dict[str, Any] | None, finish_reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
