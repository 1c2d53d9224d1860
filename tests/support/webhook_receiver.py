"""A webhook receiver on 127.0.0.1 for tests and benchmarks: it checks each delivery's signature as
the README tells receivers to, de-duplicates on the delivery id the way a careful receiver does,
and can be taken down (connections refused, or 503s) and brought back on the same port.

    receiver = WebhookReceiver(secret="s3cret").start()
    ... receiver.url ...
    receiver.go_down(); ...; receiver.come_back()
    receiver.unique()   # the deliveries it accepted, first copy of each id, in arrival order
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from triage.connectors.webhooks import verify_signature


@dataclass(frozen=True)
class Received:
    delivery_id: str
    event: str
    body: dict[str, Any]
    signature_ok: bool
    arrived: float  # time.time()

    @property
    def ticket_id(self) -> int | None:
        ticket = self.body.get("data", {}).get("ticket", {})
        return ticket.get("id")


class WebhookReceiver:
    def __init__(self, *, secret: str, port: int = 0) -> None:
        self.secret = secret
        self.port = port
        self.received: list[Received] = []
        self.refused_503 = 0
        self.mode = "up"  # up | 503
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # one write per response, no 40 ms delayed-ACK stalls

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if receiver.mode == "503":
                    with receiver._lock:
                        receiver.refused_503 += 1
                    self._answer(503, b'{"error":"down for maintenance"}')
                    return
                ok = verify_signature(
                    secret=receiver.secret, body=raw, header=self.headers.get("X-Triage-Signature", "")
                )
                item = Received(
                    delivery_id=self.headers.get("X-Triage-Delivery", ""),
                    event=self.headers.get("X-Triage-Event", ""),
                    body=json.loads(raw or b"{}"),
                    signature_ok=ok,
                    arrived=time.time(),
                )
                with receiver._lock:
                    receiver.received.append(item)
                self._answer(200 if ok else 401, b"{}")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def go_down(self, *, mode: str = "refuse") -> None:
        """``refuse``: nothing listens on the port (connection refused); ``503``: answers 503."""
        if mode == "refuse":
            self.stop()
        else:
            self.mode = "503"

    def come_back(self) -> None:
        self.mode = "up"
        if self._server is None:
            self.start()  # the same port: allow_reuse_address is on for ThreadingHTTPServer

    def unique(self) -> list[Received]:
        """First copy of each delivery id with a valid signature, in arrival order."""
        seen: set[str] = set()
        out = []
        with self._lock:
            items = list(self.received)
        for item in items:
            if item.signature_ok and item.delivery_id not in seen:
                seen.add(item.delivery_id)
                out.append(item)
        return out
