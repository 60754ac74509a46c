"""What the matcher knows of an event person, loaded in a few set-based queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from events.models import EventPerson, EventProduct, EventVehicle
from matching import normalise as n


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
    hair: set[str] = field(default_factory=set)
    clothing: set[str] = field(default_factory=set)
    marks: set[str] = field(default_factory=set)
    plates: dict[str, str] = field(default_factory=dict)  # OCR-folded → as typed (normalised)
    skus: set[str] = field(default_factory=set)
    profile_id: int | None = None

    @property
    def has_identity(self) -> bool:
        return bool(self.full_names or self.single_names or self.marks or self.plates)


PERSON_FIELDS = (
    "id", "event_id", "role", "name", "aliases", "age_band", "gender", "height_cm", "build", "hair", "clothing",
    "marks", "event__organisation_id", "event__store_id", "event__store__region", "event__occurred_at",
    "profile_member__profile_id",
)


def load_records(person_ids) -> dict[int, PersonRecord]:
    rows = list(EventPerson.objects.filter(id__in=list(person_ids)).values(*PERSON_FIELDS))
    if not rows:
        return {}
    event_ids = {r["event_id"] for r in rows}
    plates_by_event: dict[int, list[tuple[int | None, str]]] = defaultdict(list)
    for v in EventVehicle.objects.filter(event_id__in=event_ids).exclude(plate_normalised="").values(
        "event_id", "person_id", "plate_normalised"
    ):
        plates_by_event[v["event_id"]].append((v["person_id"], v["plate_normalised"]))
    skus_by_event: dict[int, set[str]] = defaultdict(set)
    for p in EventProduct.objects.filter(event_id__in=event_ids).exclude(sku="").values("event_id", "sku"):
        skus_by_event[p["event_id"]].add(p["sku"])
    offenders_per_event: dict[int, int] = defaultdict(int)
    for r in rows:
        offenders_per_event[r["event_id"]] += 1
    out = {}
    for r in rows:
        rec = record_from_values(r)
        for person_id, plate in plates_by_event.get(r["event_id"], []):
            # A vehicle counts for a person when linked to them, or when they were the only person.
            if person_id == r["id"] or (person_id is None and offenders_per_event[r["event_id"]] == 1):
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
    return rec
