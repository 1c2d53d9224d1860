"""How reliable are the blind sets' labels? Two more readers' labels against the writers', and the model's.

`tests/data/blind/second_readers.jsonl` holds the labels two readers gave, apart, to the tickets of
some blind sets (they saw only the labeling rule and the tickets: no labels, no repository, not each
other). Prints, per set: category agreement of each reader with the writer and with each other,
urgency within one level, the same escalation decision, and, for the local classifier's category
misses, whom each reader sided with. Asserts nothing.

    .venv/bin/python bench/label_agreement.py
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.setdefault("DEBUG", "1")

from triage.local_models.classifier import classify  # noqa: E402
from triage.local_models.store import load_dataset  # noqa: E402

BLIND = ROOT / "tests/data/blind"


def main() -> None:
    readers: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    for line in (BLIND / "second_readers.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            readers[row["reader"]][row["id"]] = row
    names = sorted(readers)
    sets = sorted({i.split("-")[0] for reader in readers.values() for i in reader}, key=lambda s: int(s[1:]))
    print(f"readers {', '.join(names)}; category agreement with the writer, urgency ±1, same escalation")
    for prefix in sets:
        rows = [
            r for r in load_dataset(BLIND / f"blind_tickets{prefix[1:]}.jsonl") if r.id in readers[names[0]]
        ]
        line = [f"set {prefix[1:]:>2} ({len(rows)}):"]
        misses = [r for r in rows if classify(r.ticket).category != r.category]
        for name in names:
            labels = [readers[name][r.id] for r in rows]
            category = sum(label["category"] == r.category for label, r in zip(labels, rows, strict=True))
            close = sum(
                abs(int(str(label["urgency"])) - r.urgency) <= 1
                for label, r in zip(labels, rows, strict=True)
            )
            same = sum(
                (int(str(label["urgency"])) >= 4) == (r.urgency >= 4)
                for label, r in zip(labels, rows, strict=True)
            )
            with_writer = sum(readers[name][r.id]["category"] == r.category for r in misses)
            n = len(rows)
            line.append(
                f"{name} {category / n:.1%} / {close / n:.1%} / {same / n:.1%}, "
                f"on the model's {len(misses)} misses with the writer {with_writer};"
            )
        if len(names) == 2:
            both = sum(
                readers[names[0]][r.id]["category"] == readers[names[1]][r.id]["category"] for r in rows
            )
            line.append(f"readers agree {both / len(rows):.1%}")
        print(" ".join(line))


if __name__ == "__main__":
    main()
