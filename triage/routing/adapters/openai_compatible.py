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
from triage.routing.adapters.base import CallFailure, Completion, Request
from triage.routing.config import ModelSpec
from triage.routing.tokens import count_prompt_tokens, count_text_tokens

KEYLESS_PLACEHOLDER = "no-key-needed"  # for servers that need none; never the OPENAI_API_KEY fallback


class OpenAICompatible:
    label = "OpenAI-compatible HTTP API"
    always_available = False

    def unavailable(self, model: ModelSpec) -> str | None:
        if model.api_key_env and not os.environ.get(model.api_key_env):
            return f"{model.api_key_env} is not set"
        return None

    def serves(self, model: ModelSpec, task: str | None) -> bool:
        return True

    def complete(self, model: ModelSpec, request: Request, *, timeout: float) -> Completion:
        try:
            response = _client(model).chat.completions.create(
                **_request_options(model, request), timeout=timeout
            )
        except Exception as error:  # every failure kind becomes an outcome
            raise classify_error(error) from error
        if not isinstance(response, ChatCompletion) or not response.choices:
            raise CallFailure(CallOutcome.SERVER_ERROR, "malformed response: no choices")
        content = response.choices[0].message.content or ""
        usage = response.usage
        if usage is None:
            return Completion(
                content, count_prompt_tokens(request.messages), count_text_tokens(content), True, response
            )
        return Completion(
            content, int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0), False, response
        )

    def stream(
        self, model: ModelSpec, request: Request, *, timeout: float, first_token_timeout: float
    ) -> Iterator[ChatCompletionChunk]:
        """The read timeout bounds the wait for each chunk, the first one included."""
        try:
            with _client(model).chat.completions.create(
                **_request_options(model, request),
                stream=True,
                stream_options={"include_usage": True},
                timeout=httpx2.Timeout(timeout, read=min(timeout, first_token_timeout)),
            ) as chunks:
                yield from chunks
        except CallFailure:
            raise
        except Exception as error:
            raise classify_error(error) from error


def _request_options(model: ModelSpec, request: Request) -> dict[str, Any]:
    options: dict[str, Any] = {"model": model.slug, "messages": list(request.messages)}
    if request.json_mode and model.supports_json_mode:
        options["response_format"] = {"type": "json_object"}
    if request.max_tokens:
        options["max_tokens"] = request.max_tokens
    return options


def _client(model: ModelSpec) -> openai.OpenAI:
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


def _status_message(error: openai.APIStatusError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error", body) if isinstance(body, dict) else {}
    kind = detail.get("type") if isinstance(detail, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else None
    text = f"HTTP {error.status_code}"
    if kind:
        text += f" {kind}"
    if message:
        text += f": {str(message)[:200]}"
    return text


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
        # 5xx, 529 overloaded, and 4xx the next model may not hit (bad request, auth): fail over
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
