"""Normalising what people typed so that the same thing typed differently compares equal."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

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


# Nicknames and diminutives come from the `nicknames` package (a maintained many-to-many table:
# "shelly" is short for Michelle, Rachel…; "jess" for Jessica). Its table is American; the local
# supplement (matching/data/nicknames_local.txt) adds only forms it lacks, such as the New Zealand and
# Australian "-o" and "-zza" forms (Jonno, Dazza, Shazza).
MAX_FORMS = 8  # full names one given name may stand for, at most (a blocking key each)


@lru_cache(maxsize=1)
def _nick_namer():
    from nicknames import NickNamer

    return NickNamer()


@lru_cache(maxsize=1)
def _local_canonicals() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for line in (Path(__file__).parent / "data" / "nicknames_local.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        canonical, _, rest = line.partition(":")
        for nick in rest.split(","):
            if nick.strip():
                out.setdefault(nick.strip(), set()).add(canonical.strip())
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=100_000)
def given_forms(given: str) -> frozenset[str]:
    """The given name and the full names it may be short for ("shelly" → shelly, michelle, rachel…).
    Two given names are nickname-equivalent when their forms meet: a nickname and its full name, or
    two nicknames of one name."""
    if not given or given.isdigit():
        return frozenset({given}) if given else frozenset()
    canonicals = set(_nick_namer().canonicals_of(given)) | _local_canonicals().get(given, frozenset())
    return frozenset({given, *canonicals})


@lru_cache(maxsize=100_000)
def key_forms(given: str) -> tuple[str, ...]:
    """The forms a given name is keyed on (a blocking key each): itself first, then at most
    MAX_FORMS full names. An ambiguous short form ("chris" stands for eighteen names) keeps first
    the full names it does not share an initial with, since names sharing an initial already meet
    through the family-name-and-initial key."""
    others = sorted(given_forms(given) - {given}, key=lambda c: (c[:1] == given[:1], c))
    return (given, *others[:MAX_FORMS]) if given else ()


def nickname_of(x: str, y: str) -> str:
    """The full name two different given names both stand for ("" when they are not equivalent)."""
    if x == y:
        return ""
    shared = given_forms(x) & given_forms(y)
    if not shared:
        return ""
    return min(shared, key=lambda f: (f not in (x, y), f))


@lru_cache(maxsize=65536)
def phonetic(token: str) -> str:
    return jellyfish.metaphone(token) if token else ""


@lru_cache(maxsize=200_000)
def name_parts(name: str) -> tuple[str, str] | None:
    """(given, family) of a full name, lower case, as written; None for a single word.
    "Smith, John" is the family name first, as records often write it."""
    family_first, comma, rest = (name or "").partition(",")
    if comma and words(rest):
        name = f"{rest} {family_first}"
    tokens = [t for t in words(name) if not t.isdigit()]
    if len(tokens) < 2:
        return None
    return tokens[0], tokens[-1]


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


# --- Distinctive marks: what a description says, whatever its words ------------------------------
#
# "neck tattoo (snake)", "snake tattoo on neck" and "tattoo of a snake, neck" say one thing: a mark
# of a type (tattoo), a motif (snake), a body part (neck) and perhaps a side. Each mark is parsed
# into those four, regardless of word order, stop words and punctuation; plurals and the usual
# synonyms ("tat", "inked", "knuckles", "lower arm") fold to one word.

MARK_TYPES = {
    "tattoo": "tattoo", "tattoos": "tattoo", "tattooed": "tattoo", "tat": "tattoo", "tats": "tattoo",
    "tatt": "tattoo", "tatts": "tattoo", "tattoed": "tattoo", "tatoo": "tattoo", "tatoos": "tattoo",
    "ink": "tattoo", "inked": "tattoo", "inking": "tattoo", "moko": "tattoo",
    "scar": "scar", "scars": "scar", "scarred": "scar", "scarring": "scar", "scarf": "",  # a scarf is clothing
    "piercing": "piercing", "piercings": "piercing", "pierced": "piercing",
    "birthmark": "birthmark", "mole": "mole", "burn": "burn", "burns": "burn", "missing": "missing",
    "limp": "limp", "cast": "cast", "brace": "brace", "braces": "brace",
}
# Jewellery words name a piercing only when no other type is named ("nose ring"; a "ring tattoo" is a tattoo).
PIERCING_WORDS = {"ring", "rings", "stud", "studs", "bar", "hoop", "hoops", "gauge", "gauges", "plug", "plugs", "spacer"}
BODY = {
    "hand": "hand", "hands": "hand", "palm": "hand", "knuckle": "knuckle", "knuckles": "knuckle",
    "finger": "finger", "fingers": "finger", "thumb": "finger", "wrist": "wrist", "wrists": "wrist",
    "arm": "arm", "arms": "arm", "bicep": "arm", "biceps": "arm", "forearm": "forearm", "forearms": "forearm",
    "elbow": "elbow", "shoulder": "shoulder", "shoulders": "shoulder",
    "neck": "neck", "throat": "neck", "nape": "neck",
    "face": "face", "cheek": "cheek", "cheeks": "cheek", "cheekbone": "cheek", "eyebrow": "eyebrow",
    "eyebrows": "eyebrow", "brow": "eyebrow", "eye": "eye", "eyes": "eye", "eyelid": "eye", "lip": "lip",
    "lips": "lip", "mouth": "lip", "nose": "nose", "nostril": "nose", "ear": "ear", "ears": "ear",
    "earlobe": "ear", "lobe": "ear", "chin": "chin", "forehead": "forehead", "temple": "temple", "jaw": "jaw",
    "jawline": "jaw", "head": "head", "scalp": "head", "tooth": "tooth", "teeth": "tooth", "tongue": "tongue",
    "leg": "leg", "legs": "leg", "calf": "calf", "calves": "calf", "shin": "shin", "thigh": "thigh",
    "knee": "knee", "ankle": "ankle", "foot": "foot", "feet": "foot", "chest": "chest", "stomach": "stomach",
    "belly": "stomach", "hip": "hip", "back": "back",
}
# "upper arm", "lower arm"… read as one part; "back of the hand" is the hand.
BODY_PAIRS = {("upper", "arm"): "arm", ("lower", "arm"): "forearm", ("lower", "back"): "back",
              ("upper", "back"): "back", ("lower", "leg"): "shin", ("upper", "leg"): "thigh"}
SIDES = {"left": "left", "right": "right", "lh": "left", "rh": "right", "l": "left", "r": "right"}
# Words that say nothing of which mark it is: grammar, hedges, size, age, colour and style.
MARK_STOP = frozenset(
    "a an and the of on in with at to his her their him he she they has had have wearing wore looked look like "
    "possibly maybe about above below under near across behind inside outside between over side top bottom "
    "upper lower small large big little huge tiny faded old new fresh homemade home made visible some few "
    "several one two three both each is are was were it its that this there says saying reads reading word "
    "words letter letters writing text number design picture image shape style pattern piece sort kind type "
    "black blue red green grey gray white yellow purple pink brown gold silver dark light coloured colored "
    "colour color also possible poss approx around very quite".split()
)


class Mark(NamedTuple):
    kind: str
    motifs: frozenset[str]
    body: str  # "" when not said
    side: str  # "" when not said

    def text(self) -> str:
        what = f"{' '.join(sorted(self.motifs))} {self.kind}".strip()
        where = f"{self.side} {self.body}".strip()
        return f"{what}, {where}" if where else what


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("ss", "x", "ch", "sh")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _clause_parts(tokens: list[str]) -> tuple[str | None, set[str], list[str], str]:
    """(type, motifs, body parts, side) named in one clause's words."""
    kind = next((MARK_TYPES[t] for t in tokens if MARK_TYPES.get(t)), None)
    jewellery = any(t in PIERCING_WORDS for t in tokens)
    if kind is None and jewellery:
        kind = "piercing"
    body, used = [], set()
    for i, t in enumerate(tokens):
        if i + 1 < len(tokens) and (t, tokens[i + 1]) in BODY_PAIRS:
            body.append(BODY_PAIRS[(t, tokens[i + 1])])
            used.update((i, i + 1))
    for i, t in enumerate(tokens):
        if i in used or t not in BODY:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if t == "back" and (nxt == "of" or (nxt in BODY and nxt != "back")):
            continue  # "back of the hand", "back neck": the part named next
        body.append(BODY[t])
    side = next((SIDES[t] for t in tokens if t in SIDES), "")
    motifs = {_singular(t) for t in tokens
              if t not in MARK_STOP and t not in MARK_TYPES and t not in BODY and t not in SIDES
              and not (kind == "piercing" and t in PIERCING_WORDS) and (len(t) > 2 or t.isdigit())}
    return kind, motifs, body, side


@lru_cache(maxsize=100_000)
def parse_marks(text: str) -> tuple[Mark, ...]:
    """The marks a description names. A clause naming only a place or a motif belongs to the mark
    before it ("star tattoo, left hand"; "tattoo on neck (snake)")."""
    out: list[Mark] = []
    for clause in re.split(r"[,;/()\[\]]| and | & |\+", ascii_fold(text)):
        tokens = _WORD.findall(clause)
        kind, motifs, body, side = _clause_parts(tokens)
        if kind is not None:
            out.append(Mark(kind, frozenset(motifs), body[0] if body else "", side))
        elif out and (body or motifs or side):
            last = out[-1]
            out[-1] = Mark(last.kind, last.motifs | (motifs if not body or not last.motifs else frozenset()),
                           last.body or (body[0] if body else ""), last.side or side)
    return tuple(out)


@lru_cache(maxsize=100_000)
def mark_tokens(text: str) -> frozenset[str]:
    """Blocking tokens of the marks: 'tattoo:star' (type and motif) and 'tattoo@hand' (type and place)."""
    out: set[str] = set()
    for m in parse_marks(text):
        out.update(f"{m.kind}:{motif}" for motif in m.motifs)
        if m.body:
            out.add(f"{m.kind}@{m.body}")
    return frozenset(out)


@lru_cache(maxsize=100_000)
def text_tokens(text: str) -> frozenset[str]:
    return frozenset(t for t in words(text) if t not in STOPWORDS and len(t) > 1)


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
