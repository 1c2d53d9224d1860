"""A router's masking applied to one request: what a remote model is sent, whether it may be sent at
all, and the real values put back into what it answers.

Modes (``Router.masking``):

- ``off``: requests go as written.
- ``mask``: before any call to a model outside this process, emails, phone numbers, card numbers,
  IBANs, national ids, secrets and URLs with credentials in the user's messages become stable
  placeholders (``<EMAIL_1>``); the answer gets the real values back before anything stores or shows
  it. The local models see the real text: it never leaves the building.
- ``local_only_if_sensitive``: as ``mask``, and a request holding a card number, IBAN, secret or URL
  with credentials is not sent to a remote model at all (outcome ``skipped_sensitive``): the local
  tier answers it.

Every message is masked, system messages included: the pipeline's own system prompts hold no
customer data (masking leaves them as they are), but a ``/v1`` client's may. Detection is
:mod:`triage.privacy.masking`; this module only decides where it applies. Nothing here logs a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from triage.privacy.masking import Masked, mask_text, unmask_text

OFF = "off"
MASK = "mask"
LOCAL_ONLY_IF_SENSITIVE = "local_only_if_sensitive"
MODES = (OFF, MASK, LOCAL_ONLY_IF_SENSITIVE)
# the longest placeholder a stream may still be in the middle of ("&lt;URL_CREDENTIALS_999&gt;")
_LONGEST_PLACEHOLDER = 32
# what a chunk may end in the middle of: a placeholder in any form unmask_text restores ("<EMAIL_1>",
# "EMAIL_1" that may go on as "EMAIL_12", "[EMAIL_1]", "&lt;EMAIL_1&gt;"), held back until it is whole
_OPEN = r"(?:&(?:l(?:t;?)?)?|[<\[{])"  # "&", "&l", "&lt", "&lt;", "<", "[", "{"
_PARTIAL_END = re.compile(rf"(?:{_OPEN}?\s?[A-Z][A-Z_]*\d*(?:&(?:g(?:t;?)?)?)?|{_OPEN}\s?)$")


@dataclass
class RequestMasking:
    """One request's masking: computed once, on first use by a remote attempt."""

    mode: str
    messages: Sequence[dict[str, str]]
    _masked: list[dict[str, str]] | None = None
    replacements: dict[str, str] = field(default_factory=dict)
    total: int = 0
    sensitive: bool = False

    @property
    def active(self) -> bool:
        return self.mode in (MASK, LOCAL_ONLY_IF_SENSITIVE)

    def masked_messages(self) -> list[dict[str, str]]:
        if self._masked is None:
            masked: list[dict[str, str]] = []
            for message in self.messages:
                if not isinstance(message.get("content"), str):
                    masked.append(message)
                    continue
                result: Masked = mask_text(message["content"], existing=self.replacements)
                self.replacements = dict(result.replacements)
                self.total += result.total
                self.sensitive = self.sensitive or result.sensitive
                masked.append({**message, "content": result.text})
            self._masked = masked
        return self._masked

    def blocks_remote(self) -> bool:
        """``local_only_if_sensitive`` and the request holds something that must stay here."""
        if self.mode != LOCAL_ONLY_IF_SENSITIVE:
            return False
        self.masked_messages()
        return self.sensitive

    def restore_text(self, text: str) -> str:
        return unmask_text(text, self.replacements) if self.replacements else text

    def restore(self, value: Any) -> Any:
        """``value`` (a parsed answer: strings in dicts and lists) with the real values back."""
        if not self.replacements:
            return value
        if isinstance(value, str):
            return unmask_text(value, self.replacements)
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        if isinstance(value, dict):
            return {k: self.restore(v) for k, v in value.items()}
        return value


class StreamRestorer:
    """Real values back into a streamed answer, chunk by chunk: a placeholder split across chunks
    ("<EMA" + "IL_1>") is held back until it is complete (at most a placeholder's length)."""

    def __init__(self, replacements: Mapping[str, str]) -> None:
        self.replacements = replacements
        self.pending = ""

    def feed(self, delta: str) -> str:
        text = self.pending + delta
        match = _PARTIAL_END.search(text[-_LONGEST_PLACEHOLDER:])
        cut = len(text) - len(match.group(0)) if match and match.group(0) else len(text)
        self.pending, text = text[cut:], text[:cut]
        return unmask_text(text, self.replacements)

    def flush(self) -> str:
        rest, self.pending = self.pending, ""
        return unmask_text(rest, self.replacements)
