"""The router's masking applied to one request: which messages are masked, what blocks a remote
call, and real values put back into answers, streamed ones split anywhere included."""

from __future__ import annotations

from triage.routing.masking import RequestMasking, StreamRestorer

EMAIL = "ana@example.com.br"
MESSAGES = [
    {"role": "system", "content": "Answer in JSON with the fields reply and next_steps."},
    {"role": "user", "content": f"Write to {EMAIL} please."},
]


def test_customer_data_is_masked_and_the_values_come_back() -> None:
    masking = RequestMasking("mask", MESSAGES)
    sent = masking.masked_messages()
    assert sent[0] == MESSAGES[0]  # our prompt holds no customer data: masking leaves it as it is
    assert EMAIL not in sent[1]["content"] and "<EMAIL_1>" in sent[1]["content"]
    assert masking.total == 1 and not masking.blocks_remote()
    answer = {"reply": "We wrote to <EMAIL_1>.", "next_steps": ["call EMAIL_1"], "score": 3}
    assert masking.restore(answer) == {
        "reply": f"We wrote to {EMAIL}.",
        "next_steps": [f"call {EMAIL}"],
        "score": 3,
    }


def test_local_only_if_sensitive_blocks_cards_not_emails() -> None:
    assert not RequestMasking("local_only_if_sensitive", MESSAGES).blocks_remote()
    card = [{"role": "user", "content": "My card 4111 1111 1111 1111 was charged twice."}]
    assert RequestMasking("local_only_if_sensitive", card).blocks_remote()
    assert not RequestMasking("mask", card).blocks_remote()
    assert not RequestMasking("off", card).active


def test_a_placeholder_split_across_stream_chunks_is_restored_whole() -> None:
    restorer = StreamRestorer({"<EMAIL_1>": EMAIL})
    pieces = ["We wrote to <EM", "AIL", "_1", "> today", " and <", "EMAIL_1>", "."]
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == f"We wrote to {EMAIL} today and {EMAIL}."
    lone = StreamRestorer({"<EMAIL_1>": EMAIL})
    assert lone.feed("a < b") + lone.flush() == "a < b"  # a plain "<" is not held for ever


def test_every_form_a_model_writes_is_restored_across_chunk_boundaries() -> None:
    values = {"<EMAIL_1>": "u1@example.org", "<EMAIL_12>": "u12@example.org", "<EMAIL_3>": "u3@example.org"}

    def stream(*pieces: str) -> str:
        restorer = StreamRestorer(values)
        return "".join(restorer.feed(p) for p in pieces) + restorer.flush()

    assert stream("write to EMAIL_1", "2 today") == "write to u12@example.org today"  # not u1 + "2"
    assert stream("&lt;EMAIL_3", "&gt; ok") == "u3@example.org ok"
    assert stream("[EMAIL", "_3] ok") == "u3@example.org ok"
    assert stream("Hello World", ". Thanks A", " lot") == "Hello World. Thanks A lot"


def test_a_v1_clients_system_message_is_masked_too() -> None:
    messages = [{"role": "system", "content": f"The customer is {EMAIL}."}, {"role": "user", "content": "Hi"}]
    sent = RequestMasking("mask", messages).masked_messages()
    assert EMAIL not in sent[0]["content"]
