"""Calls to models: remote ones through the openai SDK, local ones through the in-process registry.

One ``openai.OpenAI`` client per provider per process (``max_retries=0``: the router is the only
retry loop), with the provider's timeout. Every failure is mapped to an attempt outcome here, so
the service deals in outcomes, never in exception types.

Never logs, stores or returns an API key: keys are read from the environment at client creation
and live only inside the client. A provider whose key variable is unset is never called.
"""

from __future__ import annotations

import email.utils
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.completion_usage import CompletionUsage

from triage.local_models.registry import get_local_model, local_model_serves
from triage.models import CallOutcome
from triage.routing.config import ModelSpec
from triage.routing.tokens import count_prompt_tokens, count_text_tokens

KEYLESS_PLACEHOLDER = "no-key-needed"  # for servers that need none; never the OPENAI_API_KEY fallback

_clients: dict[tuple[int, str, str, str], openai.OpenAI] = {}
_clients_lock = threading.Lock()


@dataclass
class CallFailure(Exception):
    """One failed attempt, already classified."""

    outcome: str
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.outcome}: {self.message}"


def provider_key(model: ModelSpec) -> str | None:
    """The key to send; None when the provider needs one and its variable is unset."""
    if model.is_local or not model.api_key_env:
        return KEYLESS_PLACEHOLDER
    return os.environ.get(model.api_key_env) or None


def client_for(model: ModelSpec, api_key: str) -> openai.OpenAI:
    # the key is part of the cache key so a rotated key takes effect; it is never logged
    cache_key = (model.provider_id, model.base_url, str(hash(api_key)), f"{model.timeout_seconds}")
    client = _clients.get(cache_key)
    if client is None:
        with _clients_lock:
            client = _clients.get(cache_key)
            if client is None:
                client = openai.OpenAI(
                    base_url=model.base_url,
                    api_key=api_key,
                    max_retries=0,
                    timeout=model.timeout_seconds,
                )
                _clients[cache_key] = client
    return client


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
    if isinstance(error, (json.JSONDecodeError, ValueError, TypeError, KeyError)):
        return CallFailure(CallOutcome.SERVER_ERROR, f"malformed response: {str(error)[:200]}")
    if isinstance(error, httpx2.TimeoutException):
        return CallFailure(CallOutcome.TIMEOUT, "no response within the timeout")
    if isinstance(error, httpx2.TransportError):
        return CallFailure(CallOutcome.CONNECTION_ERROR, f"connection error: {str(error)[:200]}")
    return CallFailure(CallOutcome.SERVER_ERROR, f"{type(error).__name__}: {str(error)[:200]}")


@dataclass(frozen=True)
class Request:
    messages: Sequence[dict[str, str]]
    task: str | None
    json_mode: bool = False
    max_tokens: int | None = None


def _request_body(model: ModelSpec, request: Request) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model.slug, "messages": list(request.messages)}
    if request.json_mode and model.supports_json_mode:
        body["response_format"] = {"type": "json_object"}
    if request.max_tokens:
        body["max_tokens"] = request.max_tokens
    return body


# Calls go through the SDK client's generic ``post`` (its documented way to reach any endpoint)
# rather than ``chat.completions.create``: the same request, response types, errors and streaming,
# without ``create``'s recursive walk of every parameter against the SDK's TypedDicts. Our bodies
# are plain JSON built above (string messages, no dates or files), so that walk changes nothing,
# and it cost 1.2 ms of CPU per call here (a third of the SDK's client-side time).
_CHAT_PATH = "/chat/completions"


def call_remote(model: ModelSpec, request: Request, *, api_key: str, timeout: float) -> ChatCompletion:
    """One non-streaming call; raises :class:`CallFailure`."""
    client = client_for(model, api_key)
    try:
        completion = client.post(
            _CHAT_PATH,
            body=_request_body(model, request),
            cast_to=ChatCompletion,
            options={"timeout": timeout},
        )
    except Exception as error:  # every failure kind becomes an outcome
        raise classify_error(error) from error
    if not isinstance(completion, ChatCompletion) or not completion.choices:
        raise CallFailure(CallOutcome.SERVER_ERROR, "malformed response: no choices")
    return completion


def stream_remote(
    model: ModelSpec, request: Request, *, api_key: str, timeout: float, first_token_timeout: float
) -> Iterator[ChatCompletionChunk]:
    """Open a stream; the read timeout bounds the wait for each chunk (the first one included)."""
    client = client_for(model, api_key)
    body = _request_body(model, request)
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    try:
        with client.post(
            _CHAT_PATH,
            body=body,
            cast_to=ChatCompletion,
            options={"timeout": httpx2.Timeout(timeout, read=min(timeout, first_token_timeout))},
            stream=True,
            stream_cls=openai.Stream[ChatCompletionChunk],
        ) as stream:
            yield from stream
    except CallFailure:
        raise
    except Exception as error:
        raise classify_error(error) from error


# --- local models ------------------------------------------------------------------------------
def local_available(model: ModelSpec, task: str | None) -> bool:
    """Whether the local model is registered here and serves the task."""
    local = get_local_model(model.slug)
    return local is not None and local_model_serves(local, task)


def call_local(model: ModelSpec, request: Request) -> ChatCompletion:
    """Ask an in-process model and wrap its text like a provider's response (usage estimated)."""
    local = get_local_model(model.slug)
    if local is None:
        raise CallFailure(CallOutcome.SKIPPED_UNCONFIGURED, f"local model {model.slug} is not installed")
    try:
        text = local.reply(request.messages, task=request.task)
    except ValueError as error:
        raise CallFailure(
            CallOutcome.SERVER_ERROR, f"local model can't answer: {str(error)[:200]}"
        ) from error
    except Exception as error:
        raise CallFailure(
            CallOutcome.SERVER_ERROR, f"local model failed: {type(error).__name__}: {error}"
        ) from error
    prompt = count_prompt_tokens(request.messages)
    completion_tokens = count_text_tokens(text)
    return ChatCompletion(
        id=f"local-{uuid.uuid4().hex[:16]}",
        object="chat.completion",
        created=int(time.time()),
        model=model.slug,
        choices=[
            Choice(
                index=0,
                finish_reason="stop",
                message=ChatCompletionMessage(role="assistant", content=text),
            )
        ],
        usage=CompletionUsage(
            prompt_tokens=prompt, completion_tokens=completion_tokens, total_tokens=prompt + completion_tokens
        ),
    )
