"""What the matcher knows of an event person, loaded in a few set-based queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from matching import normalise as n


@dataclass(frozen=True)
class NameForm:
    """A full name ready to compare: parts, their phonetic codes, an order-insensitive key, and the
    full names the given name may be short for (matching.normalise.given_forms)."""

    given: str
    family: str
    pg: str
    pf: str
    key: str  # sorted phonetic codes, the NAME blocking key
    text: str
    forms: frozenset[str] = frozenset()

    @classmethod
    def of(cls, given: str, family: str) -> NameForm:
        pg, pf = n.phonetic(given), n.phonetic(family)
        return cls(given, family, pg, pf, name_key(pg, pf), f"{given} {family}", n.given_forms(given))


def name_key(pg: str, pf: str) -> str:
    """The NAME blocking key of a given and a family name's phonetic codes (order-insensitive)."""
    return "|".join(sorted((pg, pf)))


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
    full_names: set[tuple[str, str]] = field(default_factory=set)  # (given, family), lower case, as written
    single_names: set[str] = field(default_factory=set)  # one-word names and aliases
    age_band: str = ""
    gender: str = ""
    height_cm: int | None = None
    build: str = ""
    hair: frozenset[str] = frozenset()
    clothing: frozenset[str] = frozenset()
    marks: frozenset[str] = frozenset()  # blocking tokens of the marks (matching.normalise.mark_tokens)
    mark_list: tuple[n.Mark, ...] = ()  # the marks, parsed
    plates: dict[str, str] = field(default_factory=dict)  # OCR-folded → as typed (normalised)
    skus: set[str] = field(default_factory=set)
    profile_id: int | None = None
    names: list[NameForm] = field(default_factory=list)  # full_names, ready to compare
    age_index: int | None = None
    # Who else offended in the same event, by what says who they are (companion_tokens): records of
    # two events sharing a co-offender are more likely one person (offender groups).
    companions: frozenset[str] = frozenset()
    # What it was read from, as a matching_matchrecord row (MATCH_RECORD_COLUMNS), to be stored as is.
    source: tuple = field(default=(), compare=False, repr=False)

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


# One statement, one round trip: the people, their events' plates (with the person each is linked
# to) and SKUs as arrays, and — only for an event with a plate linked to nobody — how many offenders
# it had (such a plate counts for a person who was the only one).
RECORDS_SQL = """
SELECT p.id, p.event_id, p.role, p.name, p.aliases, p.age_band, p.gender, p.height_cm, p.build, p.hair, p.clothing,
       p.marks, e.organisation_id, e.store_id, s.region, e.occurred_at, pm.profile_id,
       v.person_ids, v.plates, pr.skus,
       CASE WHEN v.unlinked THEN (SELECT COUNT(*) FROM events_eventperson q
                                  WHERE q.event_id = p.event_id AND q.role = ANY(%(roles)s)) END AS people,
       c.names, c.marks
FROM events_eventperson p
JOIN events_event e ON e.id = p.event_id
JOIN accounts_store s ON s.id = e.store_id
LEFT JOIN profiles_profilemember pm ON pm.person_id = p.id
LEFT JOIN LATERAL (
    SELECT array_agg(ev.person_id ORDER BY ev.id) AS person_ids, array_agg(ev.plate_normalised ORDER BY ev.id) AS plates,
           bool_or(ev.person_id IS NULL) AS unlinked
    FROM events_eventvehicle ev WHERE ev.event_id = p.event_id AND ev.plate_normalised <> '') v ON true
LEFT JOIN LATERAL (
    SELECT array_agg(ep.sku) AS skus FROM events_eventproduct ep WHERE ep.event_id = p.event_id AND ep.sku <> '') pr ON true
LEFT JOIN LATERAL (
    SELECT array_agg(o.name ORDER BY o.id) AS names, array_agg(o.marks ORDER BY o.id) AS marks
    FROM events_eventperson o WHERE o.event_id = p.event_id AND o.id <> p.id AND o.role = ANY(%(roles)s)) c ON true
WHERE p.id = ANY(%(ids)s)
"""
MATCHED = ["offender", "accomplice"]

# The compact record (matching_matchrecord): the columns a record is read from, as they are stored
# (the plates that count for the person already chosen, RECORDS_SQL's rule).
MATCH_RECORD_COLUMNS = ("person_id, organisation_id, event_id, store_id, region, occurred_at, role, name, aliases, "
                        "age_band, gender, height_cm, build, hair, clothing, marks, plates, skus, companions")

MATCH_RECORDS_SQL = """
SELECT r.person_id, r.event_id, r.role, r.name, r.aliases, r.age_band, r.gender, r.height_cm, r.build, r.hair,
       r.clothing, r.marks, r.organisation_id, r.store_id, r.region, r.occurred_at, pm.profile_id, r.plates, r.skus,
       r.companions
FROM matching_matchrecord r LEFT JOIN profiles_profilemember pm ON pm.person_id = r.person_id
WHERE r.person_id = ANY(%(ids)s)
"""


def raw_cursor():
    """A cursor of the underlying psycopg connection (same connection, same transaction), binding
    parameters on the server: Django's client-side binding quotes every element of a large array
    parameter in Python, which costs more than the query."""
    connection.ensure_connection()
    return connection.connection.cursor()


def load_records(person_ids) -> dict[int, PersonRecord]:
    """Records of these people from the event tables, in one statement whatever their number. A
    vehicle counts for a person when linked to them, or when they were the only offender of the
    event (counted in the database, so a record reads the same whichever batch loads it)."""
    ids = list(person_ids)
    if not ids:
        return {}
    with raw_cursor() as cur:
        cur.execute(RECORDS_SQL, {"ids": ids, "roles": MATCHED})
        rows = cur.fetchall()
    out = {}
    for row in rows:
        vehicle_people, plates, skus, people, companion_names, companion_marks = row[17:]
        r_id = row[0]
        counted = [plate for person_id, plate in zip(vehicle_people or (), plates or (), strict=True)
                   if person_id == r_id or (person_id is None and people == 1)]
        rec = _record(row[:17], counted, skus or [],
                      companion_tokens(zip(companion_names or (), companion_marks or (), strict=True)))
        out[rec.id] = rec
    return out


def write_match_records(cur, records: list[PersonRecord]) -> None:
    """COPY the compact records of these people (their old ones deleted by the caller, with their keys)."""
    with cur.copy(f"COPY matching_matchrecord ({MATCH_RECORD_COLUMNS}) FROM STDIN") as copy:
        for rec in records:
            copy.write_row(rec.source)


def load_match_records(person_ids) -> dict[int, PersonRecord]:
    """Records of candidates: from their compact rows (one page each), or, for a person whose keys
    were stored before compact records existed, from the event tables."""
    ids = list(person_ids)
    if not ids:
        return {}
    with raw_cursor() as cur:
        cur.execute(MATCH_RECORDS_SQL, {"ids": ids})
        rows = cur.fetchall()
    out = {}
    for row in rows:
        rec = _record(row[:17], row[17], row[18], row[19] or ())
        out[rec.id] = rec
    missing = [i for i in ids if i not in out]
    if missing:
        out.update(load_records(missing))
    return out


def companion_tokens(people) -> frozenset[str]:
    """What says who the other offenders of an event are, from their (name, marks): each full name's
    phonetic key (as the NAME blocking key, so "Jon Smyth" is "John Smith") and each specific mark
    (type and motif: "tattoo:snake"). Not their plates: a plate of the event is the record's own
    evidence already, and not a family name or a mark's place alone, which strangers share."""
    tokens = set()
    for name, marks in people:
        parts = n.name_parts(name or "")
        if parts:
            tokens.add("n:" + NameForm.of(*parts).key)
        tokens.update("m:" + t for t in n.mark_tokens(marks or "") if ":" in t)
    return frozenset(t[:80] for t in tokens)


def _record(values, plates: list[str], skus: list[str], companions=()) -> PersonRecord:
    """A record from PERSON_FIELDS values, the plates and SKUs that count for the person, and the
    tokens of their event's other offenders (companion_tokens)."""
    r = dict(zip(PERSON_FIELDS, values, strict=True))
    rec = record_from_values(r)
    for plate in plates:
        rec.plates[n.ocr_fold_plate(plate)] = plate
    rec.skus = set(skus)
    rec.companions = frozenset(companions)
    rec.source = (r["id"], r["event__organisation_id"], r["event_id"], r["event__store_id"], r["event__store__region"],
                  r["event__occurred_at"], r["role"], r["name"], r["aliases"] or [], r["age_band"], r["gender"],
                  r["height_cm"], r["build"], r["hair"], r["clothing"], r["marks"], list(plates), list(skus),
                  sorted(rec.companions))
    return rec


def record_from_values(r: dict) -> PersonRecord:
    rec = PersonRecord(
        id=r["id"], organisation_id=r["event__organisation_id"], event_id=r["event_id"],
        store_id=r["event__store_id"], region=r["event__store__region"], occurred_at=r["event__occurred_at"],
        role=r["role"], name=r["name"], age_band=r["age_band"], gender=r["gender"], height_cm=r["height_cm"],
        build=r["build"], hair=n.text_tokens(r["hair"]), clothing=n.text_tokens(r["clothing"]),
        marks=n.mark_tokens(r["marks"]), mark_list=n.parse_marks(r["marks"]), profile_id=r.get("profile_member__profile_id"),
    )
    for text in [r["name"], *(r["aliases"] or [])]:
        parts = n.name_parts(text)
        if parts:
            rec.full_names.add(parts)
        else:
            rec.single_names.update(w for w in n.words(text) if not w.isdigit())
    return rec.finish()
