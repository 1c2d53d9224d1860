"""A provider simulator: the stub model server with per-model *profiles* of documented provider behaviour.

The plain stub (``stub_openai.py``) accepts any request and answers clean JSON; real providers don't.
Each profile here answers a request the way the provider's documentation says it does, and a test
names the profile of each model it routes to:

- ``openai_reasoning`` (GPT-5 family, o-series). OpenAI's reasoning guide
  (https://platform.openai.com/docs/guides/reasoning) and the Chat Completions reference
  (https://platform.openai.com/docs/api-reference/chat/create): ``max_tokens`` is refused with a 400
  ("Unsupported parameter: 'max_tokens' is not supported with this model. Use
  'max_completion_tokens' instead."); a ``temperature`` other than 1 is refused ("Only the default (1)
  value is supported"); reasoning tokens are spent from ``max_completion_tokens`` before the answer,
  reported in ``usage.completion_tokens_details.reasoning_tokens`` and billed as output
  (``completion_tokens`` includes them); when the budget runs out the answer is cut or empty with
  ``finish_reason: "length"``; ``reasoning_effort`` (minimal / low / medium, the default / high) sets
  how many.
- ``openai_chat`` (GPT-4o mini): takes ``max_tokens`` or ``max_completion_tokens`` and a temperature;
  with ``response_format: json_object`` it answers bare JSON; usage in every answer, and in a stream
  when ``stream_options.include_usage`` asks for it.
- ``anthropic_gateway`` (Claude through an OpenAI-compatible gateway such as DigitalOcean's serverless
  inference, https://docs.digitalocean.com/products/gradientai-platform/how-to/use-serverless-inference/):
  ``response_format`` is not enforced, so the JSON comes in a code fence or after a sentence; a
  prompt prefix seen before is read from the prompt cache and reported in
  ``usage.prompt_tokens_details.cached_tokens`` (Anthropic bills it at a lower price:
  https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching); a temperature above 1 is a 400.
- ``ollama`` (Ollama's and vLLM's OpenAI-compatible servers, https://github.com/ollama/ollama/blob/main/docs/openai.md):
  usage in plain answers; in a stream only when ``stream_options.include_usage`` asks for it.
- ``no_usage``: a self-hosted server that reports no usage at all (the router then estimates, flagged).

The answers themselves are valid for the pipeline's subtasks (read from the system prompt), so a
test can run tickets through a profile and see what the router does with the provider's quirks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tests.support.stub_openai import Behaviour, StubOpenAI, error_status

Profile = Callable[[dict[str, Any], "ProviderSimulator"], Behaviour]

# reasoning tokens a request spends at each effort (OpenAI's default effort is medium)
REASONING_TOKENS = {"minimal": 24, "low": 256, "medium": 1024, "high": 4096}
MAX_TOKENS_REFUSED = (
    "Unsupported parameter: 'max_tokens' is not supported with this model. "
    "Use 'max_completion_tokens' instead."
)


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(tokens(str(m.get("content", ""))) + 4 for m in body.get("messages", []))


def _system(body: dict[str, Any]) -> str:
    return " ".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system")


def _user(body: dict[str, Any]) -> str:
    return " ".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")


URGENT = re.compile(r"\b(down|outage|blocked|urgent|asap|data loss|breach|all users|production)\b", re.I)
CATEGORY_HINTS = {
    "billing": ("invoice", "charge", "refund", "billing", "payment", "price"),
    "bug": ("error", "crash", "broken", "bug", "fails", "down", "500"),
    "account": ("password", "login", "account", "sso", "2fa"),
    "how-to": ("how do i", "how to", "where can"),
    "feature-request": ("feature", "would love", "please add"),
}


def subtask_answer(body: dict[str, Any]) -> dict[str, Any] | str:
    """A correct-looking answer for the pipeline's subtask named by the system prompt."""
    system, user = _system(body), _user(body).lower()
    if "category" in system:
        listed = re.search(r"from this list: ([^.]+)\.", system)
        categories = [c.strip() for c in listed.group(1).split(",")] if listed else list(CATEGORY_HINTS)
        chosen = next(
            (c for c in categories if any(hint in user for hint in CATEGORY_HINTS.get(c, (c,)))),
            categories[-1],
        )
        return {"category": chosen, "confidence": 0.86}
    if '"score"' in system:
        urgent = bool(URGENT.search(user))
        return {
            "score": 5 if urgent else 2,
            "sentiment": "frustrated" if urgent else "calm",
            "escalation_risk": urgent,
            "reason": "service is down for the customer" if urgent else "a routine question",
            "confidence": 0.8,
        }
    if '"reply"' in system:
        return {"reply": "Thanks for telling us. We are looking into it and will update you shortly."}
    if '"summary"' in system:
        return {
            "summary": "The customer reports a problem that needs an engineer.",
            "problem": "See the ticket.",
            "impact": "The customer is blocked.",
            "tried": "Nothing yet.",
            "next_steps": ["Reproduce the issue", "Reply with a status"],
        }
    return "Happy to help: here is what you asked for."


def _text(answer: dict[str, Any] | str) -> str:
    return answer if isinstance(answer, str) else json.dumps(answer)


def _refused(message: str, param: str, code: str) -> Behaviour:
    behaviour = error_status(400, message, "invalid_request_error")
    payload = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return replace(behaviour, body=json.dumps(payload).encode())


# --- the profiles ----------------------------------------------------------------------------------
def openai_reasoning(body: dict[str, Any], sim: ProviderSimulator) -> Behaviour:
    if "max_tokens" in body:
        return _refused(MAX_TOKENS_REFUSED, "max_tokens", "unsupported_parameter")
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        message = (
            f"Unsupported value: 'temperature' does not support {temperature} with this model. "
            "Only the default (1) value is supported."
        )
        return _refused(message, "temperature", "unsupported_value")
    reasoning = REASONING_TOKENS[str(body.get("reasoning_effort") or "medium")]
    answer = _text(subtask_answer(body))
    budget = body.get("max_completion_tokens")
    if budget is not None and reasoning + tokens(answer) > budget:
        spent_on_answer = max(budget - reasoning, 0)
        cut = answer[: spent_on_answer * 4]  # what the budget left for the answer: maybe nothing
        return Behaviour(
            content=cut, prompt_tokens=prompt_tokens(body), completion_tokens=budget,
            reasoning_tokens=min(reasoning, budget), cached_tokens=0, finish_reason="length",
        )  # fmt: skip
    return Behaviour(
        content=answer, prompt_tokens=prompt_tokens(body), completion_tokens=reasoning + tokens(answer),
        reasoning_tokens=reasoning, cached_tokens=0,
    )  # fmt: skip


def openai_chat(body: dict[str, Any], sim: ProviderSimulator) -> Behaviour:
    answer = _text(subtask_answer(body))
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None and tokens(answer) > limit:
        return Behaviour(
            content=answer[: limit * 4], prompt_tokens=prompt_tokens(body), completion_tokens=limit,
            finish_reason="length",
        )  # fmt: skip
    return Behaviour(content=answer, prompt_tokens=prompt_tokens(body), completion_tokens=tokens(answer))


def anthropic_gateway(body: dict[str, Any], sim: ProviderSimulator) -> Behaviour:
    temperature = body.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        return _refused("temperature: range: 0..1", "temperature", "invalid_request_error")
    answer = subtask_answer(body)
    if isinstance(answer, dict):
        sim.answers += 1  # JSON mode is not enforced: fenced one time, after a sentence the next
        text = json.dumps(answer, indent=2)
        content = f"```json\n{text}\n```" if sim.answers % 2 else f"Here is the JSON you asked for:\n{text}"
    else:
        content = answer
    system = _system(body)
    cached = tokens(system) if system and system in sim.seen_prefixes else 0
    sim.seen_prefixes.add(system)
    return Behaviour(
        content=content,
        prompt_tokens=prompt_tokens(body),
        completion_tokens=tokens(content),
        cached_tokens=cached,
    )


def ollama(body: dict[str, Any], sim: ProviderSimulator) -> Behaviour:
    answer = _text(subtask_answer(body))
    return Behaviour(content=answer, prompt_tokens=prompt_tokens(body), completion_tokens=tokens(answer))


def no_usage(body: dict[str, Any], sim: ProviderSimulator) -> Behaviour:
    return Behaviour(content=_text(subtask_answer(body)), include_usage=False)


PROFILES: dict[str, Profile] = {
    "openai_reasoning": openai_reasoning,
    "openai_chat": openai_chat,
    "anthropic_gateway": anthropic_gateway,
    "ollama": ollama,
    "no_usage": no_usage,
}


# the profile each preset model's provider documents (a preset model without one fails a test)
PRESET_PROFILES = {
    "openai-gpt-5-nano": "openai_reasoning",
    "anthropic-claude-haiku-4.5": "anthropic_gateway",
    "anthropic-claude-sonnet-4.6": "anthropic_gateway",
    "anthropic-claude-opus-4.7": "anthropic_gateway",
    "llama3.3-70b-instruct": "ollama",  # served by vLLM behind the gateway: OpenAI-compatible, usage reported
    "gpt-4o-mini": "openai_chat",
}


class ProviderSimulator(StubOpenAI):
    """The stub server; a model given a profile answers by it (a scripted behaviour still wins)."""

    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[str, Profile] = {}
        self.seen_prefixes: set[str] = set()  # the gateway's prompt cache
        self.answers = 0

    def set_profile(self, model: str, profile: str) -> None:
        self.profiles[model] = PROFILES[profile]

    def respond(self, model: str, body: dict[str, Any]) -> Behaviour:
        with self._lock:
            scripted = self._queues.get(model)
            profile = self.profiles.get(model)
        if scripted or profile is None:
            return self.next_behaviour(model)
        with self._lock:
            return profile(body, self)
