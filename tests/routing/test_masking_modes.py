"""The router's masking applied to one request: which messages are masked, what blocks a remote
call, and real values put back into answers, streamed ones split anywhere included."""

from __future__ import annotations

from triage.routing.masking import RequestMasking, StreamRestorer

EMAIL = "ana@example.com.br"
MESSAGES = [
    {"role": "system", "content": "Answer in JSON. Contact: support@ourcompany.example"},
    {"role": "user", "content": f"Write to {EMAIL} please."},
]


def test_only_the_users_messages_are_masked_and_the_values_come_back() -> None:
    masking = RequestMasking("mask", MESSAGES)
    sent = masking.masked_messages()
    assert sent[0] == MESSAGES[0]  # our own system prompt goes as written
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
