"""Health, readiness and metrics endpoints for load balancers, docker-compose and Prometheus."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from triage.ops.client_ip import client_ip
from triage.ops.health import delivery_details, readiness
from triage.ops.metrics import metrics_text


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up (no dependencies checked)."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """503 naming the failing part when the database, broker, cache or migrations aren't ready."""
    parts = readiness()
    failing = {name: why for name, why in parts.items() if why != "ok"}
    status = 503 if failing else 200
    body: dict[str, object] = {"status": "unavailable" if failing else "ok", "checks": parts}
    if not failing:
        body["deliveries"] = delivery_details()
    return JsonResponse(body, status=status)


LOOPBACK = ("127.0.0.1", "::1")


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; needs ``Authorization: Bearer $METRICS_TOKEN`` when a token is set,
    otherwise answers only requests from loopback addresses."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
    elif not (request.META.get("REMOTE_ADDR") in LOOPBACK and client_ip(request) in LOOPBACK):
        # both the connection and the client it speaks for (behind a local proxy) must be local: a
        # forwarded-for header alone, which anyone reaching the server directly can send, is not enough
        return HttpResponse("metrics are internal: set METRICS_TOKEN to scrape remotely\n", status=403)
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
