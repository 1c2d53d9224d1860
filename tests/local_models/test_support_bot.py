"""The local support bot: FAQ answers when it knows them, an honest apology when it doesn't."""

from __future__ import annotations

import json

import pytest

from triage.local_models.registry import get_local_model, local_model_serves
from triage.local_models.support_bot import SupportBot


def chat(question: str, task: str | None = None) -> str:
    messages = [
        {"role": "system", "content": "You are a helpful customer support assistant."},
        {"role": "user", "content": question},
    ]
    return SupportBot().reply(messages, task=task)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What are your support hours?", "Monday to Friday"),
        ("What payment methods do you accept?", "credit and debit cards"),
        ("How do I reset my password?", "Forgot password"),
        ("Where can I find my invoice?", "Invoices"),
        ("Do you offer refunds?", "refund"),
        ("How do I add a teammate to my account?", "Invite"),
        ("Is there a free trial?", "14-day free trial"),
        ("How do I change my email address?", "Profile"),
        ("where do i download the mobile app", "App Store"),
    ],
)
def test_faq_questions_get_the_faq_answer(question: str, expected: str) -> None:
    assert expected in chat(question, task="general_faq")


@pytest.mark.parametrize(
    ("question", "task"),
    [
        (
            "My Kubernetes pod keeps crashing with OOMKilled errors after I scaled up",
            "technical_troubleshooting",
        ),
        ("I was charged twice for my subscription this month. Can you explain why?", "billing_support"),
        ("Deploy fails with exit code 137", None),
    ],
)
def test_other_questions_get_an_apology_and_a_human_follow_up(question: str, task: str | None) -> None:
    answer = chat(question, task=task)
    assert "sorry" in answer.lower()
    assert "will follow up" in answer


def test_apology_names_the_specifics_it_understood() -> None:
    answer = chat("Why was invoice INV-7781 charged twice?", task="billing_support")
    assert "INV-7781" in answer and "billing team" in answer


def test_answer_is_plain_text_not_json() -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(chat("What are your support hours?"))


def test_serves_the_routers_fallback_requests_but_refuses_triage_tasks() -> None:
    bot = get_local_model("local/support-bot")
    assert bot is not None
    assert local_model_serves(bot, None)
    assert local_model_serves(bot, "general_faq")
    with pytest.raises(ValueError):
        chat("How do I reset my password?", task="classify_ticket")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("when can I reach support?", "Monday to Friday"),
        ("can i get my money back", "refund"),
        ("How can I cancel my plan?", "Cancel plan"),
        ("do you have an iphone app", "App Store"),
    ],
)
def test_reworded_faq_questions_still_match(question: str, expected: str) -> None:
    assert expected in chat(question, task="general_faq")


@pytest.mark.parametrize(
    "question",
    [
        "Why is my invoice higher than last month?",
        "The VAT on my invoice is wrong",
        "Can I get a credit for the outage last week?",
        "I cancelled but you still billed me",
    ],
)
def test_problems_that_resemble_a_faq_are_not_answered_with_it(question: str) -> None:
    assert "will follow up" in chat(question, task="billing_support")
