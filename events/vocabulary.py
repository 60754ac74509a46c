"""What a descriptor value is read as: the vocabulary of build, age band, gender and role.

Retailers' own spreadsheets say "stocky", "M", "30-40", "shoplifter"; the product's fields say
heavy, male, 35-44, offender. A value is read, in this order, as:

1. a value of the field itself, or its label ("Under 14"), ignoring case, spaces and hyphens;
2. a synonym the retailer added (events.models.DescriptorSynonym, the Synonyms page);
3. a synonym of the table that ships with the product (events/data/descriptor_synonyms.json);
4. for the age band only, the age rule (`age_band_for`): a number, a range or a decade is read as
   the band that holds most of it.

A value still unknown is left out (role: recorded as "other", never as an offender) with a warning,
or refused in the "refuse unknown values" mode. `hair` is free text, not a fixed vocabulary:
there is nothing to map. The one validator (events.interchange) asks `Vocabulary.read`; the
importer and the API load a `Vocabulary` once per import or request with `vocabulary_for`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from events.models import AgeBand, Build, Descriptor, Gender, PersonRole

SYNONYMS_PATH = Path(__file__).resolve().parent / "data" / "descriptor_synonyms.json"

# The descriptors with a fixed vocabulary, in the order the page shows them.
DESCRIPTORS: dict[str, type[models.TextChoices]] = {
    "build": Build, "age_band": AgeBand, "gender": Gender, "role": PersonRole,
}
assert set(DESCRIPTORS) == set(Descriptor.values)
FIELD_LABELS = {d.value: d.label.lower() for d in Descriptor}
# What a "don't know" word ("unknown", "n/a") is read as.
NOT_KNOWN_VALUE = {"build": "", "age_band": "", "gender": Gender.UNKNOWN.value, "role": PersonRole.OTHER.value}
# What a value that cannot be read becomes. A role is never left to its default (offender): a person
# whose role nobody can read is not matched as an offender.
UNREADABLE_VALUE = {"build": "", "age_band": "", "gender": "", "role": PersonRole.OTHER.value}

EXACT, RETAILER, BUILT_IN, AGE_RULE = "exact", "retailer", "built-in", "age rule"
MAPPED, NOT_KNOWN = "mapped", "not_known"
VALUE_SHOWN = 80  # characters of a value quoted in a warning


# --- normalising ------------------------------------------------------------------------------------

_JOINERS = re.compile(r"(?<=\w)\s*[-_/]\s*(?=\w)")
_EDGES = re.compile(r"^[\s\"'`.,;:!?()\[\]\u201c\u201d\u2018]+|[\s\"'`.,;:!?()\[\]\u201c\u201d\u2018]+$")


def normalise(text: Any) -> str:
    """The comparable form of a value: Unicode-folded, case-folded, hyphens, underscores and slashes
    between words as spaces, runs of spaces as one, quotes and stops at the ends dropped ("Well-Built."
    is "well built"). A value that is only punctuation ("?", "-") is kept as it is."""
    s = unicodedata.normalize("NFKC", str(text)).casefold().replace("\u2019", "'")
    s = " ".join(_JOINERS.sub(" ", s).split())
    return _EDGES.sub("", s) or s


# --- the built-in table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltIn:
    version: int
    # field → normalised word → value
    table: dict[str, dict[str, str]]
    # field → [(value, [words as written])], for the page
    groups: dict[str, list[tuple[str, list[str]]]]


def _valid(field: str, value: str) -> bool:
    return value in DESCRIPTORS[field].values or (value == "" and NOT_KNOWN_VALUE[field] == "")


@lru_cache(maxsize=1)
def builtin() -> BuiltIn:
    """The shipped table, checked: every word maps to a value of its field, no word to two values.
    A broken file fails loudly (the test suite loads it)."""
    with SYNONYMS_PATH.open(encoding="utf-8") as fh:
        raw = json.load(fh)
    table: dict[str, dict[str, str]] = {f: {} for f in DESCRIPTORS}
    groups: dict[str, list[tuple[str, list[str]]]] = {f: [] for f in DESCRIPTORS}

    def put(field: str, word: str, value: str) -> None:
        key = normalise(word)
        if key in _exact()[field]:
            raise ImproperlyConfigured(f"{SYNONYMS_PATH.name}: {field} {word!r} is already a value of the field.")
        if table[field].get(key, value) != value:
            raise ImproperlyConfigured(f"{SYNONYMS_PATH.name}: {field} {word!r} maps to both "
                                       f"{table[field][key]!r} and {value!r}.")
        table[field][key] = value

    for field, by_value in raw["fields"].items():
        if field not in DESCRIPTORS:
            raise ImproperlyConfigured(f"{SYNONYMS_PATH.name}: {field!r} is not a descriptor with a vocabulary.")
        for value, words in by_value.items():
            if not _valid(field, value):
                raise ImproperlyConfigured(f"{SYNONYMS_PATH.name}: {value!r} is not a value of {field}.")
            for word in words:
                put(field, word, value)
            groups[field].append((value, list(words)))
    not_known = list(raw.get("not_known", []))
    for field in DESCRIPTORS:
        for word in not_known:
            if normalise(word) not in _exact()[field]:  # gender "unknown" is a value of its own
                put(field, word, NOT_KNOWN_VALUE[field])
        groups[field].append((NOT_KNOWN_VALUE[field], not_known))
    return BuiltIn(version=int(raw["version"]), table=table, groups=groups)


@lru_cache(maxsize=1)
def _exact() -> dict[str, dict[str, str]]:
    """field → normalised value or label → value."""
    out: dict[str, dict[str, str]] = {}
    for field, choices in DESCRIPTORS.items():
        out[field] = {}
        for value, label in choices.choices:
            out[field][normalise(label)] = value
        for value in choices.values:
            out[field][normalise(value)] = value
    return out


def exact_value(field: str, text: Any) -> str | None:
    """The field's value that `text` names directly (its value or its label), or None."""
    return _exact()[field].get(normalise(text))


def value_label(field: str, value: str) -> str:
    if value == "":
        return "Not known (left empty)"
    return dict(DESCRIPTORS[field].choices).get(value, value)


# --- the age rule -----------------------------------------------------------------------------------

MAX_AGE = 120
WIDEST_RANGE = 20  # years from the lowest to the highest age named; wider says too little to pick a band


def _band_spans() -> list[tuple[str, int, int]]:
    """(value, first age, first age after) of each band: "25-34" holds 25 ≤ age < 35, "65+" 65 ≤ age < 120."""
    spans = []
    for value in AgeBand.values:
        if value.endswith("+"):
            spans.append((value, int(value[:-1]), MAX_AGE))
        else:
            lo, hi = value.split("-")
            spans.append((value, int(lo), int(hi) + 1))
    return spans


_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_SMALL = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19, **_UNITS}
_DECADE_WORDS = {"teens": 10, "twenties": 20, "thirties": 30, "forties": 40, "fourties": 40, "fifties": 50,
                 "sixties": 60, "seventies": 70, "eighties": 80, "nineties": 90}
_NUMBER_WORDS = re.compile(r"\b(" + "|".join(_TENS) + r")(?:[ -](" + "|".join(_UNITS) + r"))?\b|\b("
                           + "|".join(_SMALL) + r")\b")
_FILLER = re.compile(r"\b(?:approx(?:imately)?|about|around|roughly|circa|ca|c|aged|age|est(?:imated)?|maybe|"
                     r"possibly|probably|prob|apparently|looked|looks|between|years?|yrs?|y ?/? ?o|old)\b|[~≈]|"
                     r"(?<=\d)ish\b|\bish\b")
_OPEN_UP = re.compile(r"^(?:(?:over|above|older than|at least|more than) (\d{1,3})|(\d{1,3}) ?(?:\+|plus|or (?:over|"
                      r"older|more|above)|and (?:over|older|up|above)))$")
_OPEN_DOWN = re.compile(r"^(?:under|below|younger than|less than) (\d{1,3})$")
_RANGE = re.compile(r"^(\d{1,3}) ?(?:-|to|and) ?(\d{1,3})$")
_SINGLE = re.compile(r"^(\d{1,3})$")
_DECADE = re.compile(r"^(?:(early|mid|late) ?)?(\d)0 ?'?s$")
_DECADE_WORD = re.compile(r"^(?:(early|mid|late) ?)?(" + "|".join(_DECADE_WORDS) + r")$")
# Parts of a decade: "early 30s" 30-33, "mid 30s" 33-36, "late 30s" 36-39 (overlapping, as people say them).
_PART = {None: (0, 10), "early": (0, 4), "mid": (3, 7), "late": (6, 10)}
_TEEN_PART = {None: (13, 20), "early": (13, 16), "mid": (14, 17), "late": (17, 20)}


def _words_to_digits(s: str) -> str:
    def digits(m: re.Match) -> str:
        if m.group(3):
            return str(_SMALL[m.group(3)])
        return str(_TENS[m.group(1)] + (_UNITS[m.group(2)] if m.group(2) else 0))

    return _NUMBER_WORDS.sub(digits, s)


def age_span(text: Any) -> tuple[int, int] | None:
    """The ages `text` names, as (first, first after): "32" (32, 33); "30-40" (30, 41); "30s" (30, 40);
    "mid thirties" (33, 37); "40+" and "over 40" the decade from 40, (40, 50) (said of someone in their
    forties, perhaps older); "under 18" the five years below it, (13, 18); "late teens" (17, 20).
    None when it names no age."""
    s = unicodedata.normalize("NFKC", str(text)).casefold()
    s = s.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    s = _words_to_digits(s)
    s = _FILLER.sub(" ", s)
    s = " ".join(s.replace("(", " ").replace(")", " ").split()).strip(" .,;:?-'\"")
    s = re.sub(r"\b(early|mid|late) ?- ?", r"\1 ", s)
    if m := _SINGLE.match(s):
        n = int(m.group(1))
        return (n, n + 1)
    if m := _RANGE.match(s):
        lo, hi = int(m.group(1)), int(m.group(2))
        return (lo, hi + 1) if lo <= hi else None
    if m := _OPEN_UP.match(s):
        n = int(m.group(1) or m.group(2))
        return (n, n + 10)
    if m := _OPEN_DOWN.match(s):
        n = int(m.group(1))
        return (max(0, n - 5), n) if n > 0 else None
    if m := _DECADE.match(s):
        base = int(m.group(2)) * 10
        if base < 20:
            return None  # "10s" is not how ages are written
        first, after = _PART[m.group(1)]
        return (base + first, base + after)
    if m := _DECADE_WORD.match(s):
        if m.group(2) == "teens":
            return _TEEN_PART[m.group(1)]
        base = _DECADE_WORDS[m.group(2)]
        first, after = _PART[m.group(1)]
        return (base + first, base + after)
    return None


def band_for_span(first: int, after: int) -> str | None:
    """The band that holds most of the ages first ≤ age < after. A tie goes to the band holding the
    middle of the range: "30s" (30-39) has five years in 25-34 and five in 35-44, and its middle, 35,
    is in 35-44 (a person "in their thirties" is 35 on average; the same rule puts "mid 30s" there).
    None when the range is wider than WIDEST_RANGE years or holds no band's ages."""
    if after <= first or after - 1 - first > WIDEST_RANGE or first >= MAX_AGE:
        return None
    middle = (first + after) / 2
    best, best_key = None, None
    for value, lo, hi in _band_spans():
        overlap = max(0, min(after, hi) - max(first, lo))
        if not overlap:
            continue
        holds_middle = lo <= middle < hi
        key = (overlap, holds_middle, -min(abs(middle - lo), abs(middle - hi)))
        if best_key is None or key > best_key:
            best, best_key = value, key
    return best


def age_band_for(text: Any) -> str | None:
    """The age band a number, range or decade is read as ("30-40" → 35-44, "32" → 25-34, "30s" → 35-44,
    "early twenties" → 18-24, "40+" → 45-54), or None."""
    span = age_span(text)
    return band_for_span(*span) if span else None


# --- reading a value --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    value: str  # the field's value ("" for not known)
    source: str  # EXACT, RETAILER, BUILT_IN or AGE_RULE


_SOURCE_WORDS = {RETAILER: "your organisation's synonym", BUILT_IN: "built-in synonym",
                 AGE_RULE: "the age band holding most of it"}


class Vocabulary:
    """The descriptor vocabulary of one retailer: the built-in table with the retailer's own words
    read first. `own` is {field: {normalised word: value}}."""

    def __init__(self, own: Mapping[str, Mapping[str, str]] | None = None):
        self.own = {f: dict((own or {}).get(f, {})) for f in DESCRIPTORS}
        self._builtin = builtin().table

    def read(self, field: str, text: Any) -> Reading | None:
        if isinstance(text, str) and text in DESCRIPTORS[field].values:
            return Reading(text, EXACT)
        key = normalise(text)
        exact = _exact()[field].get(key)
        if exact is not None:
            return Reading(exact, EXACT)
        if key in self.own[field]:
            return Reading(self.own[field][key], RETAILER)
        if key in self._builtin[field]:
            return Reading(self._builtin[field][key], BUILT_IN)
        if field == "age_band":
            band = age_band_for(text)
            if band is not None:
                return Reading(band, AGE_RULE)
        return None

    def note(self, field: str, text: Any, reading: Reading | None) -> dict[str, str] | None:
        """What was done with a value that was not a value of the field, for the warnings list:
        {"field", "value", "outcome" (mapped or not_known), "maps_to" (what was recorded), "action"}.
        None for a value read as itself."""
        shown = str(text).strip()[:VALUE_SHOWN]
        if reading is not None:
            if reading.source == EXACT:
                return None
            what = reading.value or "not known, left empty"
            return {"field": field, "value": shown, "outcome": MAPPED, "maps_to": reading.value,
                    "action": f"“{shown}” read as {what} ({_SOURCE_WORDS[reading.source]})"}
        recorded = UNREADABLE_VALUE[field]
        done = ("recorded as other, not as an offender" if field == "role" else "left empty")
        return {"field": field, "value": shown, "outcome": NOT_KNOWN, "maps_to": recorded,
                "action": f"“{shown}” is not a known {FIELD_LABELS[field]}: {done}"}


def vocabulary_for(organisation) -> Vocabulary:
    """The built-in table and `organisation`'s own synonyms (one query): load it once per import or
    request, not once a row."""
    from events.models import DescriptorSynonym

    own: dict[str, dict[str, str]] = {}
    if organisation is not None and getattr(organisation, "pk", None):
        rows = (DescriptorSynonym.objects.unscoped().filter(organisation_id=organisation.pk)
                .values_list("field", "normalised", "maps_to"))
        for field, key, maps_to in rows:
            own.setdefault(field, {})[key] = maps_to
    return Vocabulary(own)


def unknown_value_message(field: str, text: Any) -> str:
    """Why a value is refused in the "refuse unknown values" mode."""
    choices = ", ".join(DESCRIPTORS[field].values)
    return (f"“{str(text).strip()[:VALUE_SHOWN]}” is not a known {FIELD_LABELS[field]}: use one of {choices}, a synonym "
            "from the descriptor table, or add it to your organisation's synonyms.")


# --- reporting --------------------------------------------------------------------------------------


def mapped_summary(notes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mapped values counted by (descriptor, word, value): [{"field": "build", "value": "stocky",
    "maps_to": "heavy", "count": 412}], most frequent first. `field` may be a dotted path; the
    descriptor is its last part. The word is shown as first seen."""
    counts: dict[tuple[str, str, str], list] = {}
    for n in notes:
        if n.get("outcome", MAPPED) != MAPPED:  # rows of an earlier summary have a count and no outcome
            continue
        field = str(n["field"]).rsplit(".", 1)[-1]
        key = (field, normalise(n["value"]), n["maps_to"])
        if key in counts:
            counts[key][1] += int(n.get("count", 1))
        else:
            counts[key] = [n["value"], int(n.get("count", 1))]
    rows = [{"field": f, "value": shown, "maps_to": maps_to, "count": count}
            for (f, _, maps_to), (shown, count) in counts.items()]
    return sorted(rows, key=lambda r: (-r["count"], r["field"], r["value"]))


@dataclass(frozen=True)
class RowWarning:
    """A descriptor value of an import row that was not the field's own: read as a synonym
    (outcome "mapped") or left out (outcome "not_known"); the row was kept."""

    line: int
    field: str  # dotted: persons.0.build
    value: str
    outcome: str  # MAPPED or NOT_KNOWN
    maps_to: str  # what was recorded ("" for nothing)
    action: str  # what was done, in words

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "value": self.value, "outcome": self.outcome,
                "maps_to": self.maps_to, "action": self.action}

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.action}"
