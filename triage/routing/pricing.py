"""Token prices to money. Pure functions, Decimal throughout."""

from __future__ import annotations

from decimal import Decimal

PER_MILLION = Decimal(1_000_000)


def call_cost(
    *,
    input_price_per_m: Decimal,
    output_price_per_m: Decimal,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cached_input_price_per_m: Decimal | None = None,
) -> Decimal:
    """Cost in dollars of one call, from per-1M-token prices. ``cached_tokens`` are part of
    ``prompt_tokens`` (as providers report them) and cost the cached price when there is one."""
    cached = min(max(cached_tokens, 0), prompt_tokens)
    cached_price = Decimal(
        input_price_per_m if cached_input_price_per_m is None else cached_input_price_per_m
    )
    return (
        Decimal(prompt_tokens - cached) * Decimal(input_price_per_m)
        + Decimal(cached) * Decimal(cached_price)
        + Decimal(completion_tokens) * Decimal(output_price_per_m)
    ) / PER_MILLION


def dollars(amount: Decimal) -> str:
    """An amount as a plain decimal string: ``0.0000000000``, never ``0E-10`` (``str`` of a zero
    read from a decimal column)."""
    return format(amount, "f")
