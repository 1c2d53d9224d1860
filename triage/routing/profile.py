"""A model's capability profile applied to one request: its token budget, whether the prompt fits,
and the price of what it used. Pure functions over the catalog entry (``ModelSpec``); the adapters
build the request itself (``adapters/openai_compatible.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from triage.routing.config import ModelSpec
from triage.routing.pricing import call_cost


@dataclass(frozen=True)
class Usage:
    """Tokens as the provider reported them (or estimated: ``estimated``)."""

    prompt_tokens: int
    completion_tokens: int  # reasoning tokens included: they are billed as output
    estimated: bool
    reasoning_tokens: int = 0
    cached_tokens: int = 0  # of the prompt tokens, read from the provider's prompt cache


def token_budget(model: ModelSpec, answer_tokens: int | None) -> int | None:
    """The token limit to send: the answer's budget, plus the model's reasoning allowance (a
    reasoning model spends its hidden reasoning tokens from the same limit before it answers)."""
    if answer_tokens is None:
        return None
    return answer_tokens + model.reasoning_token_allowance


def context_overflow(model: ModelSpec, prompt_tokens: int, budget: int | None) -> str:
    """Why the request can't fit the model's context window ("" when it fits)."""
    needed = prompt_tokens + (budget or 0)
    if needed <= model.context_window:
        return ""
    return (
        f"the prompt ({prompt_tokens} tokens) plus the answer budget ({budget or 0}) exceeds "
        f"{model.slug}'s context window of {model.context_window} tokens"
    )


def usage_cost(model: ModelSpec, usage: Usage) -> Decimal:
    """What the call cost: cached prompt tokens at the cached-input price (when the catalog has
    one), the rest of the prompt at the input price, every completion token (reasoning included)
    at the output price."""
    return call_cost(
        input_price_per_m=model.input_price_per_m,
        output_price_per_m=model.output_price_per_m,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cached_input_price_per_m=model.cached_input_price_per_m,
    )
