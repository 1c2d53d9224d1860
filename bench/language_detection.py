"""py3langid against lingua-language-detector on short ticket texts: accuracy, time per call, memory.

Run: ``.venv/bin/python bench/language_detection.py [FILE.jsonl ...]``. Reads labeled tickets (a
``lang`` field; default: the shipped training data) and cuts each to its first 3, 5 and 8 words
and to its full text, since the hard case for a detector is the short ticket. py3langid is a
dependency; lingua is measured only when installed (``pip install lingua-language-detector``; it
is not in requirements.txt), in its high-accuracy mode over all its languages and in its
low-accuracy mode. Memory is each detector's resident-set growth in a fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILES = [ROOT / "triage" / "local_models" / "data" / "tickets.jsonl"]
CUTS = (3, 5, 8, None)

DETECTOR = """
import json, sys, time
from pathlib import Path

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

kind = sys.argv[1]
texts = json.loads(sys.stdin.read())
before = rss()
started = time.perf_counter()
if kind == "py3langid":
    sys.path.insert(0, sys.argv[2])
    from triage.local_models.language import detect_language
    detect = lambda t: detect_language(t).code
    detect("warm up the model please")
else:
    from lingua import LanguageDetectorBuilder
    builder = LanguageDetectorBuilder.from_all_languages()
    if kind == "lingua-low":
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()
    def detect(t):
        found = detector.detect_language_of(t)
        return found.iso_code_639_1.name.lower() if found else ""
load = time.perf_counter() - started
guesses, timings = [], []
for text in texts:
    t0 = time.perf_counter()
    guesses.append(detect(text))
    timings.append(time.perf_counter() - t0)
print(json.dumps({"guesses": guesses, "timings": timings, "load": load, "rss": rss() - before}))
"""


def load_rows(files: list[Path]) -> list[dict[str, str]]:
    rows = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                rows.append(
                    {
                        "text": f"{raw.get('subject', '')}\n{raw['body']}".strip(),
                        "lang": raw.get("lang", "en"),
                    }
                )
    return rows


def cut(text: str, words: int | None) -> str:
    return text if words is None else " ".join(text.split()[:words])


def run(kind: str, texts: list[str]) -> dict | None:
    done = subprocess.run(
        [sys.executable, "-c", DETECTOR, kind, str(ROOT)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        if "No module named 'lingua'" in done.stderr:
            return None
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout)


def main() -> None:
    files = [Path(a) for a in sys.argv[1:]] or DEFAULT_FILES
    rows = load_rows(files)
    # Every non-English row, and as many English ones, so English doesn't swamp the figure.
    other = [r for r in rows if r["lang"] != "en"]
    english = [r for r in rows if r["lang"] == "en"][: max(len(other), 50)]
    sample = other + english
    print(f"{len(sample)} tickets ({len(other)} not in English) from {', '.join(p.name for p in files)}")
    for kind in ("py3langid", "lingua-low", "lingua"):
        texts = [cut(r["text"], words) for words in CUTS for r in sample]
        started = time.perf_counter()
        result = run(kind, texts)
        if result is None:
            print(f"{kind:<11} not installed (pip install lingua-language-detector to compare)")
            continue
        timings = sorted(result["timings"])
        p50 = timings[len(timings) // 2] * 1000
        p95 = timings[int(len(timings) * 0.95)] * 1000
        parts = []
        for i, words in enumerate(CUTS):
            guesses = result["guesses"][i * len(sample) : (i + 1) * len(sample)]
            right = sum(g == r["lang"] for g, r in zip(guesses, sample, strict=True))
            parts.append(f"{'full' if words is None else f'{words} words'} {right / len(sample):.1%}")
        print(
            f"{kind:<11} {' | '.join(parts)}   p50 {p50:.2f} ms  p95 {p95:.2f} ms  "
            f"load {result['load']:.1f} s  +{result['rss']:.0f} MB  ({time.perf_counter() - started:.0f} s)"
        )
    print('("" = undetermined counts as wrong; py3langid leaves texts under 3 words undetermined)')


if __name__ == "__main__":
    main()
