"""What the app accepts as text, in one place: used by the request middleware for every input and
by the parsers for every model output.

- No NUL and no C0 control characters other than tab, newline and carriage return, in any path,
  query string, form field or JSON string (PostgreSQL can't store NUL in text; the others have no
  business in a support ticket and hide text from the people reading it).
- Model output is measured for nesting before it is decoded (``json_nesting_depth``); requests are
  decoded by the C scanner, whose RecursionError the error middleware answers with a 400.
"""

from __future__ import annotations

import re

# a raw control character, or one written as a JSON escape (\u0000-\u001f but \t \n \r), unless
# its backslash is itself escaped
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ESCAPED_CONTROL = re.compile(r"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F])")
# an escaped UTF-16 surrogate without its other half: decodes to text no database can store
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def has_control_characters(text: str) -> bool:
    """A forbidden control character, raw."""
    return bool(_RAW_CONTROL.search(text))


def without_control_characters(text: str) -> str:
    """``text`` with each forbidden control character replaced by a space (for text that reached
    us another way, e.g. a local model reading a message)."""
    return _RAW_CONTROL.sub(" ", text)


def storable_text(text: str) -> str:
    """``text`` as a database stores it: forbidden control characters blanked, unpaired surrogates
    replaced with U+FFFD (for model output shown as it came, e.g. in the playground)."""
    return without_control_characters(text).encode("utf-8", errors="replace").decode("utf-8")


def json_has_control_characters(text: str) -> bool:
    """A forbidden control character in JSON text, raw or escaped, or an unpaired escaped surrogate."""
    return bool(_RAW_CONTROL.search(text) or _ESCAPED_CONTROL.search(text) or _LONE_SURROGATE.search(text))


_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def json_nesting_depth(text: str) -> int:
    """How deep the JSON in ``text`` nests (brackets outside strings), without decoding it."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()
        if char in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}]":
            depth = max(depth - 1, 0)
    return deepest
