"""/v1 through a masking router: the provider sees placeholders, the API client gets its own values
back, in a complete answer and in a stream (a placeholder split across chunks included)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import StubOpenAI, answer
from triage.models import Router
from triage.routing import config_bump_version

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "lee.wong@example.org"
QUESTION = f"Please send the invoice copy to {EMAIL}, the old address bounces."
ANSWER = "Done: the invoice copy is on its way to <EMAIL_1>. Reply from <EMAIL_1> if it doesn't arrive."


@pytest.fixture
def masking_router(make_model: Any, make_router: Any, stub_openai: StubOpenAI) -> Any:
    make_model("stub-cheap", input_price="0.05", output_price="0.40")
    stub_openai.set_default("stub-cheap", answer(ANSWER))
    router = make_router("masked-bot", tasks={"general_faq": TaskSpec(pool=["stub-cheap"])})
    Router.objects.filter(pk=router.pk).update(masking="mask")
    config_bump_version()
    return router


@pytest.fixture
def sdk(live_server: Any, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=api_key, max_retries=0)


def test_a_complete_answer_comes_back_with_the_real_values(
    sdk: openai.OpenAI, masking_router: Any, stub_openai: StubOpenAI
) -> None:
    completion = sdk.chat.completions.create(
        model="router:masked-bot",
        messages=[{"role": "user", "content": QUESTION}],
        extra_body={"task": "general_faq"},
    )
    assert completion.choices[0].message.content == ANSWER.replace("<EMAIL_1>", EMAIL)
    sent = json.dumps(stub_openai.requests("stub-cheap")[0].body)
    assert EMAIL not in sent and "<EMAIL_1>" in sent


def test_a_streamed_answer_comes_back_with_the_real_values(
    sdk: openai.OpenAI, masking_router: Any, stub_openai: StubOpenAI
) -> None:
    stream = sdk.chat.completions.create(
        model="router:masked-bot",
        messages=[{"role": "user", "content": QUESTION}],
        extra_body={"task": "general_faq"},
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == ANSWER.replace("<EMAIL_1>", EMAIL)
    assert EMAIL not in json.dumps(stub_openai.requests("stub-cheap")[0].body)
