"""The blind sets (tests/data/blind) are what bench/local_models.py judges the local tier on: each
must be a real test set, written apart from the training data and from the other sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.local_models.text import CATEGORIES

BLIND = Path(__file__).resolve().parents[1] / "data" / "blind"
TRAINING = Path(__file__).resolve().parents[2] / "triage" / "local_models" / "data"
SETS = sorted(BLIND.glob("**/blind_tickets*.jsonl"))  # unscored/ too: sets written for a next round


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _bodies(paths: list[Path]) -> set[str]:
    """Bodies of 8+ words, whitespace folded (two writers may both write "refund??")."""
    return {
        " ".join(row["body"].split())
        for path in paths
        for row in _rows(path)
        if len(row["body"].split()) >= 8
    }


def test_there_are_fifteen_sets_and_a_rule_written_before_them() -> None:
    assert len(SETS) >= 15 and (BLIND / "RULES.md").exists() and (BLIND / "SCORES.md").exists()


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
def test_each_set_is_labeled_by_the_rule_and_shares_no_ticket_with_training_or_other_sets(path: Path) -> None:
    rows = _rows(path)
    assert len(rows) >= 60 and len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert row["category"] in CATEGORIES and row["urgency"] in range(1, 6) and row["reason"].strip()
        assert row["lang"] in ("en", "de", "fr", "es", "pt", "it", "nl")
    bodies = _bodies([path])
    assert not bodies & _bodies(sorted(TRAINING.glob("*.jsonl")))
    assert not bodies & _bodies([other for other in SETS if other != path])
