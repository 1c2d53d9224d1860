"""The client's address, the one place that decides it: login lockouts (django-axes), per-address
rate limits and the /metrics loopback check all ask here.

``TRUSTED_PROXY_COUNT`` is how many reverse proxies (load balancer, nginx...) stand in front of the
app, each appending the address it received the request from to ``X-Forwarded-For``. With 0 (the
default) the header is ignored, since anyone can send one, and the address is ``REMOTE_ADDR``.
With N it is the N-th address from the right of ``X-Forwarded-For``: the one the outermost trusted
proxy saw. Entries further left were written by the client and are never believed. A header with
fewer than N addresses (or a malformed one there) falls back to ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR") or "")
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
