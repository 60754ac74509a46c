"""Undo the spellings that hide a lexicon word from the matcher (issue 11), keeping a map back to the text
as typed so that a refusal names what the user wrote.

- Unicode: each character in NFKC (full-width "Ａｓｉａｎ", ligatures), invisible format characters
  dropped (zero-width space and joiners, soft hyphen, word joiner, BOM, direction marks), combining marks
  dropped ("Ma\u0304ori" = "Maori"), letters of other scripts that look like Latin letters read as those
  letters (Cyrillic "а", Greek "ο"; the Unicode confusables data of `confusable-homoglyphs`), and the rest
  transliterated to ASCII by `anyascii` ("ā" → "a", "ß" → "ss", "中国人" → "ZhongGuoRen").
- Digits and symbols for letters ("4sian", "@sian", "m*slim", "wh1te"): a word mixing letters with
  digits or symbols is read as letters when one reading is a word the lexicon knows (`is_term`), so
  "4x4", "180cm", "m8" and "$20" are left alone. A `*` or `#` stands for any one letter.
- Letters spaced out ("a s i a n", "A-S-I-A-N", "m.u.s.l.i.m"): a run of single letters reads as one
  word when the longest stretch of it that is a lexicon word is found.

All three are skipped for the common text (ASCII, no letter next to a digit or symbol, no run of single
letters), so a short field costs one or two regular-expression searches.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from anyascii import anyascii
from confusable_homoglyphs.categories import alias as script_of
from confusable_homoglyphs.confusables import confusables_data

# Read as letters (a * or # is any letter). Digits stand for the letters they look like.
_AS_LETTERS = {"4": "a", "@": "a", "3": "e", "1": "il", "!": "i", "|": "il", "0": "o", "5": "s", "$": "s",
               "7": "t", "+": "t", "9": "g", "8": "b", "6": "b", "2": "z", "*": "", "#": ""}
_ANY = "abcdefghijklmnopqrstuvwxyz"
_CHUNK = re.compile(r"[A-Za-z0-9@$*#!|+]*[A-Za-z][A-Za-z0-9@$*#!|+]*")
_MIXED = re.compile(r"[A-Za-z][0-9@$*#!|+]|[0-9@$*#!|+][A-Za-z]")
# 20s, 180cm, 3x, 2nd, 4pk, m8, b4: a number with its unit, not a spelling
_MEASURE = re.compile(r"^\d+(?:s|x|yo|yrs?|cm|mm|m|km|kg|g|ml|l|ft|in|pm|am|st|nd|rd|th|pk|ish)?$|^[A-Za-z]\d+$", re.I)
_SPACED = re.compile(r"(?<![A-Za-z])[A-Za-z](?:[ .\-_*]{1,3}[A-Za-z](?![A-Za-z])){2,}")
_MAX_READINGS = 1024


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKC", c):
        if ch.isascii():
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat == "Cf" or cat[0] == "M":
            continue  # invisible (zero-width, soft hyphen, joiners) or a combining accent
        if cat[0] == "L" and script_of(ch) != "LATIN":
            look = next((g["c"] for g in confusables_data.get(ch, ()) if g["c"].isascii() and g["c"].isalpha()), None)
            if look:
                out.append(look)  # Cyrillic "р" for "p": read as the letter it imitates, not as "r"
                continue
        if cat[0] == "S":
            out.append(ch)  # symbols and emoji stay as they are (punctuation to the tokenizer)
            continue
        out.append(anyascii(ch) if cat[0] in "LNP" else " " if cat[0] == "Z" else ch)
    return "".join(out)


def fold_unicode(text: str) -> tuple[str, list[int] | None]:
    """The text in ASCII letters where it can be, and for each of its characters the index of the typed
    character it came from (None when nothing changed)."""
    if text.isascii():
        return text, None
    parts, src = [], []
    for i, c in enumerate(text):
        f = c if c.isascii() else _fold_char(c)
        parts.append(f)
        src.extend([i] * len(f))
    return "".join(parts), src


def _readings(chunk: str) -> list[str]:
    options = []
    for c in chunk.lower():
        if c.isalpha():
            options.append(c)
        else:
            options.append(_AS_LETTERS.get(c) or _ANY)
    n = 1
    for o in options:
        n *= len(o)
    if n > _MAX_READINGS:
        return []
    return ["".join(p) for p in itertools.product(*options)]


def read_symbols_as_letters(text: str, accepts: tuple[Callable[[str], bool], ...]) -> str:
    """"4sian" → "asian", "m*slim" → "muslim" where that is a lexicon word; `accepts` are tried in turn
    (a term, then a word of a term, then an ordinary word the grammar knows: "r3n" → "ren"), so "*ay"
    reads as "gay" before "day". The length never changes."""
    if not _MIXED.search(text):
        return text
    out = None
    for m in _CHUNK.finditer(text):
        chunk = m.group()
        if chunk.isalpha() or sum(c.isalpha() for c in chunk) < 2 or _MEASURE.match(chunk):
            continue
        # "Māor!" is "Maori", "gay!" is "gay" and an exclamation mark
        cores = [chunk, chunk.rstrip("!")] if chunk.endswith("!") else [chunk]
        found = None
        if any(core.isalpha() and accepts[0](core.lower()) for core in cores):
            continue  # "gay!": already a word
        for accept in accepts:
            for core in cores:
                if core.isalpha():
                    continue
                found = next(((core, r) for r in _readings(core) if accept(r)), None)
                if found:
                    break
            if found:
                break
        if found:
            core, reading = found
            out = out if out is not None else list(text)
            out[m.start():m.start() + len(core)] = reading
    return "".join(out) if out is not None else text


def _words_in(letters: str, accepts: tuple[Callable[[str], bool], ...], at: int = 0) -> list[tuple[int, int]]:
    """The longest stretch of `letters` that is a lexicon word, then the same left and right of it."""
    for accept in accepts:
        for size in range(len(letters), 2, -1):
            for a in range(0, len(letters) - size + 1):
                if accept(letters[a:a + size]):
                    return (_words_in(letters[:a], accepts, at) + [(at + a, at + a + size)]
                            + _words_in(letters[a + size:], accepts, at + a + size))
    return []


def join_spaced_letters(text: str, src: list[int] | None,
                        accepts: tuple[Callable[[str], bool], ...]) -> tuple[str, list[int] | None]:
    """"a s i a n" → "asian" where that is a lexicon word, with the map to the typed text kept."""
    if not _SPACED.search(text):
        return text, src
    given = src
    src = list(range(len(text))) if src is None else src
    pieces, new_src, last = [], [], 0
    for m in _SPACED.finditer(text):
        pos = [m.start() + k for k, c in enumerate(m.group()) if c.isalpha()]
        letters = "".join(text[p] for p in pos).lower()
        for n, (a, b) in enumerate(_words_in(letters, accepts)):
            start, end = pos[a], pos[b - 1] + 1
            if n:  # "N a t i v e A m e r i c a n": two words, one space between
                pieces.append(" ")
                new_src.append(src[start - 1])
            else:
                pieces.append(text[last:start])
                new_src.extend(src[last:start])
            for p in pos[a:b]:
                pieces.append(text[p])
                new_src.append(src[p])
            last = end
    if last == 0:
        return text, given
    pieces.append(text[last:])
    new_src.extend(src[last:])
    return "".join(pieces), new_src
