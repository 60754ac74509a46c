"""The gate of issue 3: at least 98% of the sensitive phrases refused and at most 2% of the ordinary ones.

dev.tsv was written before the lexicon and used to tune it; heldout.tsv after the lexicon was frozen
(commit 22c687d) and heldout2.tsv after the fixes that followed (commit 4f69717) — neither was used for
tuning. The figures are printed (pytest -s) with every miss."""

from __future__ import annotations

import pytest

from guardrails.checker import check_text
from tests.guardrails.conftest import read_corpus

ALL = ("dev.tsv", "heldout.tsv", "heldout2.tsv")
HELD_OUT = ("heldout.tsv", "heldout2.tsv")


def _score(rows):
    sensitive = [t for _, label, t in rows if label == "S"]
    ordinary = [t for _, label, t in rows if label == "O"]
    missed = [t for t in sensitive if not check_text(t)]
    wrongly = [(t, [f.message for f in check_text(t)]) for t in ordinary if check_text(t)]
    return sensitive, ordinary, missed, wrongly


def _report(title, sensitive, ordinary, missed, wrongly) -> tuple[float, float]:
    refused = 1 - len(missed) / len(sensitive)
    false_refusals = len(wrongly) / len(ordinary)
    print(f"\n{title}: {len(sensitive) - len(missed)}/{len(sensitive)} sensitive refused ({refused:.1%}); "
          f"{len(wrongly)}/{len(ordinary)} ordinary refused ({false_refusals:.1%})")
    for t in missed:
        print(f"  MISSED  {t}")
    for t, why in wrongly:
        print(f"  REFUSED {t}  <- {why}")
    return refused, false_refusals


def test_the_corpus_is_big_enough_and_balanced():
    rows = read_corpus(*ALL)
    sensitive = sum(1 for _, label, _ in rows if label == "S")
    assert len(rows) >= 300
    assert abs(sensitive - (len(rows) - sensitive)) <= len(rows) * 0.05
    assert len({t for _, _, t in rows}) == len(rows), "no phrase twice"
    assert len(read_corpus(*HELD_OUT)) >= len(rows) / 3


@pytest.mark.parametrize("names,title", [(ALL, "full corpus"), (HELD_OUT, "held-out corpus")])
def test_gate(lexicon, names, title):
    refused, false_refusals = _report(title, *_score(read_corpus(*names)))
    assert refused >= 0.98
    assert false_refusals <= 0.02


def test_every_sensitive_phrase_is_refused_with_a_reason(lexicon):
    for _, label, text in read_corpus(*ALL):
        if label == "S":
            for f in check_text(text):
                assert f.phrase and f.phrase in text
                assert f.message.startswith(f'"{f.phrase}" describes a person by ')
