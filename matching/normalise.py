"""Normalising what people typed so that the same thing typed differently compares equal."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import jellyfish

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and the of on in with at to his her their left right upper lower small large big "
    "has had wearing wore looked look like possibly maybe about above below under near across behind "
    "inside outside between over side top bottom".split()
)
# OCR confusions folded to one symbol each (issue 4): O/0, I/1, B/8, S/5, Z/2.
_OCR_FOLD = str.maketrans({"O": "0", "I": "1", "B": "8", "S": "5", "Z": "2"})


@lru_cache(maxsize=200_000)
def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()


def words(text: str) -> list[str]:
    return _WORD.findall(ascii_fold(text))


@lru_cache(maxsize=1)
def nickname_map() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (Path(__file__).parent / "data" / "nicknames.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        canonical, _, rest = line.partition(":")
        canonical = canonical.strip()
        out.setdefault(canonical, canonical)
        for nick in rest.split(","):
            if nick.strip():
                out.setdefault(nick.strip(), canonical)
    return out


def canonical_given(name: str) -> str:
    return nickname_map().get(name, name)


@lru_cache(maxsize=65536)
def phonetic(token: str) -> str:
    return jellyfish.metaphone(token) if token else ""


@lru_cache(maxsize=200_000)
def name_parts(name: str) -> tuple[str, str] | None:
    """(given, family) of a full name, lower case, nicknames canonical; None for a single word.
    "Smith, John" is the family name first, as records often write it."""
    family_first, comma, rest = (name or "").partition(",")
    if comma and words(rest):
        name = f"{rest} {family_first}"
    tokens = [t for t in words(name) if not t.isdigit()]
    if len(tokens) < 2:
        return None
    return canonical_given(tokens[0]), tokens[-1]


def normalise_plate(plate: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (plate or "").upper())


def ocr_fold_plate(plate: str) -> str:
    return normalise_plate(plate).translate(_OCR_FOLD)


def plate_masks(folded: str) -> list[str]:
    """The plate with each character in turn masked: two plates one misread character apart share one."""
    if len(folded) < 4:
        return []
    return [f"~{folded[:i]}?{folded[i + 1:]}" for i in range(len(folded))]


def plate_near_key(a: str, b: str) -> str:
    """The mask two folded plates one character apart share."""
    i = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return f"~{a[:i]}?{a[i + 1:]}"


MARK_TYPES = {
    "tattoo": "tattoo", "tattoos": "tattoo", "tattooed": "tattoo", "tat": "tattoo", "tats": "tattoo", "tatt": "tattoo",
    "ink": "tattoo", "inked": "tattoo", "moko": "tattoo",
    "scar": "scar", "scars": "scar", "scarred": "scar", "scarring": "scar",
    "piercing": "piercing", "piercings": "piercing", "pierced": "piercing", "stud": "piercing", "ring": "piercing",
    "birthmark": "birthmark", "mole": "mole", "burn": "burn", "missing": "missing",
    "limp": "limp", "cast": "cast", "brace": "brace",
}
BODY = {
    "hand", "hands", "arm", "arms", "forearm", "neck", "face", "cheek", "eyebrow", "eye", "lip", "nose", "ear",
    "chin", "forehead", "wrist", "finger", "fingers", "knuckles", "leg", "calf", "ankle", "shoulder", "back",
    "chest", "head", "temple", "jaw", "tooth", "teeth",
}


@lru_cache(maxsize=100_000)
def mark_tokens(text: str) -> frozenset[str]:
    """Distinctive-mark tokens: 'tattoo:star', 'tattoo:star:hand', 'scar:eyebrow'…
    A clause naming only a place on the body ("star tattoo, left hand") belongs to the mark before it."""
    out: set[str] = set()
    kind, objects = None, []
    for clause in re.split(r"[,;/]| and ", ascii_fold(text)):
        tokens = [t for t in _WORD.findall(clause) if t not in STOPWORDS]
        clause_kind = next((MARK_TYPES[t] for t in tokens if t in MARK_TYPES), None)
        body = sorted({t.rstrip("s") for t in tokens if t in BODY})
        if clause_kind is not None:
            kind = clause_kind
            objects = sorted({t for t in tokens if t not in MARK_TYPES and t not in BODY and len(t) > 2})
            for obj in objects:
                out.add(f"{kind}:{obj}")
        elif kind is None or not body:
            continue
        for b in body:
            out.add(f"{kind}@{b}")
            for obj in objects:
                out.add(f"{kind}:{obj}:{b}")
    return frozenset(out)


@lru_cache(maxsize=100_000)
def text_tokens(text: str) -> frozenset[str]:
    return frozenset(t for t in words(text) if t not in STOPWORDS and len(t) > 1)


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
