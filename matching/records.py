"""What the matcher knows of an event person, loaded in a few set-based queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from matching import normalise as n


@dataclass(frozen=True)
class NameForm:
    """A full name ready to compare: parts, their phonetic codes, an order-insensitive key."""

    given: str
    family: str
    pg: str
    pf: str
    key: str  # sorted phonetic codes, the NAME blocking key
    text: str

    @classmethod
    def of(cls, given: str, family: str) -> NameForm:
        pg, pf = n.phonetic(given), n.phonetic(family)
        return cls(given, family, pg, pf, "|".join(sorted((pg, pf))), f"{given} {family}")


@dataclass
class PersonRecord:
    id: int
    organisation_id: int
    event_id: int
    store_id: int
    region: str
    occurred_at: datetime
    role: str
    name: str = ""
    full_names: set[tuple[str, str]] = field(default_factory=set)  # (given, family), nicknames canonical
    single_names: set[str] = field(default_factory=set)  # one-word names and aliases
    age_band: str = ""
    gender: str = ""
    height_cm: int | None = None
    build: str = ""
    hair: frozenset[str] = frozenset()
    clothing: frozenset[str] = frozenset()
    marks: frozenset[str] = frozenset()
    plates: dict[str, str] = field(default_factory=dict)  # OCR-folded → as typed (normalised)
    skus: set[str] = field(default_factory=set)
    profile_id: int | None = None
    names: list[NameForm] = field(default_factory=list)  # full_names, ready to compare
    age_index: int | None = None

    def finish(self) -> PersonRecord:
        self.names = [NameForm.of(g, f) for g, f in sorted(self.full_names)]
        self.age_index = AGE_INDEX.get(self.age_band)
        return self

    @property
    def has_identity(self) -> bool:
        return bool(self.full_names or self.single_names or self.marks or self.plates)


AGE_INDEX = {b: i for i, b in enumerate(["0-13", "14-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"])}

PERSON_FIELDS = (
    "id", "event_id", "role", "name", "aliases", "age_band", "gender", "height_cm", "build", "hair", "clothing",
    "marks", "event__organisation_id", "event__store_id", "event__store__region", "event__occurred_at",
    "profile_member__profile_id",
)


RECORDS_SQL = """
SELECT p.id, p.event_id, p.role, p.name, p.aliases, p.age_band, p.gender, p.height_cm, p.build, p.hair, p.clothing,
       p.marks, e.organisation_id, e.store_id, s.region, e.occurred_at, pm.profile_id,
       (SELECT COUNT(*) FROM events_eventperson q WHERE q.event_id = p.event_id AND q.role = ANY(%(roles)s)) AS people
FROM events_eventperson p
JOIN events_event e ON e.id = p.event_id
JOIN accounts_store s ON s.id = e.store_id
LEFT JOIN profiles_profilemember pm ON pm.person_id = p.id
WHERE p.id = ANY(%(ids)s)
"""
MATCHED = ["offender", "accomplice"]


def load_records(person_ids) -> dict[int, PersonRecord]:
    """Records of these people: three queries (people, their events' vehicles, their events' SKUs),
    whatever their number. A vehicle counts for a person when linked to them, or when they were the
    only offender of the event (counted in the database, so a record reads the same whichever batch
    loads it)."""
    ids = list(person_ids)
    if not ids:
        return {}
    connection.ensure_connection()
    with connection.connection.cursor() as cur:  # server-side binding: the id arrays are large
        cur.execute(RECORDS_SQL, {"ids": ids, "roles": MATCHED})
        rows = cur.fetchall()
        if not rows:
            return {}
        event_ids = list({r[1] for r in rows})
        cur.execute("SELECT event_id, person_id, plate_normalised FROM events_eventvehicle "
                    "WHERE event_id = ANY(%s) AND plate_normalised <> '' ORDER BY id", [event_ids])
        plates_by_event: dict[int, list[tuple[int | None, str]]] = defaultdict(list)
        for event_id, person_id, plate in cur.fetchall():
            plates_by_event[event_id].append((person_id, plate))
        cur.execute("SELECT event_id, sku FROM events_eventproduct WHERE event_id = ANY(%s) AND sku <> ''", [event_ids])
        skus_by_event: dict[int, set[str]] = defaultdict(set)
        for event_id, sku in cur.fetchall():
            skus_by_event[event_id].add(sku)
    out = {}
    for row in rows:
        r = dict(zip(PERSON_FIELDS, row[:-1], strict=True))
        rec = record_from_values(r)
        for person_id, plate in plates_by_event.get(r["event_id"], []):
            if person_id == r["id"] or (person_id is None and row[-1] == 1):
                rec.plates[n.ocr_fold_plate(plate)] = plate
        rec.skus = skus_by_event.get(r["event_id"], set())
        out[rec.id] = rec
    return out


def record_from_values(r: dict) -> PersonRecord:
    rec = PersonRecord(
        id=r["id"], organisation_id=r["event__organisation_id"], event_id=r["event_id"],
        store_id=r["event__store_id"], region=r["event__store__region"], occurred_at=r["event__occurred_at"],
        role=r["role"], name=r["name"], age_band=r["age_band"], gender=r["gender"], height_cm=r["height_cm"],
        build=r["build"], hair=n.text_tokens(r["hair"]), clothing=n.text_tokens(r["clothing"]),
        marks=n.mark_tokens(r["marks"]), profile_id=r.get("profile_member__profile_id"),
    )
    for text in [r["name"], *(r["aliases"] or [])]:
        parts = n.name_parts(text)
        if parts:
            rec.full_names.add(parts)
        else:
            rec.single_names.update(n.canonical_given(w) for w in n.words(text) if not w.isdigit())
    return rec.finish()
