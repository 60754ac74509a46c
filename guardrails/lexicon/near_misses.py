"""Maintainer's tool (not used at run time): list the real words that the matcher's misspelling rule
would take for a lexicon term, so they can be kept in vocabulary.not_misspellings of base.json.

    python guardrails/lexicon/near_misses.py /usr/share/dict/words   # Debian package wbritish
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from guardrails.base_lexicon import base_entries, load_base  # noqa: E402
from guardrails.engine import EntryRef, Lexicon, Vocabulary, tokenize  # noqa: E402


def main(wordlist: str) -> None:
    base = load_base()
    voc = dict(base["vocabulary"], not_misspellings=[])
    lex = Lexicon.compile([EntryRef(i, e["term"], e["category"], e["context"]) for i, e in enumerate(base_entries())],
                          Vocabulary.from_mapping(voc))
    found = set()
    for line in Path(wordlist).read_text(encoding="utf-8", errors="ignore").splitlines():
        w = line.strip()
        if not w.isalpha():
            continue
        toks = tokenize(w)
        if len(toks) != 1 or toks[0].norm in lex.single:
            continue
        if lex._fuzzy(toks, 0) is not None:
            found.add(toks[0].norm)
    print(sorted(found))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/dict/words")
