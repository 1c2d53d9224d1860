"""Benchmark of the masking of customer data (``triage.privacy.masking``).

Run: ``.venv/bin/python bench/masking.py`` (``--quick`` skips the 64 KB inputs and the seeded-set part
of the local-tier check). Prints, for the development seed and the held-out seed of
``tests/privacy/masking_data.py``: per kind planted, found and recall with a 95% Wilson interval;
precision; decoys that survived; milliseconds per ticket (subject then body with the subject's
placeholders, as the pipeline masks them). Then the time for 64 KB bodies of the shapes a quadratic
pattern chokes on; what is found in the repository's hand-written ticket sets (no ground truth: to
read); the module's import cost; and whether the local tier's triage decision (category, urgency
score) is the same on masked text as on raw text: the article's sample tickets
(``triage/fixtures/sample_tickets.json``), the same with customer details added, and the seeded set.
The last column there compares masked text with the values replaced by one neutral word, which
separates what removing the values changes from what the placeholders' words change.

The local models load from their cache (``TRIAGE_LOCAL_MODELS_DIR`` or ``<TRIAGE_DATA_DIR>/local_models``);
with none there they are trained first, which takes a while.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import percentile  # noqa: E402 - after the path is set
from tests.privacy.masking_data import (  # noqa: E402
    DEV_SEED,
    HELD_OUT_SEED,
    KINDS,
    SeededTicket,
    customer_details,
    evaluate,
    generate,
)
from triage.privacy.masking import find_sensitive, mask_text, unmask_text  # noqa: E402

BARS = {"CARD": 0.98, "IBAN": 0.98, "EMAIL": 0.98, "PHONE": 0.98, "SECRET": 0.90}


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mask_ticket(ticket: SeededTicket) -> None:
    subject = mask_text(ticket.subject)
    mask_text(ticket.body, existing=subject.replacements)


def quality(label: str, seed: int) -> list[SeededTicket]:
    tickets = generate(seed)
    result = evaluate(tickets, find_sensitive)
    words = [float(len(f"{t.subject} {t.body}".split())) for t in tickets]
    print(f"\n== {label} (seed {seed}): {len(tickets)} tickets, {percentile(words, 50):.0f} words (median)")
    print(f"{'kind':16} {'planted':>7} {'found':>6} {'recall':>7}  {'95% Wilson':>15}  {'bar':>5}  precision")
    for kind in KINDS:
        low, high = wilson(result.found[kind], result.planted[kind])
        kind_precision = (
            result.correct[kind] / result.findings[kind] if result.findings[kind] else float("nan")
        )
        bar = f"{BARS[kind]:.2f}" if kind in BARS else "  -  "
        print(
            f"{kind:16} {result.planted[kind]:7d} {result.found[kind]:6d} {result.recall(kind):7.3f}  "
            f"[{low:.3f}, {high:.3f}]  {bar:>5}  {kind_precision:.4f}"
        )
    total_findings = sum(result.findings.values())
    total_correct = sum(result.correct.values())
    low, high = wilson(total_correct, total_findings)
    print(
        f"precision (all findings): {total_correct}/{total_findings} = {result.precision:.4f} [{low:.4f}, {high:.4f}]"
    )
    low, high = wilson(result.decoys_survived, result.decoys)
    print(
        f"decoys survived: {result.decoys_survived}/{result.decoys} = {result.decoy_survival:.4f} "
        f"[{low:.4f}, {high:.4f}]"
    )
    for kind, value, context in result.misses[:5]:
        print(f"  miss {kind}: {value!r} in {context!r}")
    for kind, value, context in result.false_positives[:5]:
        print(f"  false positive {kind}: {value!r} in {context!r}")
    for kind, value, context in result.broken_decoys[:5]:
        print(f"  broken decoy ({kind}): {value!r} in {context!r}")
    round_trips = sum(
        unmask_text(m.text, m.replacements) == t.body for t in tickets for m in [mask_text(t.body)]
    )
    print(f"round trip (body): {round_trips}/{len(tickets)}")
    timing(tickets)
    return tickets


def timing(tickets: list[SeededTicket]) -> None:
    """Milliseconds per ticket (subject + body). Each ticket is masked three times and the fastest
    counts, so a burst of another process on this shared machine doesn't read as the masker's cost;
    the single first pass is printed too."""
    for ticket in tickets[:20]:
        mask_ticket(ticket)
    first: list[float] = []
    best: list[float] = []
    for ticket in tickets:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            mask_ticket(ticket)
            runs.append((time.perf_counter() - started) * 1000)
        first.append(runs[0])
        best.append(min(runs))
    for name, values in (("best of 3", best), ("single pass", first)):
        print(
            f"ms per ticket ({name}): p50 {percentile(values, 50):.3f}  p95 {percentile(values, 95):.3f}  "
            f"max {max(values):.3f}  (bar: p95 <= 2 ms)"
        )


def worst_cases() -> None:
    rng = random.Random(1)
    cases = {
        "digits": "1" * 65536,
        "digits and spaces": "1 " * 32768,
        "digit groups": "1234 " * 13107,
        "letters": "a" * 65536,
        "'a@' repeated": "a@" * 32768,
        "local part, no domain": "a" * 65000 + "@",
        "hex": "".join(rng.choice("0123456789abcdef") for _ in range(65536)),
        "'token: ' repeated": "token: " * 9362,
        "'password: x1 ' repeated": "password: x1 " * 5041,
        "URL with 6500 params": "https://a.com/?" + "token=abc&" * 6500,
        "'DE89 ' repeated": "DE89 " * 13107,
        "'(1) ' repeated": "(1) " * 16384,
        "3000 phone numbers": "Tel: +49 30 1234567, " * 3000,
        "seeded tickets": "\n\n".join(t.body for t in generate(DEV_SEED))[:65536],
    }
    print("\n== 64 KB bodies (one pass each)")
    for name, text in cases.items():
        started = time.perf_counter()
        masked = mask_text(text)
        elapsed = (time.perf_counter() - started) * 1000
        print(f"{name:26} {len(text):6d} chars {elapsed:8.1f} ms  {masked.total} distinct values")


FOOTPRINT = """
import time
from pathlib import Path
def rss():
    return next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
                if l.startswith("VmRSS:")) / 1024
before = rss(); started = time.perf_counter()
from triage.privacy.masking import mask_text
imported = time.perf_counter()
mask_text("Call +44 20 7946 0958, IBAN DE89 3704 0044 0532 0130 00, a@b.example.com, SSN 123-45-6789")
print(f"{(imported - started) * 1000:.0f} {(time.perf_counter() - imported) * 1000:.1f} {rss() - before:.1f}")
"""


def footprint() -> None:
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", FOOTPRINT], capture_output=True, text=True, cwd=root, check=True
    ).stdout.split()
    print(f"\n== footprint: import {out[0]} ms, first call {out[1]} ms, +{out[2]} MB RSS (fresh interpreter)")


def local_tier(samples: list[SeededTicket] | None) -> None:
    import django

    django.setup()
    from triage.local_models.registry import get_local_model
    from triage.presets import LOCAL_MODELS, ROUTERS, SAMPLE_TICKETS
    from triage.ticket_text import TicketText, ticket_message

    prompts = {
        str(t["name"]): str(t["system_prompt"]) for t in cast(list[dict[str, Any]], ROUTERS[0]["tasks"])
    }
    categories = "billing, bug, how-to, account, feature-request, other"

    def ask(task: str, user: str) -> dict[str, Any]:
        model = get_local_model(LOCAL_MODELS[task])
        assert model is not None
        system = prompts[task].replace("{categories}", categories)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return cast(dict[str, Any], json.loads(model.reply(messages, task=task)))

    def decision(user: str) -> tuple[str, int]:
        return str(ask("classify_ticket", user)["category"]), int(ask("urgency_detection", user)["score"])

    def redacted(text: str) -> str:
        """Each value replaced by one neutral word: what masking removes, without the placeholders."""
        for finding in reversed(find_sensitive(text)):
            text = text[: finding.start] + "redacted" + text[finding.end :]
        return text

    def compare(name: str, tickets: list[tuple[str, str, str]], show: int = 5) -> None:
        same_category = same_urgency = same_both = same_as_redacted = 0
        shown = 0
        for subject, body, tier in tickets:
            user = ticket_message(TicketText(subject=subject, body=body, customer_tier=tier))
            masked = mask_text(user).text  # what a remote model is sent: the ticket message, masked
            raw_decision, masked_decision = decision(user), decision(masked)
            same_category += raw_decision[0] == masked_decision[0]
            same_urgency += raw_decision[1] == masked_decision[1]
            same_both += raw_decision == masked_decision
            same_as_redacted += masked_decision == decision(redacted(user))
            if shown < show:
                shown += 1
                flag = "same" if raw_decision == masked_decision else "CHANGED"
                print(f"  {flag:7} raw {raw_decision} masked {masked_decision}  {subject[:50]!r}")
        n = len(tickets)
        print(
            f"{name}: {n} tickets; category unchanged {same_category}/{n}, urgency score unchanged "
            f"{same_urgency}/{n}, both {same_both}/{n} = {same_both / n:.1%} (target >= 95%); "
            f"masked = values replaced by one neutral word: {same_as_redacted}/{n}"
        )

    print("\n== local tier: decision on raw vs masked text")
    started = time.perf_counter()
    decision("Subject: Warm-up\n\nThe dashboard shows an error.")
    print(f"(local models loaded in {time.perf_counter() - started:.1f} s)")
    plain = [(t["subject"], t["body"], t.get("customer_tier", "")) for t in SAMPLE_TICKETS]
    compare("article sample tickets as written (no customer data in them)", plain, show=len(plain))
    rng = random.Random(DEV_SEED)
    with_details = []
    for subject, body, tier in plain:
        for _ in range(10):
            details, _planted = customer_details(rng, "en", n_items=rng.randint(2, 4))
            with_details.append((subject, f"{body}\n\n{details}", tier))
    compare("article sample tickets + customer details (10 variants each)", with_details)
    if samples is not None:
        compare("seeded set (dev seed)", [(t.subject, t.body, "") for t in samples])


def hand_written() -> None:
    """The repository's hand-written ticket sets (written for the local tier, not for masking): no
    ground truth for customer data, so this prints what is found, for a person to read."""
    import glob
    from collections import Counter

    root = Path(__file__).resolve().parents[1]
    files = sorted(glob.glob(str(root / "tests/data/blind/*.jsonl"))) + sorted(
        glob.glob(str(root / "triage/local_models/data/*.jsonl"))
    )
    texts = []
    for name in files:
        for line in Path(name).read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            texts += [str(row[key]) for key in ("subject", "body") if isinstance(row, dict) and row.get(key)]
    examples: dict[str, list[str]] = {}
    counts: Counter[str] = Counter()
    for text in texts:
        for finding in find_sensitive(text):
            counts[finding.kind] += 1
            examples.setdefault(finding.kind, []).append(finding.value)
    print(f"\n== hand-written ticket sets: {len(texts)} subjects and bodies, findings {dict(counts)}")
    for kind, values in examples.items():
        print(f"  {kind}: {', '.join(repr(v) for v in values[:6])}")


def main() -> None:
    quick = "--quick" in sys.argv
    dev = quality("development seed", DEV_SEED)
    quality("held-out seed", HELD_OUT_SEED)
    if not quick:
        worst_cases()
    hand_written()
    footprint()
    local_tier(None if quick else dev)


if __name__ == "__main__":
    main()
