"""The routers as an OpenAI-compatible API: POST /v1/chat/completions and GET /v1/models.

Plain Django views (not ninja) because the answer is either a JSON Chat Completion or an SSE
stream, and every error must use OpenAI's error shape. Thin: validate, call the routing service,
shape the answer. Never names a model itself.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from triage.api.auth import api_key_lookup, rate_limit_check, scope_check
from triage.api.errors import ApiError, error_response
from triage.models import ApiKey, LLMModel, Router
from triage.models.apikeys import SCOPE_MODELS, SCOPE_ROUTERS
from triage.routing import RouteResult, RoutingError, UnknownRouter, UnknownTask, route, route_stream
from triage.routing.config import snapshot_fresh
from triage.routing.service import MODEL_PREFIX

ROLES = {"system", "user", "assistant", "developer"}  # no "tool": /v1 passes no tools or tool calls
ROUTER_PREFIX = "router:"


def _authenticate(request: HttpRequest) -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    key = api_key_lookup(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise ApiError(
            401, "Missing or invalid API key: send 'Authorization: Bearer <key>'.", code="invalid_api_key"
        )
    rate_limit_check(key)
    return key


def _scope_for(model: str) -> str:
    """The scope a request needs, from the model's spelling alone (before looking anything up, so
    a key without the scope learns nothing about which routers or models exist)."""
    return SCOPE_ROUTERS if model.startswith(ROUTER_PREFIX) else SCOPE_MODELS


def _parse(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "model: give 'router:<name>' or a model from GET /v1/models.", param="model")
    n = body.get("n", 1)
    if n != 1:
        raise ApiError(400, "n: only n=1 is supported.", param="n", code="unsupported_value")
    task = body.get("task")
    if task is not None and not isinstance(task, str):
        raise ApiError(400, "task: must be a string naming one of the router's tasks.", param="task")
    max_tokens_param = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    max_tokens = body.get(max_tokens_param)
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise ApiError(400, f"{max_tokens_param}: must be a positive integer.", param=max_tokens_param)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream: must be true or false.", param="stream")
    return {
        "model": model,
        "messages": _messages(body.get("messages")),
        "task": task,
        "max_tokens": max_tokens,
        "max_tokens_param": max_tokens_param,
        "stream": stream,
    }


def _content_text(content: Any, where: str) -> str:
    """A message's text: a string, or OpenAI's list of content parts of which only text parts
    (``{"type": "text", "text": ...}``) are taken, joined as one text; images, audio and files are refused."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content:
        texts = []
        for index, part in enumerate(content):
            if not (
                isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            ):
                raise ApiError(
                    400,
                    f'{where}[{index}]: only text parts ({{"type": "text", "text": ...}}) are supported.',
                    param=f"{where}[{index}]",
                )
            texts.append(part["text"])
        return "\n".join(texts)
    raise ApiError(400, f"{where}: must be a string or a list of text parts.", param=where)


def _messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "messages: give a non-empty list of {role, content}.", param="messages")
    if len(raw) > settings.TRIAGE_V1_MAX_MESSAGES:
        raise ApiError(
            400,
            f"messages: {len(raw)} messages, over the limit of {settings.TRIAGE_V1_MAX_MESSAGES}.",
            param="messages",
            code="too_many_messages",
        )
    messages = []
    characters = 0
    for index, message in enumerate(raw):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise ApiError(400, f"{where}: must be an object with role and content.", param=where)
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ApiError(
                400, f"{where}.role: must be one of {', '.join(sorted(ROLES))}.", param=f"{where}.role"
            )
        content = _content_text(content, f"{where}.content")
        characters += len(content)
        if characters > settings.TRIAGE_V1_MAX_CHARS:
            raise ApiError(
                400,
                f"messages: over {settings.TRIAGE_V1_MAX_CHARS} characters of content in all.",
                param="messages",
                code="messages_too_large",
            )
        messages.append({"role": str(role), "content": content})
    return messages


def _max_tokens_allowed(target: Router | str) -> tuple[int, str]:
    """The largest answer budget a request to ``target`` may ask for, and why: the target's context
    window (a direct model's own; a router's largest among its pools and fallbacks, since a budget
    over that fits none of its models), capped by TRIAGE_V1_MAX_TOKENS (cost and time per request)."""
    cap = settings.TRIAGE_V1_MAX_TOKENS
    snapshot = snapshot_fresh()
    if isinstance(target, str) and target.startswith(MODEL_PREFIX):
        slug = target.removeprefix(MODEL_PREFIX)
        windows = [m.context_window for m in snapshot.catalog if m.slug == slug]
        label = f"{slug}'s context window"
    else:
        name = target.name if isinstance(target, Router) else target
        spec = snapshot.routers_by_name.get(name)
        ids = spec.model_ids if spec is not None else ()
        models = [snapshot.models_by_id[i] for i in ids if i in snapshot.models_by_id]
        windows = [m.context_window for m in models if m.usable]
        label = f"the largest context window of router {name}'s models"
    window = max(windows, default=0)
    if window and window < cap:
        return window, label
    return cap, "this server's limit (TRIAGE_V1_MAX_TOKENS)"


def _check_max_tokens(target: Router | str, params: dict[str, Any]) -> None:
    requested = params["max_tokens"]
    if requested is None:
        return
    allowed, why = _max_tokens_allowed(target)
    if requested > allowed:
        name = params["max_tokens_param"]
        raise ApiError(
            400,
            f"{name}: {requested} is over {allowed}, {why}.",
            param=name,
            code="max_tokens_too_large",
        )


def _router_for(model: str) -> Router | str:
    """What a request addresses: ``router:<name>``, or a catalog slug called directly (the model,
    then the local last resort, with the same breaker and accounting)."""
    if model.startswith(ROUTER_PREFIX):
        name = model[len(ROUTER_PREFIX) :]
        if name.startswith(MODEL_PREFIX):  # "router:model:x" is no router's name (and needs no other scope)
            raise ApiError(404, f"model: no router named {name!r}.", param="model", code="model_not_found")
        return name
    slug = model.removeprefix(MODEL_PREFIX)
    if LLMModel.objects.filter(slug=slug, enabled=True, provider__enabled=True).exists():
        return f"{MODEL_PREFIX}{slug}"
    raise ApiError(404, f"model: no router or model named {model!r}.", param="model", code="model_not_found")


def _completion_body(result: RouteResult) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.served_by,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.content},
                "finish_reason": result.finish_reason or "stop",
            }
        ],
        "usage": _usage_body(result),
        "route": result.matched_task,
        "pinned": result.pinned,
        "tokens_estimated": result.tokens_estimated,
    }


def _usage_body(result: RouteResult) -> dict[str, Any]:
    """Usage as OpenAI shapes it, with the reasoning and cached token details."""
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": result.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": result.reasoning_tokens},
    }


def _routing_failure(exc: Exception) -> ApiError:
    if isinstance(exc, UnknownTask):
        return ApiError(400, f"task: {exc}", param="task", code="unknown_task")
    if isinstance(exc, UnknownRouter):
        return ApiError(404, f"model: {exc}", param="model", code="model_not_found")
    return ApiError(502, str(exc), code="all_models_failed")


@csrf_exempt
@require_POST
def chat_completions(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    try:
        key = _authenticate(request)
        params = _parse(request)
        scope_check(key, _scope_for(params["model"]))
        router = _router_for(params["model"])
        _check_max_tokens(router, params)
        affinity = request.headers.get("X-Model-Affinity") or None
        if params["stream"]:
            return _stream_response(router, params, affinity)
        try:
            result = route(
                router,
                params["messages"],
                task=params["task"],
                affinity_key=affinity,
                max_tokens=params["max_tokens"],
            )
        except RoutingError as exc:
            raise _routing_failure(exc) from None
    except ApiError as exc:
        return error_response(exc.status, exc.message, param=exc.param, code=exc.code, headers=exc.headers)
    response = JsonResponse(_completion_body(result))
    response["x-model-router-selected-route"] = result.matched_task or "fallback"
    return response


def _stream_response(
    router: Router | str, params: dict[str, Any], affinity: str | None
) -> StreamingHttpResponse:
    events = route_stream(
        router,
        params["messages"],
        task=params["task"],
        affinity_key=affinity,
        max_tokens=params["max_tokens"],
    )
    try:
        first = next(events)  # fail over (or fail) before any byte of the answer is sent
    except RoutingError as exc:
        raise _routing_failure(exc) from None
    response = StreamingHttpResponse(_sse(first, events), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    response["x-model-router-selected-route"] = first.matched_task or "fallback"
    return response


def _sse_line(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _sse(first: Any, events: Iterator[Any]) -> Iterator[bytes]:
    served_model = ""
    stream_id = ""  # every chunk of one stream carries the same id, the usage chunk too (as OpenAI's)
    for event in _chain(first, events):
        if event.kind == "chunk" and event.chunk is not None:
            chunk = event.chunk.model_dump(exclude_none=True)
            served_model = served_model or chunk.get("model", "")
            stream_id = stream_id or chunk.get("id", "")
            chunk["model"] = served_model
            yield _sse_line(chunk)
        elif event.kind == "done" and event.result is not None:
            result = event.result
            yield _sse_line(
                {
                    "id": stream_id or f"chatcmpl-{uuid.uuid4().hex}",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": result.served_by,
                    "choices": [],
                    "usage": _usage_body(result),
                    "route": result.matched_task,
                    "pinned": result.pinned,
                    "tokens_estimated": result.tokens_estimated,
                }
            )
        elif event.kind == "error":
            yield _sse_line(
                {"error": {"message": event.error, "type": "server_error", "code": "stream_interrupted"}}
            )
    yield b"data: [DONE]\n\n"


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


@csrf_exempt  # a Bearer-key endpoint like chat_completions: a POST is a 405, not a CSRF 403
@require_GET
def list_models(request: HttpRequest) -> HttpResponse:
    try:
        key = _authenticate(request)
        if not (key.has_scope(SCOPE_ROUTERS) or key.has_scope(SCOPE_MODELS)):
            raise ApiError(
                403,
                "This API key has neither the 'routers' nor the 'models' scope that /v1 needs.",
                code="insufficient_scope",
            )
    except ApiError as exc:
        return error_response(exc.status, exc.message, code=exc.code, headers=exc.headers)
    created = int(time.time())
    data = []  # what this key may call: routers with the routers scope, models with the models scope
    if key.has_scope(SCOPE_ROUTERS):
        data += [
            {"id": f"{ROUTER_PREFIX}{name}", "object": "model", "created": created, "owned_by": "router"}
            for name in Router.objects.filter(enabled=True).values_list("name", flat=True)
        ]
    if key.has_scope(SCOPE_MODELS):
        data += [
            {"id": slug, "object": "model", "created": created, "owned_by": provider}
            for slug, provider in LLMModel.objects.filter(enabled=True, provider__enabled=True).values_list(
                "slug", "provider__name"
            )
        ]
    return JsonResponse({"object": "list", "data": data})
