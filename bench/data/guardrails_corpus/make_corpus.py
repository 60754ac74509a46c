"""Build the guardrails accuracy corpus (tune.tsv, heldout.tsv) from the hand-written phrases.

    python bench/data/guardrails_corpus/make_corpus.py

sensitive.txt and benign.txt were written by hand, as store staff write, before the engine was changed
for issue 11 and without reading the lexicon. This script adds the evasions of issue 11 to each
sensitive phrase, applied to the [bracketed] word: digits and symbols for letters, letters spaced out,
words run together, zero-width characters, soft hyphens, Cyrillic and Greek look-alike letters,
combining accents (decomposed "Māori"), full-width letters. Each benign phrase also appears in a report
sentence and with one of the same typing accidents, which must not turn it into a refusal.

A fifth of the hand-written phrases (by a hash of the text, with all their variants) is held out:
bench/guardrails_accuracy.py reports it separately and the engine was not tuned on it. sensitive_2.txt
and benign_2.txt were written later (after lexicon version 2, before heldout.tsv's misses were read and
fixed) and are held out whole, as heldout2.tsv. The output is
deterministic; the TSV files are committed so that the figures can be reproduced without this script.

Columns: label (S sensitive, O benign), category (or the benign class), class, phrase, text. `phrase` is
the sensitive word as typed (after the evasion), which the refusal message must name.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELD_OUT_PERCENT = 20

# what someone typing an evasion uses; the engine must not read this table (it folds with a library)
_LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1", "g": "9", "b": "8"}
_LOOKALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і", "y": "у", "A": "А", "E": "Е",
              "O": "О", "P": "Р", "C": "С", "M": "М", "H": "Н", "T": "Т", "K": "К", "B": "В", "s": "ѕ",
              "n": "ո", "u": "υ", "v": "ν", "k": "κ"}
_ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
_SOFT_HYPHEN = "\u00ad"
_FRAMES = ["took {x}", "{x}, left without paying", "stole {x} and ran", "Offender had {x}.", "{x} x2",
           "concealed {x} in a bag", "seen on CCTV with {x}", "{x} - recovered by staff"]


def _seed(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def held_out(text: str) -> bool:
    return _seed("held-out:" + text) % 100 < HELD_OUT_PERCENT


def leet(w: str, rng: random.Random) -> str:
    idx = [i for i, c in enumerate(w) if c.lower() in _LEET]
    if not idx:
        return w.replace(w[len(w) // 2], "*", 1)
    chars = list(w)
    for i in rng.sample(idx, min(len(idx), rng.choice((1, 1, 2)))):
        chars[i] = "*" if rng.random() < 0.2 else rng.choice(_LEET[chars[i].lower()])
    return "".join(chars)


def spaced(w: str, rng: random.Random) -> str:
    sep = rng.choice([" ", " ", ".", "-", " . "])
    return sep.join(c for c in w if c != " ")


def zero_width(w: str, rng: random.Random) -> str:
    k = rng.randrange(1, max(2, len(w)))
    return w[:k] + rng.choice(_ZERO_WIDTH) + w[k:]


def soft_hyphen(w: str, rng: random.Random) -> str:
    k = rng.randrange(1, max(2, len(w)))
    return w[:k] + _SOFT_HYPHEN + w[k:]


def lookalike(w: str, rng: random.Random) -> str:
    idx = [i for i, c in enumerate(w) if c in _LOOKALIKE]
    if not idx:
        return w
    chars = list(w)
    for i in rng.sample(idx, min(len(idx), rng.choice((1, 2, 3)))):
        chars[i] = _LOOKALIKE[chars[i]]
    return "".join(chars)


def combining(w: str, rng: random.Random) -> str:
    if any(unicodedata.decomposition(c) for c in w):
        return unicodedata.normalize("NFD", w)
    if w.lower().startswith("maori"):
        return w[:2] + "\u0304" + w[2:]
    vowels = [i for i, c in enumerate(w) if c in "aeiou"]
    if not vowels:
        return w
    i = rng.choice(vowels)
    return w[:i + 1] + rng.choice(["\u0304", "\u0301", "\u0308"]) + w[i + 1:]


def fullwidth(w: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in w)


EVASIONS = {"leet": leet, "spaced": spaced, "zero_width": zero_width, "soft_hyphen": soft_hyphen,
            "lookalike": lookalike, "combining": combining, "fullwidth": fullwidth}
_SPAN = re.compile(r"\[([^\]]+)\]")


def _sensitive_rows(category: str, cls: str, text: str) -> list[tuple[str, str, str, str, str]]:
    rng = random.Random(_seed(text))
    spans = _SPAN.findall(text)
    plain = _SPAN.sub(r"\1", text)
    rows = [("S", category, cls, spans[0] if spans else "", plain)]
    if not spans:
        return rows
    m = _SPAN.search(text)
    word = m.group(1)
    after = text[m.end():]
    choices = list(EVASIONS)
    if re.match(r" [A-Za-z]+", after) and " " not in word:
        choices.append("run_together")
    if "maori" in word.lower() or "ā" in word or "ō" in word:
        choices.append("combining")
    picked = rng.sample(choices, 2)
    if "run_together" in choices and "run_together" not in picked and rng.random() < 0.5:
        picked[1] = "run_together"
    for name in picked:
        if name == "run_together":
            nxt = re.match(r" ([A-Za-z]+)", after).group(1)
            typed = word + nxt
            new = text[:m.start()] + typed + after[len(nxt) + 1:]
        else:
            typed = EVASIONS[name](word, rng)
            if typed == word:
                continue
            new = text[:m.start()] + typed + after
        rows.append(("S", category, name, typed, _SPAN.sub(r"\1", new)))
    return rows


def _benign_rows(cls: str, text: str) -> list[tuple[str, str, str, str, str]]:
    rng = random.Random(_seed(text))
    rows = [("O", cls, "plain", "", text)]
    frame = rng.choice(_FRAMES)
    rows.append(("O", cls, "in_a_sentence", "", frame.format(x=text[0].lower() + text[1:] if frame[0] != "{" else text)))
    words = [w for w in re.findall(r"[A-Za-z]{3,}", text)]
    if words:
        name = rng.choice(["zero_width", "soft_hyphen", "lookalike", "combining", "fullwidth", "caps"])
        if name == "caps":
            rows.append(("O", cls, name, "", text.upper()))
        else:
            w = rng.choice(words)
            typed = EVASIONS[name](w, rng)
            if typed != w:
                rows.append(("O", cls, name, "", text.replace(w, typed, 1)))
    return rows


def _read(name: str) -> list[list[str]]:
    out = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            out.append(line.split("\t"))
    return out


def build() -> dict[str, list[tuple[str, str, str, str, str]]]:
    parts: dict[str, list] = {"tune": [], "heldout": [], "heldout2": []}
    seen: set[str] = set()
    sources = [(_sensitive_rows(c, k, t), t, None) for c, k, t in _read("sensitive.txt")]
    sources += [(_benign_rows(k, t), t, None) for k, t in _read("benign.txt")]
    sources += [(_sensitive_rows(c, k, t), t, "heldout2") for c, k, t in _read("sensitive_2.txt")]
    sources += [(_benign_rows(k, t), t, "heldout2") for k, t in _read("benign_2.txt")]
    for rows, source, fixed in sources:
        part = parts[fixed or ("heldout" if held_out(source) else "tune")]
        for row in rows:
            if row[4] not in seen:
                seen.add(row[4])
                part.append(row)
    return parts


def main() -> None:
    header = ("# Generated by make_corpus.py from sensitive.txt and benign.txt; do not edit by hand.\n"
              "# label\tcategory\tclass\tphrase\ttext\n")
    for name, rows in build().items():
        body = "".join("\t".join(r) + "\n" for r in rows)
        (HERE / f"{name}.tsv").write_text(header + body, encoding="utf-8")
        s = sum(1 for r in rows if r[0] == "S")
        print(f"{name}.tsv: {s} sensitive, {len(rows) - s} benign")


if __name__ == "__main__":
    main()
