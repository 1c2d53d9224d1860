"""Strict parsers for model output. Every model output is untrusted.

Each parser reads only its own fields, bounds every string, and raises ``InvalidOutput`` for output
it can't accept, so the routing service tries the next model. Pure functions: no database, no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

from triage.input_policy import json_has_control_characters, json_nesting_depth

CONFIDENCE_WORDS = {"high": 0.9, "medium": 0.6, "low": 0.3}
MAX_REPLY_SENTENCES = 4
MAX_REPLY_CHARS = 1500
MAX_FIELD_CHARS = 2000
# Bounds checked before any decoding: the longest answer a subtask needs is a few KB, and no
# subtask's JSON nests deeper than 2 (the brief's list of next steps).
MAX_OUTPUT_CHARS = 50_000
MAX_JSON_DEPTH = 16
MAX_JSON_STARTS = 20  # where to try decoding a JSON object in prose: the first 20 '{'


class InvalidOutput(ValueError):
    """The model answered, but not with something this subtask can use."""


_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def check_output_bounds(text: str) -> None:
    """Refuse output no subtask needs before decoding it: too long, nested too deep (a hostile answer
    100,000 levels deep would crash the decoder with RecursionError), or with control characters."""
    if len(text) > MAX_OUTPUT_CHARS:
        raise InvalidOutput(f"the output is {len(text)} characters long (at most {MAX_OUTPUT_CHARS})")
    deepest = json_nesting_depth(text)
    if deepest > MAX_JSON_DEPTH:
        raise InvalidOutput(f"the output nests {deepest} levels deep (at most {MAX_JSON_DEPTH})")
    if json_has_control_characters(text):  # NUL can't be stored; the others hide text from agents
        raise InvalidOutput("the output has control characters")


def extract_json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``: bare, inside a code fence, or surrounded by prose."""
    check_output_bounds(text)
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    decoder = json.JSONDecoder()
    for attempt, match in enumerate(re.finditer(r"\{", stripped)):
        if attempt >= MAX_JSON_STARTS:
            break
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
        except (ValueError, RecursionError):  # JSONDecodeError, or an integer over Python's digit limit
            continue
        if isinstance(value, dict):
            return value
    raise InvalidOutput("no JSON object in the output")


def _json_or_none(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text`` if there is one; None for plain-text answers."""
    if "{" not in text:
        return None
    try:
        return extract_json_object(text)
    except InvalidOutput:
        return None


def _clean_text(value: Any, *, limit: int = MAX_FIELD_CHARS) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise InvalidOutput(f"expected text, got {type(value).__name__}")
    return " ".join(str(value).split())[:limit]


# --- classify_ticket ------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s_]+")


def _normalise_label(label: str) -> str:
    return _SEPARATORS.sub("-", label.strip().strip(".!\"'`*").lower())


def parse_category(text: str, categories: list[str]) -> dict[str, Any]:
    """``{"category": one of categories, "confidence": 0-1 or None}``; a label outside the list fails."""
    check_output_bounds(text)
    data = _json_or_none(text)
    if data is not None:
        raw_label = data.get("category")
        if not isinstance(raw_label, str):
            raise InvalidOutput("no category in the output")
        confidence = _parse_confidence(data.get("confidence"))
    else:
        words = text.strip().splitlines()
        raw_label = words[0] if words else ""
        confidence = None
    label = _normalise_label(raw_label)
    if label not in categories:
        raise InvalidOutput(f"category {label[:40]!r} is not one of {', '.join(categories)}")
    return {"category": label, "confidence": confidence}


def _parse_confidence(value: Any) -> float | None:
    if isinstance(value, str) and value.strip().lower() in CONFIDENCE_WORDS:
        return CONFIDENCE_WORDS[value.strip().lower()]
    return _parse_share(value)


def _parse_share(value: Any) -> float | None:
    """A number between 0 and 1 (a percentage is read as one), else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer of 400 digits
        return None
    if number > 1 and number <= 100:  # a percentage
        number /= 100
    return round(number, 3) if 0 <= number <= 1 else None


# --- urgency_detection ----------------------------------------------------------------------

_SCORE_TEXT = re.compile(r"score\s*[:=]\s*(\d+)", re.IGNORECASE)
_SENTIMENT_TEXT = re.compile(r"sentiment\s*[:=]\s*([A-Za-z-]+)", re.IGNORECASE)
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0", ""}


def parse_urgency(text: str) -> dict[str, Any]:
    """``{"score": 1-5, "sentiment", "escalation_risk", "reason", "confidence"}`` from JSON or 'score: N,
    sentiment: X', plus ``"escalation_probability"`` (0-1) when the model states a usable one (the
    local urgency scorer does)."""
    check_output_bounds(text)
    data = _json_or_none(text) or {}
    confidence = probability = None
    if "score" in data:
        score = _parse_score(data["score"])
        sentiment = _clean_text(data.get("sentiment"), limit=40).lower() or "unknown"
        risk = _parse_bool(data.get("escalation_risk"))
        reason = _clean_text(data.get("reason"), limit=500)
        confidence = _parse_confidence(data.get("confidence"))
        probability = _parse_share(data.get("escalation_probability"))
    else:
        match = _SCORE_TEXT.search(text)
        if not match:
            raise InvalidOutput("no urgency score in the output")
        score = _parse_score(match.group(1))
        sentiment_match = _SENTIMENT_TEXT.search(text)
        sentiment = sentiment_match.group(1).lower() if sentiment_match else "unknown"
        risk, reason = False, ""
    parsed = {
        "score": score,
        "sentiment": sentiment,
        "escalation_risk": risk,
        "reason": reason,
        "confidence": confidence,
    }
    if probability is not None:
        parsed["escalation_probability"] = probability
    return parsed


def _parse_score(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidOutput("urgency score is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidOutput(f"urgency score {str(value)[:20]!r} is not a number") from None
    if not number.is_integer() or not 1 <= number <= 5:
        raise InvalidOutput(f"urgency score {number:g} is not an integer from 1 to 5")
    return int(number)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidOutput(f"escalation_risk {lowered[:20]!r} is not true or false")


# --- draft_customer_reply -------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"\[[^\]\n]{1,40}\]|\{\{[^}]*\}\}|\{[a-z_ ]{1,30}\}|<(?:name|customer|agent|company)[^>]{0,20}>|\bXXX+\b",
    re.IGNORECASE,
)
# Claims of actions nobody has taken: the draft goes to a customer before a human approves it.
_FALSE_PROMISE = re.compile(
    r"\b(?:we|i)(?:'ve| have)\s+(?:already\s+)?(?:issued|processed|refunded|credited|fixed|resolved|deployed|"
    r"reset|cancelled|canceled|restored)\b"
    r"|\b(?:refund|credit|fix|patch)\s+has\s+(?:already\s+)?been\s+(?:issued|processed|applied|deployed)\b"
    r"|\bhas\s+been\s+(?:refunded|credited|fixed|resolved)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<!\b[A-Za-z])(?<!\be\.g)(?<!\bi\.e)[.!?]+(?=\s|$)")


def count_sentences(text: str) -> int:
    pieces = [p for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    return len(pieces)


def parse_reply(text: str) -> dict[str, Any]:
    """``{"reply": text}``: at most 4 sentences, no placeholders, no claims of actions not taken;
    plus ``"confidence"`` (0-1) when the model states one (the cascade reads it)."""
    check_output_bounds(text)
    data = _json_or_none(text)
    stated: dict[str, Any] = {}
    if data is not None:
        raw = data.get("reply")
        if not isinstance(raw, str):
            raise InvalidOutput("no reply in the output")
        stated = _stated_confidence(data)
    else:
        raw = text
    reply = raw.strip()
    if not reply:
        raise InvalidOutput("the reply is empty")
    if len(reply) > MAX_REPLY_CHARS:
        raise InvalidOutput(f"the reply is {len(reply)} characters long")
    if _PLACEHOLDER.search(reply):
        raise InvalidOutput("the reply has an unfilled placeholder")
    if _FALSE_PROMISE.search(reply):
        raise InvalidOutput("the reply claims an action the team has not taken")
    sentences = count_sentences(reply)
    if sentences > MAX_REPLY_SENTENCES:
        raise InvalidOutput(f"the reply has {sentences} sentences (at most {MAX_REPLY_SENTENCES})")
    return {"reply": reply, **stated}


def _stated_confidence(data: dict[str, Any]) -> dict[str, Any]:
    """``{"confidence": x}`` when the answer states a usable one, else ``{}`` (the result keeps the
    shape it had before prompts asked for one)."""
    confidence = _parse_confidence(data.get("confidence"))
    return {} if confidence is None else {"confidence": confidence}


# --- escalate_complex_issue -----------------------------------------------------------------

BRIEF_FIELDS = ("problem", "impact", "evidence", "tried", "ask")


def parse_brief(text: str) -> dict[str, Any]:
    """``{"summary", "problem", "impact", "evidence", "tried", "ask", "next_steps": [...]}``; a field a
    model leaves out (older prompts ask for no "ask") is an empty string; ``"confidence"`` as for
    replies."""
    check_output_bounds(text)
    data = _json_or_none(text)
    if data is not None:
        summary = _clean_text(data.get("summary"))
        brief: dict[str, Any] = {"summary": summary}
        for name in BRIEF_FIELDS:
            brief[name] = _clean_text(data.get(name))
        brief["next_steps"] = _parse_steps(data.get("next_steps"))
        brief.update(_stated_confidence(data))
    else:
        summary = _clean_text(text)
        brief = {"summary": summary, **dict.fromkeys(BRIEF_FIELDS, ""), "next_steps": []}
    if not summary:
        raise InvalidOutput("the brief has no summary")
    return brief


def _parse_steps(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [line.strip(" -*•\t") for line in value.splitlines()]
    if not isinstance(value, list):
        raise InvalidOutput("next_steps is not a list")
    return [_clean_text(step, limit=300) for step in value[:8] if _clean_text(step, limit=300)]
