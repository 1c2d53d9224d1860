"""What every adapter speaks: the request it is given, the completion it returns, the failure it raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.chat import ChatCompletion

from triage.routing.profile import Usage
from triage.routing.tokens import count_prompt_tokens, count_text_tokens


@dataclass
class CallFailure(Exception):
    """One failed attempt, already classified into an attempt outcome (``CallOutcome``)."""

    outcome: str
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.outcome}: {self.message}"


@dataclass(frozen=True)
class Request:
    messages: Sequence[dict[str, str]]
    task: str | None
    json_mode: bool = False
    max_tokens: int | None = None  # the answer's budget (a reasoning model gets its allowance on top)
    temperature: float | None = None  # sent only to models whose profile accepts it
    reasoning_effort: str = ""  # sent only when set (the task's pool entry, else the model's own)


@dataclass(frozen=True)
class Completion:
    """A model's answer with what it cost in tokens (reported by the provider, or estimated)."""

    content: str
    usage: Usage
    finish_reason: str  # "length": cut at the token limit
    raw: ChatCompletion  # the response as an OpenAI-compatible client expects it (/v1 forwards it)


MAX_REPORTED_TOKENS = 100_000_000  # more than any context window; the database columns hold 2**31 - 1


def reported_usage(report: Any, *, messages: Sequence[dict[str, str]], content: str) -> Usage:
    """The usage a provider reported (``usage`` of a response or of a stream's last chunk), with
    its reasoning and cached token details; estimated with tiktoken (flagged) when it reported none."""
    estimate = Usage(count_prompt_tokens(messages), count_text_tokens(content), estimated=True)
    if report is None:
        return estimate
    completion_details = getattr(report, "completion_tokens_details", None)
    prompt_details = getattr(report, "prompt_tokens_details", None)
    # the SDK doesn't check these numbers: a provider's "n/a", -1 or 1e12 must not reach the database
    values = [
        getattr(report, "prompt_tokens", None),
        getattr(report, "completion_tokens", None),
        getattr(completion_details, "reasoning_tokens", None),
        getattr(prompt_details, "cached_tokens", None),
    ]
    try:
        prompt, completion, reasoning, cached = (int(v or 0) for v in values)
    except (TypeError, ValueError, OverflowError):
        return estimate
    if not all(0 <= v <= MAX_REPORTED_TOKENS for v in (prompt, completion, reasoning, cached)):
        return estimate
    return Usage(prompt, completion, estimated=False, reasoning_tokens=reasoning, cached_tokens=cached)
