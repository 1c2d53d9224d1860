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


def reported_usage(report: Any, *, messages: Sequence[dict[str, str]], content: str) -> Usage:
    """The usage a provider reported (``usage`` of a response or of a stream's last chunk), with
    its reasoning and cached token details; estimated with tiktoken (flagged) when it reported none."""
    if report is None:
        return Usage(count_prompt_tokens(messages), count_text_tokens(content), estimated=True)
    completion_details = getattr(report, "completion_tokens_details", None)
    prompt_details = getattr(report, "prompt_tokens_details", None)
    return Usage(
        prompt_tokens=int(report.prompt_tokens or 0),
        completion_tokens=int(report.completion_tokens or 0),
        estimated=False,
        reasoning_tokens=int(getattr(completion_details, "reasoning_tokens", None) or 0),
        cached_tokens=int(getattr(prompt_details, "cached_tokens", None) or 0),
    )
