"""Signing outbound webhooks, and the snippet receivers use to check them.

Every delivery carries three headers:

- ``X-Triage-Delivery``: the delivery id (a UUID). A retry of the same delivery sends the same id, so a
  receiver that remembers the ids it handled sees each event once.
- ``X-Triage-Event``: the event name, e.g. ``ticket.triaged``.
- ``X-Triage-Signature``: ``t=<unix seconds>,v1=<hex>``, where ``<hex>`` is HMAC-SHA256 with the
  endpoint's secret over ``f"{t}."`` followed by the raw request body. Check it against the raw
  bytes (before any JSON parsing), and refuse a ``t`` older than a few minutes (replays).

Verification, in Python (``verify_signature`` below is the same code)::

    import hashlib, hmac, time

    def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        t, sig = parts.get("t", ""), parts.get("v1", "")
        if not t.isdigit() or abs(time.time() - int(t)) > tolerance:
            return False
        expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), sig.encode())

Standard library only: three lines of ``hmac`` need no dependency, and receivers need none either.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Triage-Signature"
DELIVERY_HEADER = "X-Triage-Delivery"
EVENT_HEADER = "X-Triage-Event"


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Triage-Signature`` value for this body, signed now (or at ``timestamp``)."""
    t = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_signature(
    *, secret: str, body: bytes, header: str, tolerance: int = 300, now: float | None = None
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, sig = parts.get("t", ""), parts.get("v1", "")
    current = time.time() if now is None else now
    if not secret or not t.isdigit() or abs(current - int(t)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), sig.encode())
