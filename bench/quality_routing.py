"""Quality-aware routing on simulated models: does the cascade hold accuracy while most calls stay cheap?

The presets' triage router, its two providers pointed at a local stub whose models answer by a
*profile* over a labeled set (the local models' held-out split, which they never trained on):

- GPT-5 Nano (the cheap first model): wrong on 30% of tickets (a deterministic share); confidence
  partly calibrated: 70% of its wrong answers state a low confidence (0.20-0.55), the rest a high one
  (0.65-0.90); 10% of its right answers state a low one too.
- Claude Haiku 4.5 (behind it in the pool): right on every ticket, confidence 0.9.
- Generated text (customer replies to calm tickets: Nano then Haiku; briefs: Sonnet then Opus): the
  first model's draft is one agents would not send on 15% of tickets (``BENCH_TEXT_BAD_SHARE``),
  stating its confidence as partly calibrated as above; the model behind it is always acceptable.
  Quality is the share of kept drafts agents would accept (the verdicts ``manage.py evaluate`` scores
  the text tasks on), against 100% for the stronger model alone.

Each ticket's classification and urgency go through ``triage.routing.route`` exactly as a worker's
step does (the subtask's parser, temperature and local-model check), once with the presets' cascade
and once with it off. Prints final accuracy (urgency within +-1), the share that reached Haiku, and
the article's cost comparison (300 input tokens; 40/30/150/250 output tokens per task; 20% of tickets
escalated) for the presets against all-Opus (the article's: all four steps on every ticket). No network; a few seconds.

    .venv/bin/python bench/quality_routing.py [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if not os.environ.get("DATABASE_URL"):
    os.environ["TRIAGE_DATA_DIR"] = tempfile.mkdtemp(prefix="triage-quality-")
    os.environ.setdefault("TRIAGE_LOCAL_MODELS_DIR", str(ROOT / "var" / "local_models"))
os.environ["DO_MODEL_ACCESS_KEY"] = "bench-key"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from tests.support.stub_openai import Behaviour, StubOpenAI  # noqa: E402

CHEAP, STRONG = "openai-gpt-5-nano", "anthropic-claude-haiku-4.5"
SONNET, OPUS = "anthropic-claude-sonnet-4.6", "anthropic-claude-opus-4.7"
CATEGORIES = ["billing", "bug", "how-to", "account", "feature-request", "other"]
WRONG_SHARE = 0.30
# generated text: the share of tickets on which the first pool model's draft (Nano's reply, Sonnet's
# brief) is one agents would not send as written; the model behind it is always acceptable
TEXT_BAD_SHARE = float(os.environ.get("BENCH_TEXT_BAD_SHARE", "0.15"))
CLASSIFY, URGENCY, REPLY, BRIEF = (
    "classify_ticket",
    "urgency_detection",
    "draft_customer_reply",
    "escalate_complex_issue",
)
FIRST_MODEL = {CLASSIFY: CHEAP, URGENCY: CHEAP, REPLY: CHEAP, BRIEF: SONNET}


def _fraction(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _task_of(system: str) -> str:
    if '"reply"' in system:
        return REPLY
    if '"summary"' in system:
        return BRIEF
    return CLASSIFY if "category" in system else URGENCY


def draft_acceptable(ticket_id: str, task: str, model: str) -> bool:
    """The simulated agents' verdict on a text answer: the first pool model's is bad on TEXT_BAD_SHARE."""
    return model != FIRST_MODEL[task] or _fraction(ticket_id, task, "bad") >= TEXT_BAD_SHARE


class ProfiledModels(StubOpenAI):
    """Answers by the labeled ticket found in the request: the cheap profile or the strong one."""

    def __init__(self, labels: dict[str, Any]) -> None:
        super().__init__()
        self.labels = labels

    def respond(self, model: str, body: dict[str, Any]) -> Behaviour:
        user = body["messages"][-1]["content"]
        system = body["messages"][0]["content"] if len(body["messages"]) > 1 else ""
        row = self.labels[_key(user)]
        task = _task_of(system)
        if task in (REPLY, BRIEF):
            good = draft_acceptable(row.id, task, model)
            first = model == FIRST_MODEL[task]
            confidence = _confidence(row.id, task, good) if first else 0.9
            text = f"Draft for {row.id} by {model}."
            key = "reply" if task == REPLY else "summary"
            return Behaviour(
                content=json.dumps({key: text, "confidence": confidence}),
                prompt_tokens=300,
                completion_tokens=150 if task == REPLY else 250,
            )
        right = model == STRONG or _fraction(row.id, task, "wrong") >= WRONG_SHARE
        confidence = 0.9 if model == STRONG else _confidence(row.id, task, right)
        if task == CLASSIFY:
            category = row.category if right else _other_category(row.id, row.category)
            answer: dict[str, Any] = {"category": category, "confidence": confidence}
        else:
            score = row.urgency if right else (row.urgency + 2 if row.urgency <= 3 else row.urgency - 2)
            answer = {
                "score": score,
                "sentiment": "calm",
                "escalation_risk": False,
                "reason": "-",
                "confidence": confidence,
            }
        return Behaviour(content=json.dumps(answer), prompt_tokens=300, completion_tokens=40)


def _confidence(ticket_id: str, task: str, right: bool) -> float:
    draw = _fraction(ticket_id, task, "confidence")
    low = 0.20 + 0.35 * _fraction(ticket_id, task, "low")
    high = 0.65 + 0.25 * _fraction(ticket_id, task, "high")
    if right:
        return low if draw < 0.10 else max(high, 0.7)
    return low if draw < 0.70 else high


def _other_category(ticket_id: str, category: str) -> str:
    others = [c for c in CATEGORIES if c != category]
    return others[int(_fraction(ticket_id, "other") * len(others))]


def _key(user_message: str) -> str:
    return re.sub(r"\s+", " ", user_message).strip()[:400]


# what each task is scored on, which tickets it runs on, and the model behind the first one
SCORED = {
    CLASSIFY: ("category", lambda row: True, STRONG),
    URGENCY: ("urgency +-1", lambda row: True, STRONG),
    REPLY: ("calm replies accepted", lambda row: row.urgency <= 3, STRONG),
    BRIEF: ("briefs accepted", lambda row: row.urgency >= 4, OPUS),
}


def run(rows: list[Any], cascade: bool) -> dict[str, Any]:
    from triage.models import ModelCall, Router, RouterTask, Ticket
    from triage.pipeline.subtasks import SUBTASKS, local_opinion_check, subtask_messages
    from triage.routing import config_bump_version, route

    RouterTask.objects.filter(router__name="triage-router", name__in=list(SCORED)).update(
        cascade_enabled=cascade
    )
    config_bump_version()
    router = Router.objects.get(name="triage-router")
    prompts = dict(router.tasks.values_list("name", "system_prompt"))
    before = ModelCall.objects.count()
    right = dict.fromkeys(SCORED, 0)
    asked = dict.fromkeys(SCORED, 0)
    for row in rows:
        ticket = Ticket(subject=row.subject, body=row.body, customer_tier=row.customer_tier)
        for name, (_, wanted, _) in SCORED.items():
            if not wanted(row):
                continue
            asked[name] += 1
            subtask = SUBTASKS[name]
            messages = subtask_messages(system_prompt=prompts[name], router=router, ticket=ticket)
            result = route(
                router,
                messages,
                task=name,
                validator=lambda text, s=subtask: s.parse(text, router),
                json_mode=True,
                max_tokens=subtask.max_tokens,
                temperature=subtask.temperature,
                local_check=local_opinion_check(subtask, messages, router),
                urgency=row.urgency if name == REPLY else None,  # the tiered pool serves by urgency
            )
            if name == CLASSIFY:
                right[name] += result.parsed["category"] == row.category
            elif name == URGENCY:
                right[name] += abs(int(result.parsed["score"]) - row.urgency) <= 1
            else:
                right[name] += draft_acceptable(row.id, name, result.served_by)
    calls = ModelCall.objects.order_by("id")[before:]
    later = {name: SCORED[name][2] for name in SCORED}
    strong = {
        name: sum(1 for c in calls if c.model_slug == later[name] and c.task_name == name) for name in SCORED
    }
    return {
        name: {
            "accuracy": right[name] / asked[name],
            "strong_share": strong[name] / asked[name],
            "n": asked[name],
        }
        for name in SCORED
    }


def article_costs(strong_share: dict[str, float]) -> tuple[Decimal, Decimal]:
    """Per ticket on the article's mix: the presets (with the cascades' measured escalation) and all-Opus."""
    from triage.models import LLMModel

    prices = {m.slug: (m.input_price_per_m, m.output_price_per_m) for m in LLMModel.objects.all()}

    def cost(slug: str, out: int, reasoning: int = 0) -> Decimal:
        price_in, price_out = prices[slug]
        return (300 * price_in + (out + reasoning) * price_out) / Decimal(1_000_000)

    def share(task: str) -> Decimal:
        return Decimal(str(strong_share[task]))

    escalated = Decimal("0.2")
    nano_reasoning = 32  # minimal effort: a few dozen hidden tokens (an estimate)
    ours = (
        cost(CHEAP, 40, nano_reasoning) + share(CLASSIFY) * cost(STRONG, 40)
        + cost(CHEAP, 30, nano_reasoning) + share(URGENCY) * cost(STRONG, 30)
        # replies: calm tickets Nano, then Haiku when the cascade doubts; urgent ones Sonnet
        + (1 - escalated) * (cost(CHEAP, 150, nano_reasoning) + share(REPLY) * cost(STRONG, 150))
        + escalated * cost(SONNET, 150)
        # briefs (escalated tickets): Sonnet, then Opus when the cascade doubts
        + escalated * (cost(SONNET, 250) + share(BRIEF) * cost(OPUS, 250))
    )  # fmt: skip
    # the article's "hardcoded Opus for everything": all four steps on every ticket ($1,775 per 100k)
    all_opus = cost(OPUS, 40) + cost(OPUS, 30) + cost(OPUS, 150) + cost(OPUS, 250)
    return ours, all_opus


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=0, help="tickets of the held-out split (default: all)")
    args = parser.parse_args()

    from triage.local_models.store import load_dataset, split
    from triage.models import Provider
    from triage.routing import config_bump_version

    call_command("migrate", verbosity=0)
    call_command("load_presets", verbosity=0)
    _, held_out = split(load_dataset())
    rows = held_out[: args.limit] if args.limit else held_out
    from triage.ticket_text import TicketText, ticket_message

    labels = {_key(ticket_message(TicketText(r.subject, r.body, r.customer_tier))): r for r in rows}
    stub = ProfiledModels(labels).start()
    try:
        Provider.objects.filter(kind="openai").update(base_url=stub.base_url)
        config_bump_version()
        without = run(rows, cascade=False)
        with_cascade = run(rows, cascade=True)
    finally:
        stub.stop()

    print(
        f"{len(rows)} labeled tickets (held-out split); cheap model wrong on {WRONG_SHARE:.0%} of labels; "
        f"first text model's draft unacceptable on {TEXT_BAD_SHARE:.0%}"
    )
    print(f"{'':40}{'quality':>10}{'reached next':>14}{'n':>6}")
    for name, (label, _, _) in SCORED.items():
        for title, figures in (("first model alone", without[name]), ("presets cascade", with_cascade[name])):
            print(
                f"{label + ', ' + title:40}{figures['accuracy']:>10.1%}{figures['strong_share']:>14.1%}"
                f"{figures['n']:>6}"
            )
    print("(the model behind the first is right/acceptable on every ticket: 100% alone)")
    ours, all_opus = article_costs({k: v["strong_share"] for k, v in with_cascade.items()})
    print(
        f"article mix per ticket: presets ${ours:.6f} vs all-Opus ${all_opus:.6f} "
        f"({1 - ours / all_opus:.1%} below; per 100k tickets ${ours * 100_000:.0f} vs ${all_opus * 100_000:.0f})"
    )
    print(
        "targets: accuracy >= 95% with <= 45% reaching the stronger model; text quality >= 95% of the "
        "stronger model's; >= 85% below all-Opus"
    )
    seconds, candidates = evaluate_stored(1000)
    print(
        f"evaluate on 1,000 stored tickets: {seconds:.2f} s for {candidates} candidates, no network (target < 10 s)"
    )


def evaluate_stored(count: int) -> tuple[float, int]:
    """``manage.py evaluate``'s replay over ``count`` stored, labeled tickets (the test fixture's)."""
    import time

    from tests.services.evaluation_data import make_eval_router, make_labeled_tickets
    from triage.local_models.store import trained_models
    from triage.services.evaluation import replay_prepare

    trained_models()
    router = make_eval_router(local=True)
    make_labeled_tickets(router, count)
    started = time.perf_counter()
    evaluation = replay_prepare(router=router, task_name="classify_ticket").evaluate()
    return time.perf_counter() - started, len(evaluation.candidates)


if __name__ == "__main__":
    main()
