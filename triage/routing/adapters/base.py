"""What every adapter speaks: the request it is given, the completion it returns, the failure it raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openai.types.chat import ChatCompletion


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
    max_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    """A model's answer with what it cost in tokens (reported by the provider, or estimated)."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool
    raw: ChatCompletion  # the response as an OpenAI-compatible client expects it (/v1 forwards it)
