"""One error shape everywhere, the OpenAI one: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    """Raised by handlers for a client error with a field name, status and code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.headers = headers or {}


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = {
        "error": {
            "message": message,
            "type": STATUS_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc: list[Any]) -> str:
    # ninja locations: ["body", "payload", "subject"], ["body", "payload", 3, "body"], ["query", "status"]
    if loc and loc[0] == "body":
        parts = loc[2:]
    elif loc and loc[0] in ("query", "path", "header", "cookie", "form"):
        parts = loc[1:]
    else:
        parts = loc
    return ".".join(str(p) for p in parts) or "body"


def _validation_message(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    if not errors:
        return "The request is invalid.", None
    first = errors[0]
    field = _field_name(list(first.get("loc", [])))
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "json_invalid" or "JSON" in message and field == "body":
        return "The request body is not valid JSON.", None
    extra = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{field}: {message}{extra}", field


def _body_shape_problem(request: HttpRequest, errors: list[dict[str, Any]]) -> str:
    """An empty body, or JSON that isn't the object the endpoint reads fields from ([], "text", null):
    said as such, rather than as the first missing field (a ticket's own field is called "body")."""
    loc = list(errors[0].get("loc", [])) if errors else []
    if loc[:1] != ["body"]:
        return ""
    try:
        raw = request.body
    except Exception:  # a form body already read: not JSON
        return ""
    if not raw.strip():
        return "The request body is empty: send a JSON object."
    if len(loc) < 3 or not isinstance(loc[2], str):
        return ""  # an endpoint that reads a list (/triage/batch), or a problem inside an item
    try:
        value = json.loads(raw)
    except ValueError:
        return ""
    return "" if isinstance(value, dict) else "The request body must be a JSON object."


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.message, param=exc.param, code=exc.code, headers=exc.headers)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        shape = _body_shape_problem(request, list(exc.errors))
        if shape:
            return error_response(400, shape, code="invalid_json")
        message, field = _validation_message(list(exc.errors))
        status = 400 if field is None else 422
        return error_response(status, message, param=field, code="invalid_value" if field else "invalid_json")

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(
            401,
            "Missing or invalid API key: send 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, str(exc) or "Not found.", code="not_found")

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return error_response(403, str(exc) or "Forbidden.", code="forbidden")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        message = str(exc)
        if exc.status_code == 400 and "parse request body" in message:
            return error_response(400, "The request body is not valid JSON.", code="invalid_json")
        return error_response(exc.status_code, message)
