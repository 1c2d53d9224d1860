"""The built-in local models: in-process, offline, $0. The last resort of every router.

Their answers are wrapped like a provider's response, with token counts estimated (tiktoken), so
the router accounts for and validates them exactly as it does remote answers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from openai.types.completion_usage import CompletionUsage

from triage.local_models.registry import get_local_model, local_model_serves
from triage.models import CallOutcome
from triage.routing.adapters.base import CallFailure, Completion, Request, Usage
from triage.routing.config import ModelSpec
from triage.routing.tokens import count_prompt_tokens, count_text_tokens


class LocalModels:
    label = "Built-in local models (in-process, offline)"
    always_available = True

    def unavailable(self, model: ModelSpec) -> str | None:
        return (
            None if get_local_model(model.slug) is not None else f"local model {model.slug} is not installed"
        )

    def serves(self, model: ModelSpec, task: str | None) -> bool:
        local = get_local_model(model.slug)
        return local is not None and local_model_serves(local, task)

    def request_shape(self, model: ModelSpec, request: Request, *, streaming: bool) -> str:
        return ""  # in-process: nothing a provider could refuse

    def complete(self, model: ModelSpec, request: Request, *, timeout: float) -> Completion:
        local = get_local_model(model.slug)
        if local is None:
            raise CallFailure(CallOutcome.SKIPPED_UNCONFIGURED, f"local model {model.slug} is not installed")
        try:
            text = local.reply(request.messages, task=request.task)
        except ValueError as error:
            raise CallFailure(
                CallOutcome.SERVER_ERROR, f"local model can't answer: {str(error)[:200]}"
            ) from error
        except Exception as error:
            raise CallFailure(
                CallOutcome.SERVER_ERROR, f"local model failed: {type(error).__name__}: {str(error)[:200]}"
            ) from error
        prompt, completion = count_prompt_tokens(request.messages), count_text_tokens(text)
        raw = ChatCompletion(
            id=f"local-{uuid.uuid4().hex[:16]}",
            object="chat.completion",
            created=int(time.time()),
            model=model.slug,
            choices=[
                Choice(
                    index=0,
                    finish_reason="stop",
                    message=ChatCompletionMessage(role="assistant", content=text),
                )
            ],
            usage=CompletionUsage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            ),
        )
        return Completion(text, Usage(prompt, completion, estimated=True), "stop", raw)

    def stream(
        self, model: ModelSpec, request: Request, *, timeout: float, first_token_timeout: float
    ) -> Iterator[ChatCompletionChunk]:
        """The whole answer as one chunk (the local models answer in milliseconds); no usage chunk,
        so the router estimates the tokens as it does for any provider that reports none."""
        completion = self.complete(model, request, timeout=timeout)
        raw = completion.raw
        delta = ChoiceDelta(role="assistant", content=completion.content)
        yield ChatCompletionChunk(
            id=raw.id,
            object="chat.completion.chunk",
            created=raw.created,
            model=raw.model,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason="stop")],
        )
