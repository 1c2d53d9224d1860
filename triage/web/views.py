"""Agent-facing pages. Thin: parse the request, call a selector or service, render.

An htmx request gets the named partial the full page includes; the same URL without htmx gets the
whole page (or a redirect after a POST), so everything works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from triage.models import Router, Ticket
from triage.services.tickets import ticket_submit
from triage.web import selectors, services
from triage.web.accounts import may_use_agent_pages
from triage.web.forms import (
    CorrectionForm,
    PlaygroundForm,
    ReplyForm,
    RerunForm,
    ThumbForm,
    TicketForm,
    add_service_errors,
)

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (``request.htmx`` is always set)."""

    htmx: HtmxDetails


def agent_required(view: View) -> View:
    """Logged in, and an agent (the ``agents`` group) or staff; anyone else gets 403.

    An htmx request whose session ended (a poll, say) is sent to the login page as a whole-page
    navigation, back to the page it came from, instead of swapping the login form into a fragment.
    """

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                back = urlsplit(request.htmx.current_url or "/")
                next_url = back.path + (f"?{back.query}" if back.query else "")
                return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': next_url})}")
            return redirect_to_login(request.get_full_path())
        if not may_use_agent_pages(user):
            raise PermissionDenied("Only support agents and staff can use these pages.")
        return view(request, *args, **kwargs)

    return wrapper


def _is_fragment(request: HtmxHttpRequest, target: str) -> bool:
    """An htmx request aimed at ``target`` (a history restore always wants the whole page)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


# --- queue -----------------------------------------------------------------------------------
@agent_required
@require_GET
def ticket_queue(request: HtmxHttpRequest) -> HttpResponse:
    filters = selectors.QueueFilters.from_query(request.GET)
    context = {
        "page": selectors.tickets_for_queue(filters),
        "filters": filters,
        "statuses": Ticket.Status.choices,
        "urgencies": selectors.URGENCY_LABELS,
    }
    if _is_fragment(request, "queue-results"):
        return render(request, "triage/partials/queue_results.html", context)
    context["categories"] = selectors.queue_categories()
    return render(request, "triage/queue.html", context)


@agent_required
@require_GET
def ticket_row(request: HtmxHttpRequest, ticket_id: int) -> HttpResponse:
    if not request.htmx:
        return redirect("ticket", ticket_id=ticket_id)
    try:
        ticket = selectors.ticket_for_row(ticket_id)
    except Ticket.DoesNotExist:
        return HttpResponseStopPolling()
    response = render(request, "triage/partials/queue_row.html", {"ticket": ticket})
    if selectors.ticket_is_settled(ticket):
        return HttpResponseStopPolling(response.content)  # htmx still swaps in the final row
    return response


# --- new ticket ------------------------------------------------------------------------------
@agent_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HtmxHttpRequest) -> HttpResponse:
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = ticket_submit(
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                customer_tier=form.cleaned_data["customer_tier"],
                account_id=form.cleaned_data["account_id"],
                router=form.cleaned_data["router"],
                channel=Ticket.Channel.WEB,
            )
        except (ValidationError, Router.DoesNotExist) as exc:
            if isinstance(exc, Router.DoesNotExist):
                exc = ValidationError({"router": "The default router does not exist; pick one."})
            add_service_errors(form, exc)
        else:
            url = reverse("ticket", kwargs={"ticket_id": ticket.pk})
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    status = 400 if request.method == "POST" and not request.htmx else 200
    template = (
        "triage/partials/ticket_form.html"
        if _is_fragment(request, "ticket-form")
        else "triage/ticket_new.html"
    )
    return render(request, template, {"form": form}, status=status)


# --- one ticket ------------------------------------------------------------------------------
def _ticket_response(
    request: HtmxHttpRequest,
    ticket_id: int,
    *,
    notice: str = "",
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        page = selectors.ticket_page(ticket_id)
    except Ticket.DoesNotExist as exc:
        raise Http404("No such ticket.") from exc
    context = {"p": page, "notice": notice, **(forms or {})}
    if _is_fragment(request, "ticket-live"):
        response = render(request, "triage/partials/ticket_live.html", context, status=status)
        if page.settled and request.method == "GET":
            return HttpResponseStopPolling(response.content)
        return response
    return render(request, "triage/ticket.html", context, status=status)


@agent_required
@require_GET
def ticket_detail(request: HtmxHttpRequest, ticket_id: int) -> HttpResponse:
    # an action's notice, carried over its redirect when the page is used without JavaScript
    notice = " ".join(str(message) for message in messages.get_messages(request))
    return _ticket_response(request, ticket_id, notice=notice)


def _after_action(request: HtmxHttpRequest, ticket_id: int, notice: str) -> HttpResponse:
    if request.htmx:
        return _ticket_response(request, ticket_id, notice=notice)
    messages.success(request, notice)
    return redirect(reverse("ticket", kwargs={"ticket_id": ticket_id}) + "#ticket-live")


def _action_failed(request: HtmxHttpRequest, ticket_id: int, name: str, form: Any) -> HttpResponse:
    return _ticket_response(request, ticket_id, forms={name: form}, status=200 if request.htmx else 400)


@agent_required
@require_POST
def ticket_correct(request: HtmxHttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket.objects.select_related("router"), pk=ticket_id)
    form = CorrectionForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_correct(
                ticket=ticket,
                field_name=form.cleaned_data["field"],
                value=form.cleaned_data["value"],
                user=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_action(request, ticket_id, f"{form.cleaned_data['field'].capitalize()} corrected.")
    return _action_failed(request, ticket_id, "correction_form", form)


@agent_required
@require_POST
def ticket_thumb(request: HtmxHttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    form = ThumbForm(request.POST)
    if form.is_valid():
        try:
            services.step_thumb(
                ticket=ticket,
                step_id=form.cleaned_data["step"],
                up=form.cleaned_data["vote"] == "up",
                user=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_action(request, ticket_id, "Thanks: feedback recorded.")
    return _action_failed(request, ticket_id, "thumb_form", form)


@agent_required
@require_POST
def ticket_reply(request: HtmxHttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.reply_approve(ticket=ticket, text=form.cleaned_data["text"], user=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_action(request, ticket_id, "Reply approved.")
    return _action_failed(request, ticket_id, "reply_form", form)


@agent_required
@require_POST
def ticket_rerun(request: HtmxHttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    form = RerunForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_rerun(ticket=ticket, step=form.cleaned_data["step"] or None)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            step = form.cleaned_data["step"]
            return _after_action(request, ticket_id, f"Re-running {step or 'all steps'}.")
    return _action_failed(request, ticket_id, "rerun_form", form)


# --- analytics -------------------------------------------------------------------------------
@agent_required
@require_GET
def analytics(request: HtmxHttpRequest) -> HttpResponse:
    routers = selectors.routers_for_pages()
    chosen = request.GET.get("router", "")
    router = next((r for r in routers if r.name == chosen), None)
    period = request.GET.get("period", "7d")
    context = {
        "a": selectors.analytics_for(router=router, period=period),
        "routers": routers,
        "periods": list(selectors.PERIODS),
    }
    if _is_fragment(request, "analytics-results"):
        return render(request, "triage/partials/analytics_results.html", context)
    return render(request, "triage/analytics.html", context)


# --- playground ------------------------------------------------------------------------------
@agent_required
@require_http_methods(["GET", "POST"])
def playground(request: HtmxHttpRequest) -> HttpResponse:
    form = PlaygroundForm(
        request.POST or None, initial={"router": Router.objects.filter(enabled=True).first()}
    )
    run = None
    if request.method == "POST" and form.is_valid():
        try:
            run = services.playground_run(
                router=form.cleaned_data["router"],
                prompt=form.cleaned_data["prompt"] or "",
                ticket=form.cleaned_data["ticket"],
                task=form.cleaned_data["task"] or None,
                models=list(form.cleaned_data["models"]),
                user=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
    # htmx swaps only the results, so they carry the form's errors; the whole page shows them by the form
    fragment = _is_fragment(request, "playground-results")
    context = {"form": form, "run": run, "fragment": fragment}
    if fragment:
        return render(request, "triage/partials/playground_results.html", context)
    return render(request, "triage/playground.html", context)
