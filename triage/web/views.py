"""Agent-facing pages. Thin: parse the request, call a selector or service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from triage.models import Ticket


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@login_required
@require_GET
def ticket_queue(request: HttpRequest) -> HttpResponse:
    tickets = Ticket.objects.select_related("router").order_by("-created_at", "-id")
    page = Paginator(tickets, 50).get_page(request.GET.get("page"))
    return render(request, "triage/queue.html", {"page": page})
