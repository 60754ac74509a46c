"""Guardrails accuracy on the issue 11 corpus (bench/data/guardrails_corpus): how many sensitive phrases
are refused and how many benign ones are wrongly refused, on the tuned part and on the held-out part.

    .venv/bin/python bench/guardrails_accuracy.py              # figures, per class, and the tuned part's misses
    .venv/bin/python bench/guardrails_accuracy.py --misses heldout   # also list the held-out part's misses

The platform lexicon is compiled straight from guardrails/lexicon/base.json (no database needed), as the
checker does when it falls back to the shipped file. A refusal counts as naming the word when the refused
phrase contains what the user typed (the corpus's `phrase` column: "4sian", "A s i a n", "Indianman").
Exits 1 unless, on each part, ≥ 99% of the sensitive phrases are refused and ≤ 2% of the benign ones.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guardrails import engine  # noqa: E402
from guardrails.base_lexicon import base_entries, load_base  # noqa: E402

CORPUS = ROOT / "bench" / "data" / "guardrails_corpus"
PARTS = ("tune", "heldout", "heldout2")
MIN_REFUSED, MAX_FALSE = 0.99, 0.02


def read_part(name: str) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for line in (CORPUS / f"{name}.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, category, cls, phrase, text = line.split("\t")
            rows.append((label, category, cls, phrase, text))
    return rows


def platform_lexicon() -> engine.Lexicon:
    refs = [engine.EntryRef(None, e["term"], e["category"], e["context"]) for e in base_entries()]
    return engine.Lexicon.compile(refs, engine.Vocabulary.from_mapping(load_base()["vocabulary"]))


def score(lex: engine.Lexicon, rows) -> dict:
    missed, wrongly, unnamed = [], [], []
    by_class: dict[tuple[str, str], Counter] = {}
    for label, category, cls, phrase, text in rows:
        hits = lex.scan(text)
        c = by_class.setdefault((label, cls), Counter())
        c["n"] += 1
        if hits:
            c["refused"] += 1
        if label == "S" and not hits:
            missed.append((category, cls, text))
        elif label == "S" and phrase and not any(phrase in text[h.start:h.end] for h in hits):
            unnamed.append((cls, phrase, [text[h.start:h.end] for h in hits], text))
        elif label == "O" and hits:
            wrongly.append((cls, text, [(text[h.start:h.end], h.entry.term, h.rule) for h in hits]))
    n_s = sum(1 for r in rows if r[0] == "S")
    n_o = len(rows) - n_s
    return {"n_s": n_s, "n_o": n_o, "missed": missed, "wrongly": wrongly, "unnamed": unnamed, "by_class": by_class,
            "refused": 1 - len(missed) / n_s, "false": len(wrongly) / n_o}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", choices=(*PARTS, "all", "none"), default="tune",
                        help="whose misses and false refusals to list (default: the tuned part only)")
    args = parser.parse_args()
    lex = platform_lexicon()
    ok = True
    for part in PARTS:
        s = score(lex, read_part(part))
        print(f"{part}: {s['n_s'] - len(s['missed'])}/{s['n_s']} sensitive refused ({s['refused']:.2%}); "
              f"{len(s['wrongly'])}/{s['n_o']} benign refused ({s['false']:.2%}); "
              f"{len(s['unnamed'])} refusals not naming the typed word")
        for (label, cls), c in sorted(s["by_class"].items()):
            print(f"    {'sensitive' if label == 'S' else 'benign':9} {cls:14} {c['refused']:5}/{c['n']:<5} refused")
        if args.misses in (part, "all"):
            for category, cls, text in s["missed"]:
                print(f"  MISSED  [{category}/{cls}] {text!r}")
            for cls, text, why in s["wrongly"]:
                print(f"  REFUSED [{cls}] {text!r} <- {why}")
            for cls, phrase, got, text in s["unnamed"]:
                print(f"  UNNAMED [{cls}] typed {phrase!r}, message names {got} in {text!r}")
        ok = ok and s["refused"] >= MIN_REFUSED and s["false"] <= MAX_FALSE
    if not ok:
        print(f"FAIL: the gate is ≥ {MIN_REFUSED:.0%} of sensitive phrases refused and ≤ {MAX_FALSE:.0%} of benign ones")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
