"""Request middleware: one input policy for every request, one error shape for every machine client.

``InputPolicyMiddleware`` rejects a path, query string, form field or JSON body holding a control
character (``triage/input_policy.py``) and a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413), before
any view or parser sees them (one regular-expression pass over the body). JSON nested too deep for
the decoder (RecursionError, raised at once by its C scanner) is a 400 below.

``MachineErrorMiddleware`` gives programs (``/api/``, ``/triage``, ``/v1/``) the JSON error shape of
``triage/api/errors.py`` for every error status, whatever produced it (Django's 404, a 405, a 500
in DEBUG or not), never an HTML page or a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import unquote_plus

from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string

from triage.api.errors import error_response
from triage.input_policy import has_control_characters, json_has_control_characters

log = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/triage", "/v1/", "/inbound/")
# connectors' doors take providers' bodies (an email with its attachments is megabytes): they bound
# the size themselves (TRIAGE_INBOUND_MAX_BYTES) and strip control characters from what they keep
OWN_BODY_POLICY = ("/inbound/",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_MESSAGES = {
    400: "The request is invalid.",
    403: "Forbidden.",
    404: "Not found: no such endpoint or object.",
    405: "Method not allowed on this endpoint.",
    413: "The request body is too large.",
    500: "Internal error: the request could not be completed (it is logged).",
}


def is_machine_path(path: str) -> bool:
    return path.startswith(MACHINE_PREFIXES)


def _refuse(
    request: HttpRequest, status: int, message: str, *, code: str, param: str | None = None
) -> HttpResponse:
    if is_machine_path(request.path):
        return error_response(status, message, param=param, code=code)
    if request.headers.get("HX-Request") == "true":  # static/js/errors.js shows it in the page's banner
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    # a browser without JavaScript: a page saying what was refused, not a bare text answer
    return HttpResponse(render_to_string("input_refused.html", {"message": message}), status=status)


class InputPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = self._problem(request)
        return problem if problem is not None else self.get_response(request)

    def _problem(self, request: HttpRequest) -> HttpResponse | None:
        if has_control_characters(request.path):
            return _refuse(request, 422, "The URL holds a control character.", code="invalid_characters")
        query = unquote_plus(request.META.get("QUERY_STRING", ""))
        if has_control_characters(query):
            return _refuse(
                request, 422, "The query string holds a control character.", code="invalid_characters"
            )
        if request.method not in ("POST", "PUT", "PATCH") or request.path.startswith(OWN_BODY_POLICY):
            return None
        try:
            body = request.body
        except RequestDataTooBig:
            return _refuse(request, 413, _MESSAGES[413], code="request_too_large")
        content_type = request.content_type or ""
        if content_type not in FORM_TYPES and (
            content_type == "application/json" or is_machine_path(request.path)
        ):
            # programs' bodies are read as JSON whatever their declared type
            text = body.decode("utf-8", errors="replace")
            if json_has_control_characters(text):
                message = "The body holds a control character (e.g. NUL) or an unpaired surrogate."
                return _refuse(request, 422, message, code="invalid_characters")
        elif content_type in FORM_TYPES:
            for name, values in request.POST.lists():
                if has_control_characters(name) or any(has_control_characters(v) for v in values):
                    return _refuse(
                        request,
                        422,
                        f"{name}: holds a control character.",
                        code="invalid_characters",
                        param=name,
                    )
        return None


class MachineErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_machine_path(request.path) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json") or response.streaming:
            return response
        status = response.status_code
        shaped = error_response(status, _MESSAGES.get(status, "The request failed."), code=_code(status))
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                shaped[header] = response[header]
        return shaped

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_machine_path(request.path):
            return None  # pages keep Django's handling (the debug page in DEBUG)
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, _MESSAGES[413], code="request_too_large")
        if isinstance(exception, Http404 | PermissionDenied | SuspiciousOperation | BadRequest):
            return None  # Django answers 404/403/400; __call__ gives that answer the error shape
        if isinstance(exception, RecursionError | json.JSONDecodeError):
            return error_response(400, "The request body is not valid JSON.", code="invalid_json")
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, _MESSAGES[500], code="internal_error")


def _code(status: int) -> str:
    return {
        400: "bad_request",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "request_too_large",
    }.get(status, "internal_error" if status >= 500 else "error")
