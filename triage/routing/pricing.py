"""Token prices to money. Pure functions, Decimal throughout."""

from __future__ import annotations

from decimal import Decimal

PER_MILLION = Decimal(1_000_000)


def call_cost(
    *, input_price_per_m: Decimal, output_price_per_m: Decimal, prompt_tokens: int, completion_tokens: int
) -> Decimal:
    """Cost in dollars of one call, from per-1M-token prices."""
    return (
        Decimal(prompt_tokens) * Decimal(input_price_per_m)
        + Decimal(completion_tokens) * Decimal(output_price_per_m)
    ) / PER_MILLION
