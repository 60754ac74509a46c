"""Blocking keys: values two records of the same person are likely to share. Candidates for a new
record are the records that share a key with it (an indexed lookup, DESIGN.md "Matching")."""

from __future__ import annotations

from matching import normalise as n
from matching.models import KeyKind
from matching.records import PersonRecord


def _day(rec: PersonRecord) -> int:
    return int(rec.occurred_at.timestamp() // 86400)


def keys_for(rec: PersonRecord, *, sku_window_days: int = 14) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for nf in rec.names:
        # Order-insensitive, so "Smith John" typed surname-first still meets "John Smith".
        keys.add((KeyKind.NAME, nf.key[:64]))
        keys.add((KeyKind.NAME_TOKEN, f"f:{nf.pf}"[:64]))
        # A misspelling changes one part's sound, rarely the first letter of the other part.
        keys.add((KeyKind.NAME_TOKEN, f"fi:{nf.pf}:{nf.given[:1]}"[:64]))
        keys.add((KeyKind.NAME_TOKEN, f"gi:{nf.pg}:{nf.family[:1]}"[:64]))
    for single in rec.single_names | {nf.given for nf in rec.names}:
        if len(single) > 2:
            keys.add((KeyKind.NAME_TOKEN, f"s:{n.phonetic(single)}"[:64]))
    for folded in rec.plates:
        keys.add((KeyKind.PLATE, folded[:64]))
        for mask in n.plate_masks(folded):  # one misread character
            keys.add((KeyKind.PLATE, mask[:64]))
    for mark in rec.marks:
        if mark.count(":") == 1 or "@" in mark:  # type:object (tattoo:star) or type@place (scar@chin)
            keys.add((KeyKind.MARK, mark[:64]))
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
