"""Any OpenAI-compatible HTTP API (DigitalOcean, OpenAI, vLLM, Ollama, LiteLLM...) through the openai SDK.

One ``openai.OpenAI`` client per provider, key and timeout per process (``max_retries=0``: the router
is the only retry loop). Every failure is mapped to an attempt outcome here, so the router deals in
outcomes, never in exception types. Keys are read from the environment when a client is made and
live only inside it: never logged, stored or returned.
"""

from __future__ import annotations

import email.utils
import functools
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from triage.models import CallOutcome
from triage.models.routing import key_env_allowed
from triage.routing.adapters.base import CallFailure, Completion, Request, reported_usage
from triage.routing.config import ModelSpec
from triage.routing.profile import token_budget

KEYLESS_PLACEHOLDER = "no-key-needed"  # for servers that need none; never the OPENAI_API_KEY fallback


class OpenAICompatible:
    label = "OpenAI-compatible HTTP API"
    always_available = False

    def unavailable(self, model: ModelSpec) -> str | None:
        if model.api_key_env and not key_env_allowed(model.api_key_env):
            return f"{model.api_key_env} is not an allowed key variable (TRIAGE_PROVIDER_KEY_ENVS): not read"
        if model.api_key_env and not os.environ.get(model.api_key_env):
            return f"{model.api_key_env} is not set"
        return None

    def serves(self, model: ModelSpec, task: str | None) -> bool:
        return True

    def request_shape(self, model: ModelSpec, request: Request, *, streaming: bool) -> str:
        return request_shape(request_options(model, request, streaming=streaming))

    def complete(self, model: ModelSpec, request: Request, *, timeout: float) -> Completion:
        try:
            response = _client(model).chat.completions.create(
                **request_options(model, request, streaming=False), timeout=timeout
            )
        except Exception as error:  # every failure kind becomes an outcome
            raise classify_error(error) from error
        if not isinstance(response, ChatCompletion) or not response.choices:
            raise CallFailure(CallOutcome.SERVER_ERROR, "malformed response: no choices")
        choice = response.choices[0]
        content = choice.message.content if isinstance(choice.message.content, str) else ""
        usage = reported_usage(response.usage, messages=request.messages, content=content)
        return Completion(content, usage, str(choice.finish_reason or ""), response)

    def stream(
        self, model: ModelSpec, request: Request, *, timeout: float, first_token_timeout: float
    ) -> Iterator[ChatCompletionChunk]:
        """The read timeout bounds the wait for each chunk, the first one included."""
        try:
            with _client(model).chat.completions.create(
                **request_options(model, request, streaming=True),
                timeout=httpx2.Timeout(timeout, read=min(timeout, first_token_timeout)),
            ) as chunks:
                yield from chunks
        except CallFailure:
            raise
        except Exception as error:
            raise classify_error(error) from error


def request_options(model: ModelSpec, request: Request, *, streaming: bool) -> dict[str, Any]:
    """The request as the model's capability profile says it takes it."""
    options: dict[str, Any] = {"model": model.slug, "messages": list(request.messages)}
    if request.json_mode and model.supports_json_mode:
        options["response_format"] = {"type": "json_object"}
    budget = token_budget(model, request.max_tokens)
    if budget:
        options[model.token_limit_parameter] = budget
    if request.temperature is not None and model.accepts_temperature:
        options["temperature"] = request.temperature
    if request.reasoning_effort:
        options["reasoning_effort"] = request.reasoning_effort
    if streaming:
        options["stream"] = True
        if model.stream_usage:
            options["stream_options"] = {"include_usage": True}
    return options


def request_shape(options: dict[str, Any]) -> str:
    """What a provider can refuse about a request: the parameters it names (and the reasoning
    effort's value). Requests of a refused shape are not sent again until the model is edited."""
    parts = []
    for key in sorted(options):
        if key in ("model", "messages"):
            continue
        parts.append(f"{key}={options[key]}" if key == "reasoning_effort" else key)
    return ",".join(parts) or "(no parameters)"


def _client(model: ModelSpec) -> openai.OpenAI:
    if model.api_key_env and not key_env_allowed(model.api_key_env):  # never read, never sent
        raise CallFailure(
            CallOutcome.SKIPPED_UNCONFIGURED, f"{model.api_key_env} is not an allowed key variable"
        )
    key = os.environ.get(model.api_key_env, "") if model.api_key_env else KEYLESS_PLACEHOLDER
    return _client_for(model.base_url, key, model.timeout_seconds)


@functools.lru_cache(maxsize=64)
def _client_for(base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    # the key is part of the cache key so a rotated key takes effect at once; it is never logged
    return openai.OpenAI(
        base_url=base_url, api_key=api_key or KEYLESS_PLACEHOLDER, max_retries=0, timeout=timeout
    )


def _retry_after(response: httpx2.Response | None) -> float | None:
    if response is None:
        return None
    headers = response.headers
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def _error_detail(error: openai.APIStatusError) -> dict[str, Any]:
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error", body) if isinstance(body, dict) else {}
    return detail if isinstance(detail, dict) else {"message": str(detail)}


def _status_message(error: openai.APIStatusError) -> str:
    """The provider's own words: status, error type, and message (an admin fixes a profile by it)."""
    detail = _error_detail(error)
    text = f"HTTP {error.status_code}"
    if detail.get("type"):
        text += f" {detail['type']}"
    if detail.get("message"):
        text += f": {str(detail['message'])[:300]}"
    return text


# 4xx that name our request (a parameter, a value, the model's name), not the provider's health
REQUEST_REJECTED_STATUSES = (400, 404, 422)
_CONTEXT_WORDS = (
    "context_length_exceeded", "context length", "context window", "too many tokens", "prompt is too long",
)  # fmt: skip
# what a provider says when it refuses the shape of our request (a parameter, a value, the model's
# name) rather than this request's content: only then is the refusal remembered for the model
_SHAPE_WORDS = (
    "unsupported parameter", "unsupported value", "not supported", "unrecognized request argument",
    "unknown parameter", "extra inputs are not permitted", "does not exist", "model_not_found",
    "invalid model", "no such model", "unknown model",
)  # fmt: skip


def _rejection(error: openai.APIStatusError) -> CallFailure:
    detail = _error_detail(error)
    said = f"{detail.get('code') or ''} {detail.get('message') or ''}".lower()
    if any(word in said for word in _CONTEXT_WORDS):
        return CallFailure(CallOutcome.CONTEXT_TOO_LONG, _status_message(error))
    if error.status_code == 404 or detail.get("param") or any(word in said for word in _SHAPE_WORDS):
        return CallFailure(CallOutcome.REQUEST_REJECTED, _status_message(error))
    # about this request's content (a content filter, a message the provider refuses): this attempt only
    return CallFailure(CallOutcome.BAD_REQUEST, _status_message(error))


def classify_error(error: BaseException) -> CallFailure:
    """Map an SDK (or transport) exception to an attempt outcome."""
    if isinstance(error, CallFailure):
        return error
    if isinstance(error, openai.APITimeoutError):
        return CallFailure(CallOutcome.TIMEOUT, "no response within the timeout")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        return CallFailure(CallOutcome.CONNECTION_ERROR, f"connection error: {cause or error}"[:300])
    if isinstance(error, openai.RateLimitError):
        return CallFailure(CallOutcome.RATE_LIMITED, _status_message(error), _retry_after(error.response))
    if isinstance(error, openai.APIStatusError):
        if error.status_code == 408:
            return CallFailure(CallOutcome.TIMEOUT, _status_message(error))
        if error.status_code in REQUEST_REJECTED_STATUSES:
            return _rejection(error)
        # 5xx, 529 overloaded, and other 4xx (auth: a key the provider refuses): fail over
        return CallFailure(CallOutcome.SERVER_ERROR, _status_message(error))
    if isinstance(error, openai.APIError):
        return CallFailure(CallOutcome.SERVER_ERROR, f"provider error: {str(error)[:200]}")
    if isinstance(error, (ValueError, TypeError, KeyError)):  # a body the SDK could not read
        return CallFailure(CallOutcome.SERVER_ERROR, f"malformed response: {str(error)[:200]}")
    if isinstance(error, httpx2.TimeoutException):
        return CallFailure(CallOutcome.TIMEOUT, "no response within the timeout")
    if isinstance(error, httpx2.TransportError):
        return CallFailure(CallOutcome.CONNECTION_ERROR, f"connection error: {str(error)[:200]}")
    return CallFailure(CallOutcome.SERVER_ERROR, f"{type(error).__name__}: {str(error)[:200]}")
