"""Blocking keys: values two records of the same person are likely to share. Candidates for a new
record are the records that share a key with it (an indexed lookup, DESIGN.md "Matching")."""

from __future__ import annotations

import hashlib

from matching import normalise as n
from matching.models import KeyKind
from matching.records import PersonRecord, name_key


def _day(rec: PersonRecord) -> int:
    return int(rec.occurred_at.timestamp() // 86400)


def keys_for(rec: PersonRecord, *, sku_window_days: int = 14) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for nf in rec.names:
        # Order-insensitive, so "Smith John" typed surname-first still meets "John Smith"; keyed on
        # every full name the given name may stand for, so "Shelly Ngata" meets "Michelle Ngata".
        for form in n.key_forms(nf.given):
            keys.add((KeyKind.NAME, name_key(n.phonetic(form), nf.pf)[:64]))
            # A misspelling changes one part's sound, rarely the first letter of the other part.
            keys.add((KeyKind.NAME_TOKEN, f"fi:{nf.pf}:{form[:1]}"[:64]))
        keys.add((KeyKind.NAME_TOKEN, f"f:{nf.pf}"[:64]))
        keys.add((KeyKind.NAME_TOKEN, f"gi:{nf.pg}:{nf.family[:1]}"[:64]))
    for single in rec.single_names | {nf.given for nf in rec.names}:
        for form in n.key_forms(single):
            if len(form) > 2:
                keys.add((KeyKind.NAME_TOKEN, f"s:{n.phonetic(form)}"[:64]))
    for folded in rec.plates:
        keys.add((KeyKind.PLATE, folded[:64]))
        for mask in n.plate_masks(folded):  # one misread character
            keys.add((KeyKind.PLATE, mask[:64]))
    for mark in rec.marks:  # type:motif (tattoo:star) or type@place (scar@chin)
        keys.add((KeyKind.MARK, mark[:64]))
    # A mark's place, a family name or a single name is shared by many strangers: often a hub, of
    # which only the records nearest in time are compared. The same value narrowed to the record's
    # gender, age band and region (compound_key) is shared by far fewer, so a repeat whose only
    # tie is "scar on the forehead" is still met when it is months away. For blocking only: these
    # keys weigh nothing (no comparison level reads them) and EM's sessions leave them out.
    narrowings = _narrowings(rec)
    if narrowings:
        for kind, value in list(keys):
            if (kind == KeyKind.MARK and "@" in value) or (kind == KeyKind.NAME_TOKEN and value[:2] in ("s:", "f:")):
                keys.update((kind, compound_key(value, narrow)) for narrow in narrowings)
    if rec.skus:
        day, w = _day(rec), max(1, sku_window_days)
        for sku in rec.skus:
            # Two overlapping windows, so events a few days apart across a boundary still meet.
            keys.add((KeyKind.SKU, f"{sku}@{rec.store_id}/a{day // w}"[:64]))
            keys.add((KeyKind.SKU, f"{sku}@{rec.store_id}/b{(day + w // 2) // w}"[:64]))
    if rec.gender and rec.age_band and (rec.height_cm or rec.build):
        band = (rec.height_cm or 0) // 10
        keys.add((KeyKind.DESCRIPTION, f"{rec.gender}|{rec.age_band}|{band}|{rec.build}|{rec.region}"[:64]))
    return keys


COMPOUND = "&"  # in a blocking-key value: a compound key (keys_for), never in a value of its own


def _narrowings(rec: PersonRecord) -> list[str]:
    """Gender, age band and region, when the record has all three (a broader narrowing, without the
    age band, was tried: it found few more repeats and more strangers)."""
    gender = rec.gender if rec.gender not in ("", "unknown") else ""
    return [f"{gender[:1]}{rec.age_band}{rec.region}"] if gender and rec.age_band else []


def compound_key(value: str, narrowing: str) -> str:
    return f"{value[:40]}{COMPOUND}{narrowing}"[:64]


def is_compound(value: str) -> bool:
    return COMPOUND in value


# --- Who a record is, for counting the people who share a key ---------------------------------------
#
# A hub is a value shared by many *people*, and a value's frequency (the u of a term-frequency-
# adjusted agreement) is how many other people have it. Before anyone links them, a prolific
# offender's ninety events are ninety records: counted one by one, their own plate would look like
# a hire car's. So each blocking-key row carries a signature of who the record is, said by features
# other than the key's own, and records sharing a key and a signature count as one person:
#
# - a plate: the name (as written, lower case), else gender and age band together;
# - a specific mark (type and motif, "tattoo:star"): the name, else the plate, else gender and age band;
# - a full name: the plate, else gender, age band and the first specific mark;
# - a mark's place alone ("scar@chin"), a family name or a single given name, which many strangers
#   share: the plate or the name only;
# - a product or a description band: none.
#
# Without a signature a record counts alone, as every record did before. It is an estimate with a
# known lean: one person described in several ways counts a few times (never more than their
# records), and strangers of one gender and age band counted by that pair alone count once per
# band — a key with ROW_CAP rows is a hub whatever the count, which bounds the work either way.

_SIGNATURE_BASE = 1 << 48  # below every -person_id: a signature is never mistaken for a person


def _hashed(text: str) -> int:
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=6).digest(), "big")
    return -_SIGNATURE_BASE - h


def record_signatures(rec: PersonRecord) -> dict[str, int | None]:
    """The signatures a record's keys may carry, by what they say (see key_signature)."""
    gender = rec.gender if rec.gender not in ("", "unknown") else ""
    described = f"d:{gender}|{rec.age_band}" if gender and rec.age_band else None
    named = (f"n:{rec.names[0].text}" if rec.names else f"s:{min(rec.single_names)}" if rec.single_names else None)
    plate = f"p:{min(rec.plates)}" if rec.plates else None
    first_mark = min((t for t in rec.marks if ":" in t), default="")
    parts = {
        "plate": named or described,
        "mark": named or plate or described,
        "name": plate or (f"{described}|{first_mark}" if described else None),
        "weak_mark": named or plate,
        "weak_name": plate,
    }
    return {k: (_hashed(v) if v else None) for k, v in parts.items()}


def key_signature(kind: str, value: str, signatures: dict[str, int | None]) -> int | None:
    """The signature of one blocking-key row of a record (record_signatures), None for a row that
    counts alone."""
    if kind == KeyKind.PLATE:
        return signatures["plate"]
    if kind == KeyKind.MARK:
        return signatures["weak_mark" if "@" in value else "mark"]
    if kind == KeyKind.NAME:
        return signatures["name"]
    if kind == KeyKind.NAME_TOKEN:
        return signatures["weak_name"]
    return None
