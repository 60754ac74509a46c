"""A synthetic retail-crime world with ground truth, for measuring Connect the Dots (bench/,
tests) — deterministic for a seed.

A population of offenders is drawn first; events are then their appearances, described the way
store staff describe people, with the noise real reports have:

- repeat offending is Zipf-distributed (a few prolific offenders, a long tail of people seen once
  or twice), within an active period, mostly at favourite stores in the home region, across
  retailers;
- names are often missing, and when given come as nicknames, misspellings, surname first, the
  given name or a street alias alone; ages and heights are estimates; clothing changes from event
  to event (a few favourite items recur); hair is cut; marks are described in different words and
  are not always seen; plates are typed with spaces, dashes, lower case, OCR confusions
  (O/0, I/1, B/8, S/5, Z/2) and the odd near-miss;
- groups offend together across retailers;
- hard negatives: common names ("John Smith" is several people), families sharing a surname and
  the family car, hire-company cars driven by many people.

How much of each kind of noise there is, is a knob of WorldConfig (name typos, nicknames, missing
fields, mark paraphrase, plate noise, descriptor drift): 1.0, the default, is this generator as it
always was (a seed gives the same world); a noise sweep runs each at half and at double. The
generator's own vocabulary and habits (matching/synthetic_vocab.py) are written independently of
the matcher's tables (matching/normalise.py, matching/data/, the `nicknames` package), and it
imports none of them: a matcher does not get to know the noise.

`generate()` returns events in the interchange format (shared/INTERCHANGE.md) and the truth: for
every (external id, person ref) the true person id and which true name, marks and vehicle the
record shows. `load()` writes events straight into the model tables with COPY (the importer's
fast path, events.bulk.copy_insert) for benchmarks; seed_demo and tests can instead submit
them through events.services like any other event.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from events.synthetic import (
    BOTTOMS,
    CAR_COLOURS,
    COLOURS,
    EXTRAS,
    MAKES,
    NARRATIVES,
    TOPS,
    TYPE_WEIGHTS,
    WEAPONS,
    SyntheticProduct,
    SyntheticStore,
    synthetic_products,
    synthetic_stores,
)
from matching.synthetic_quality import Quality, evaluate, shares_evidence, top_per_person  # noqa: F401 (the API)
from matching.synthetic_vocab import (
    AGE_BANDS,
    BUILDS,
    COMMON_NAMES,
    FEMALE_GIVEN,
    HAIR_STYLES,
    KEYBOARD,
    MALE_GIVEN,
    MARK_OBJECTS,
    MARK_PLACES,
    NEAR_MISS,
    OCR_TWINS,
    SIDES,
    STREET_ALIASES,
    SURNAMES,
    WIDE_NICKNAMES,
    nickname_habits,
    wide_mark_text,
    wide_plate_format,
)


@dataclass
class Mark:
    id: str
    kind: str
    obj: str  # "" for a scar or piercing
    side: str
    place: str


@dataclass
class Person:
    """A true person of the synthetic world."""

    id: int
    given: str
    family: str
    gender: str
    age_band: str
    height_cm: int
    build: str
    hair: str
    aliases: list[str]
    marks: list[Mark]
    plate: str  # "" when they have no car
    vehicle: tuple[str, str, str]
    region: str
    stores: list[str]  # favourite stores (codes, any retailer)
    wardrobe: list[str]
    skus: list[str]
    start_day: int
    end_day: int
    family_id: int | None = None
    group_id: int | None = None
    one_off: bool = False

    @property
    def name_key(self) -> str:
        return f"{self.given} {self.family}"


@dataclass
class Truth:
    """What one event person really is, and which true name, marks and vehicle their record shows."""

    person: int
    name: str = ""  # the true full name the recorded name or alias stands for, "" when none was recorded
    marks: list[str] = field(default_factory=list)
    vehicle: str = ""  # the true plate of the vehicle recorded with them

    def as_dict(self) -> dict:
        return {"person": self.person, "name": self.name, "marks": self.marks, "vehicle": self.vehicle}


@dataclass
class World:
    """Retailers (slug → name and stores), products, the events and the truth per (external id, ref)."""

    retailers: dict[str, tuple[str, list[SyntheticStore]]]
    products: list[SyntheticProduct]
    events: list[dict[str, Any]]
    truth: dict[tuple[str, str], Truth]
    people: list[Person]

    def retailer_of_store(self) -> dict[str, str]:
        return {s.code: slug for slug, (_, stores) in self.retailers.items() for s in stores}


@dataclass(frozen=True)
class WorldConfig:
    events: int = 20_000
    days: int = 730
    retailers: tuple[tuple[str, str, str, int], ...] = (
        ("freshco", "FreshCo Supermarkets", "FC", 14), ("harbour", "Harbour Pharmacy", "HP", 8),
        ("megamart", "MegaMart", "MM", 10),
    )
    pool_per_event: float = 0.12  # repeat offenders in the pool, per event
    zipf_offset: float = 20.0  # weight of the r-th most active offender ∝ 1/(r + offset)
    one_off_share: float = 0.3  # lead offenders seen only this once
    group_share: float = 0.12  # of pool offenders, members of a group
    family_share: float = 0.08  # of pool offenders, members of a family sharing a surname and car
    hire_share: float = 0.04  # of events with a vehicle, a hire-company car
    common_name_share: float = 0.03  # of people called one of a few very common names
    other_store_share: float = 0.12  # of appearances away from the favourite stores
    name_recorded: float = 0.55  # a repeat offender's name is recorded (staff know them)
    name_recorded_one_off: float = 0.3
    mark_seen: float = 0.6
    car_owner: float = 0.45
    car_recorded: float = 0.45
    witness_share: float = 0.05  # events with a victim or witness described too
    # Noise knobs. 1.0 is the noise this generator always had (a seed gives the same world); each scales
    # its kind of noise (0.5 halves it, 2.0 doubles it), and above 1.0 wider habits come in too
    # (matching.synthetic_vocab: more nicknames, mark wordings, plate formats, a second typo).
    name_typos: float = 1.0  # misspelt given names and surnames
    nicknames: float = 1.0  # a nickname or short form for the given name
    missing_fields: float = 1.0  # descriptors left blank, marks not seen, a car's make or model not noted
    mark_paraphrase: float = 1.0  # the same mark worded another way
    plate_noise: float = 1.0  # plates misread (OCR twins, near misses) and typed in other formats
    descriptor_drift: float = 1.0  # age band, build, hair, height and clothing described differently


NOISE_KNOBS = ("name_typos", "nicknames", "missing_fields", "mark_paraphrase", "plate_noise", "descriptor_drift")


def _rate(p: float, knob: float) -> float:
    """A noise probability at a knob's setting: exactly p at 1.0 (the same draws, the same world)."""
    return p if knob == 1.0 else max(0.0, min(1.0, p * knob))


def _kept(p_keep: float, knob: float) -> float:
    """The probability that something stays as it is when its noise (1 - p_keep) is scaled by the knob."""
    return p_keep if knob == 1.0 else max(0.0, min(1.0, 1 - (1 - p_keep) * knob))


def _zipf_choice(rng: random.Random, names: list[str], s: float = 1.0, offset: float = 1.0) -> list[float]:
    return [1 / (i + offset) ** s for i in range(len(names))]


class _Gen:
    def __init__(self, config: WorldConfig, seed: int, end: dt.datetime,
                 stores: dict[str, list[SyntheticStore]] | None = None):
        self.c = config
        self.rng = random.Random(seed)
        self.end = end
        self.products = synthetic_products(seed=seed)
        self.retailers = {slug: (name, (stores or {}).get(slug) or synthetic_stores(prefix, name.split()[0], count, seed=seed))
                          for slug, name, prefix, count in config.retailers}
        self.stores = [s for _, stores in self.retailers.values() for s in stores]
        self.stores_by_region: dict[str, list[str]] = {}
        for s in self.stores:
            self.stores_by_region.setdefault(s.region, []).append(s.code)
        self.regions = sorted(self.stores_by_region)
        # Most people live where most stores are.
        self.region_weights = [len(self.stores_by_region[r]) for r in self.regions]
        self.male = sorted(MALE_GIVEN)
        self.female = sorted(FEMALE_GIVEN)
        self.male_w = list(itertools.accumulate(_zipf_choice(self.rng, self.male, 0.9, 3)))
        self.female_w = list(itertools.accumulate(_zipf_choice(self.rng, self.female, 0.9, 3)))
        self.surname_w = list(itertools.accumulate(_zipf_choice(self.rng, SURNAMES, 0.9, 2)))
        self.next_id = 1
        self.plates: set[str] = set()
        self.hire_plates = [self._new_plate() for _ in range(6)]

    # --- people -------------------------------------------------------------------------------

    def _pick(self, items: list[str], cum: list[float]) -> str:
        x = self.rng.random() * cum[-1]
        return items[bisect.bisect_left(cum, x)]

    def _new_plate(self) -> str:
        rng = self.rng
        while True:
            if rng.random() < 0.8:
                plate = "".join(rng.choice("ABCDEFGHJKLMNOPRSTUVWXYZ") for _ in range(3)) + f"{rng.randrange(1000):03d}"
            else:
                plate = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2)) + f"{rng.randrange(10000):04d}"
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def _mark(self) -> Mark:
        rng = self.rng
        kind = rng.choices(["tattoo", "scar", "piercing"], [65, 25, 10])[0]
        obj = rng.choice(MARK_OBJECTS) if kind == "tattoo" else ""
        m = Mark(id="", kind=kind, obj=obj, side=rng.choice(SIDES), place=rng.choice(MARK_PLACES[kind]))
        m.id = f"{kind}:{obj}:{m.side}:{m.place}"
        return m

    def person(self, *, region: str | None = None, family: str | None = None, one_off: bool = False,
               start_day: int | None = None) -> Person:
        rng, c = self.rng, self.c
        gender = rng.choices(["male", "female"], [72, 28])[0]
        if rng.random() < c.common_name_share:
            given, fam = rng.choice([n for n in COMMON_NAMES if (n[0] in MALE_GIVEN) == (gender == "male")])
        else:
            given = self._pick(self.male, self.male_w) if gender == "male" else self._pick(self.female, self.female_w)
            fam = self._pick(SURNAMES, self.surname_w)
        if family:
            fam = family
        region = region or rng.choices(self.regions, self.region_weights)[0]
        local = self.stores_by_region[region]
        favourites = rng.sample(local, min(len(local), rng.randint(1, 4)))
        if rng.random() < 0.25:  # travels: a favourite store elsewhere
            favourites.append(rng.choice(self.stores).code)
        marks = [self._mark() for _ in range(rng.choices([0, 1, 2, 3], [45, 35, 15, 5])[0])]
        make, models = rng.choice(MAKES)
        wardrobe = [f"{rng.choice(COLOURS)} {rng.choice(TOPS)}", f"{rng.choice(COLOURS)} {rng.choice(BOTTOMS)}",
                    f"{rng.choice(COLOURS)} {rng.choice(EXTRAS)}", f"{rng.choice(COLOURS)} {rng.choice(TOPS)}"]
        start = rng.randrange(self.c.days) if start_day is None else max(0, min(self.c.days - 1, start_day))
        length = 0 if one_off else int(rng.expovariate(1 / 300)) + 30
        p = Person(
            id=self.next_id, given=given, family=fam, gender=gender,
            age_band=rng.choices(AGE_BANDS, [8, 25, 33, 20, 10, 4])[0],
            height_cm=round(rng.gauss(177 if gender == "male" else 164, 7)),
            build=rng.choice(BUILDS), hair=rng.choice(HAIR_STYLES),
            aliases=rng.sample(STREET_ALIASES, rng.choices([0, 1, 2], [70, 25, 5])[0]),
            marks=marks, plate=self._new_plate() if rng.random() < c.car_owner else "",
            vehicle=(make, rng.choice(models), rng.choice(CAR_COLOURS)), region=region, stores=favourites,
            wardrobe=wardrobe, skus=[p.sku for p in rng.sample(self.products, 3)],
            start_day=start, end_day=min(self.c.days - 1, start + length), one_off=one_off,
        )
        self.next_id += 1
        return p

    def population(self, size: int) -> list[Person]:
        rng, c = self.rng, self.c
        people: list[Person] = []
        family_id = group_id = 0
        while len(people) < size:
            r = rng.random()
            if r < c.family_share / 2.5:  # a family of 2-3 sharing a surname, region and car
                family_id += 1
                first = self.person()
                first.family_id = family_id
                if not first.plate:
                    first.plate = self._new_plate()
                members = [first]
                for _ in range(rng.choice([1, 2])):
                    other = self.person(region=first.region, family=first.family,
                                        start_day=max(0, first.start_day + rng.randint(-60, 60)))
                    other.family_id, other.plate, other.vehicle = family_id, first.plate, first.vehicle
                    other.stores = sorted(set(other.stores) | set(first.stores[:1]))
                    members.append(other)
                people.extend(members)
            elif r < c.family_share / 2.5 + c.group_share / 3:  # a group of 2-4 offending together
                group_id += 1
                first = self.person()
                members = [first]
                for _ in range(rng.choice([1, 2, 3])):
                    other = self.person(region=first.region, start_day=max(0, first.start_day + rng.randint(-30, 30)))
                    members.append(other)
                shared_stores = sorted({s for m in members for s in m.stores})
                for m in members:
                    m.group_id = group_id
                    m.stores = shared_stores  # across retailers: the group's stores are everyone's
                    m.end_day = max(m.start_day, members[0].end_day)
                people.extend(members)
            else:
                people.append(self.person())
        # Activity: Zipf by rank, the rank order shuffled so activity is independent of the traits.
        rng.shuffle(people)
        return people[:size]

    # --- how a person is described --------------------------------------------------------------

    def _misspell(self, word: str) -> str:
        rng = self.rng
        if len(word) < 4:
            return word
        i = rng.randrange(1, len(word) - 1)
        op = rng.choice(["swap", "drop", "double", "sub", "vowel"])
        if op == "swap":
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if op == "drop":
            return word[:i] + word[i + 1:]
        if op == "double":
            return word[:i] + word[i] + word[i:]
        if op == "vowel":
            vowels = [j for j, ch in enumerate(word) if ch in "aeiouy" and j > 0]
            if vowels:
                j = rng.choice(vowels)
                return word[:j] + rng.choice([v for v in "aeiouy" if v != word[j]]) + word[j + 1:]
        return word[:i] + rng.choice(KEYBOARD) + word[i + 1:]

    def _display(self, word: str) -> str:
        return " ".join(w.capitalize() for w in word.split())

    def name(self, p: Person, *, recorded: bool) -> tuple[str, list[str], str]:
        """(name, aliases, the true name it stands for or "")."""
        rng = self.rng
        if not recorded:
            if p.aliases and rng.random() < 0.15:
                return "", [rng.choice(p.aliases)], p.name_key
            return "", [], ""
        given, family = p.given, p.family
        nick_knob, typo_knob = self.c.nicknames, self.c.name_typos
        nicks = (MALE_GIVEN if p.gender == "male" else FEMALE_GIVEN).get(given, [])
        if nick_knob > 1:  # wider habits: more short forms, and nicknames made from any name
            nicks = sorted(set(nicks) | set(WIDE_NICKNAMES.get(given, [])) | set(nickname_habits(given, rng)))
        if nicks and rng.random() < _rate(0.2, nick_knob):
            given = rng.choice(nicks)
        r = rng.random()
        if r < _rate(0.12, typo_knob):
            if rng.random() < 0.5:
                family = self._misspell(family)
            else:
                given = self._misspell(given)
            if typo_knob > 1 and rng.random() < min(1.0, (typo_knob - 1) / 2):  # and a second slip
                family, given = (family, self._misspell(given)) if rng.random() < 0.5 else (self._misspell(family), given)
        aliases = [a for a in p.aliases if rng.random() < 0.4]
        r = rng.random()
        if r < 0.04:
            text = f"{self._display(family)}, {self._display(given)}"
        elif r < 0.07:
            text = f"{given[0].upper()} {self._display(family)}"
        elif r < 0.13:
            text = self._display(given)  # given name only
        elif r < 0.16 and p.aliases:
            text, aliases = self._display(rng.choice(p.aliases)), []
        elif r < 0.18:
            text = f"{self._display(given)} {rng.choice(['Lee', 'Jay', 'Ann', 'Marie', 'James', 'John'])} {self._display(family)}"
        else:
            text = f"{self._display(given)} {self._display(family)}"
        if rng.random() < 0.1:
            text = text.lower() if rng.random() < 0.5 else text.upper()
        return text, [self._display(a) for a in aliases], p.name_key

    def mark_text(self, m: Mark) -> str:
        rng, knob = self.rng, self.c.mark_paraphrase
        if knob < 1 and rng.random() < 1 - knob:  # the plain wording, one way for each kind of mark
            return {"tattoo": f"tattoo of a {m.obj} on {m.side} {m.place}", "scar": f"scar on {m.side} {m.place}"}.get(
                m.kind, f"{m.place} piercing")
        if knob > 1 and rng.random() < min(1.0, knob - 1):
            return wide_mark_text(m.kind, m.obj, m.side, m.place, rng)
        if m.kind == "tattoo":
            return rng.choice([
                f"tattoo of a {m.obj} on {m.side} {m.place}", f"{m.obj} tattoo, {m.side} {m.place}",
                f"{m.obj} tat on {m.place}", f"{m.side} {m.place} tattoo ({m.obj})", f"tattoo on {m.place}",
                f"{m.obj} tattoo on {m.place}", f"tattooed {m.obj}, {m.place}",
            ])
        if m.kind == "scar":
            return rng.choice([f"scar on {m.side} {m.place}", f"{m.place} scar", f"scar above {m.side} {m.place}",
                               f"scarred {m.place}"])
        return rng.choice([f"{m.place} piercing", f"pierced {m.place}", f"{m.place} ring", f"{m.side} {m.place} stud"])

    def plate_text(self, plate: str) -> str:
        rng, knob = self.rng, self.c.plate_noise
        r = rng.random()
        if r < _rate(0.10, knob):  # an OCR confusion
            idx = [i for i, ch in enumerate(plate) if ch in OCR_TWINS]
            if idx:
                i = rng.choice(idx)
                plate = plate[:i] + OCR_TWINS[plate[i]] + plate[i + 1:]
        elif r < _rate(0.14, knob):  # a near-miss a person makes
            idx = [i for i, ch in enumerate(plate) if ch in NEAR_MISS]
            if idx:
                i = rng.choice(idx)
                plate = plate[:i] + NEAR_MISS[plate[i]] + plate[i + 1:]
        if knob > 1 and rng.random() < min(1.0, (knob - 1) / 2):  # wider habits: other ways of typing it
            return wide_plate_format(plate, rng)
        r = rng.random()
        if r < _rate(0.15, knob):
            return plate.lower()
        if r < _rate(0.25, knob):
            return f"{plate[:3]} {plate[3:]}"
        if r < _rate(0.30, knob):
            return f"{plate[:3]}-{plate[3:]}"
        return plate

    def clothing(self, p: Person) -> str:
        rng = self.rng
        parts = []
        for slot, options in ((0, TOPS), (1, BOTTOMS), (2, EXTRAS)):
            if slot == 2 and rng.random() < 0.4:
                continue
            if rng.random() < _kept(0.55, self.c.descriptor_drift):
                item = p.wardrobe[3] if slot == 0 and rng.random() < 0.4 else p.wardrobe[slot]
            else:
                item = f"{rng.choice(COLOURS)} {rng.choice(options)}"
            parts.append(item)
        return ", ".join(parts)

    def describe(self, p: Person, *, role: str, ref: str, day: int) -> tuple[dict[str, Any], Truth]:
        rng, c = self.rng, self.c
        drift, missing = c.descriptor_drift, c.missing_fields
        recorded = rng.random() < (c.name_recorded_one_off if p.one_off else c.name_recorded)
        name, aliases, name_key = self.name(p, recorded=recorded)
        age = p.age_band
        # Ages are estimates, and people age: a band off now and then, the next band later on.
        if rng.random() < _rate(0.15, drift) or (day - p.start_day > 365 and rng.random() < _rate(0.3, drift)):
            i = AGE_BANDS.index(age) + rng.choice([-1, 1])
            age = AGE_BANDS[max(0, min(len(AGE_BANDS) - 1, i))]
        shown_marks = [m for m in p.marks if rng.random() < _kept(c.mark_seen, missing)]
        hair = p.hair if rng.random() < _kept(0.8, drift) else rng.choice(HAIR_STYLES)
        build = p.build if rng.random() < _kept(0.85, drift) else rng.choice(BUILDS)
        spread = 4 if drift == 1.0 else 4 * drift  # cm: how far a height estimate is off
        person = {
            "ref": ref, "role": role, "name": name, "aliases": aliases,
            "age_band": age if rng.random() < _kept(0.9, missing) else "",
            "gender": p.gender if rng.random() < _kept(0.95, missing) else "",
            "height_cm": (max(120, min(215, p.height_cm + round(rng.gauss(0, spread))))
                          if rng.random() < _kept(0.7, missing) else None),
            "build": build if rng.random() < _kept(0.85, missing) else "",
            "hair": hair if rng.random() < _kept(0.8, missing) else "",
            "clothing": self.clothing(p) if rng.random() < _kept(0.9, missing) else "",
            "marks": "; ".join(self.mark_text(m) for m in shown_marks),
        }
        return person, Truth(person=p.id, name=name_key, marks=sorted(m.id for m in shown_marks))

    # --- events -------------------------------------------------------------------------------

    def event(self, day: int, people: list[tuple[Person, str]], *, store: str) -> tuple[dict[str, Any], list[Truth]]:
        rng, c = self.rng, self.c
        kind = rng.choices([t for t, _ in TYPE_WEIGHTS], [w for _, w in TYPE_WEIGHTS])[0]
        when = self.end - dt.timedelta(days=c.days - day)
        nzt = dt.timezone(dt.timedelta(hours=12))
        local = when.astimezone(nzt).replace(hour=rng.randint(8, 20), minute=rng.randrange(60), second=0, microsecond=0)
        persons, truths, vehicles = [], [], []
        for i, (p, role) in enumerate(people):
            person, truth = self.describe(p, role=role, ref=f"p{i + 1}", day=day)
            persons.append(person)
            truths.append(truth)
        lead = people[0][0]
        plate = ""
        if rng.random() < c.hire_share * 0.5:
            plate = rng.choice(self.hire_plates)
        elif lead.plate and rng.random() < c.car_recorded:
            plate = lead.plate
        if plate:
            make, model, colour = lead.vehicle if plate == lead.plate else ("Toyota", "Corolla", "white")
            linked = rng.random() < 0.8
            vehicles.append({"plate": self.plate_text(plate), "make": make if rng.random() < _kept(0.7, c.missing_fields) else "",
                             "model": model if rng.random() < _kept(0.5, c.missing_fields) else "", "colour": colour,
                             "person_ref": "p1" if linked else ""})
            if linked or len(people) == 1:
                truths[0].vehicle = plate
        # Victims and witnesses are described too, now and then; the matcher leaves them alone.
        if rng.random() < c.witness_share:
            w = self.person(one_off=True)
            role = rng.choice(["victim", "witness"])
            person, truth = self.describe(w, role=role, ref=f"p{len(persons) + 1}", day=day)
            persons.append(person)
            truths.append(truth)
        taken = []
        if kind in ("theft", "burglary", "robbery", "fraud", "damage", "other", "assault"):
            n = rng.choices([1, 2, 3], [60, 30, 10])[0]
            favourite = [p for p in self.products if p.sku in lead.skus]
            for item in rng.sample(favourite if rng.random() < 0.6 else self.products, n):
                taken.append({"sku": item.sku, "description": item.description,
                              "quantity": rng.choices([1, 2, 3, 4, 6, 10], [40, 25, 12, 10, 8, 5])[0],
                              "unit_value": item.unit_value})
        threatened = kind in ("robbery", "threat", "assault") or rng.random() < 0.08
        used = kind == "assault" or (kind == "robbery" and rng.random() < 0.3)
        weapon = rng.choice(WEAPONS) if (kind == "robbery" or (threatened and rng.random() < 0.25)) else ""
        who = "Two people" if len(people) > 1 else ("A man" if lead.gender == "male" else "A woman")
        product = taken[0]["description"].lower() if taken else "stock"
        minor = persons[0]["age_band"] == "14-17"
        event = {
            "external_id": "", "store": store, "occurred_at": local.isoformat(), "type": kind,
            "prevented": kind == "theft" and rng.random() < 0.2, "threatened_violence": threatened,
            "used_violence": used, "weapon": weapon, "sensitive": minor, "sensitive_reason": "minor" if minor else "",
            "police_sharing": "", "police_reference": "",
            "narrative": rng.choice(NARRATIVES[kind]).format(who=who, product=product),
            "products": taken, "persons": persons, "vehicles": vehicles,
        }
        return event, truths

    def store_for(self, p: Person) -> str:
        if self.rng.random() < self.c.other_store_share:
            local = self.stores_by_region[p.region]
            return self.rng.choice(local if self.rng.random() < 0.6 else [s.code for s in self.stores])
        return self.rng.choice(p.stores)


def generate(events: int = 20_000, *, seed: int = 42, end: dt.datetime | None = None,
             config: WorldConfig | None = None, stores: dict[str, list[SyntheticStore]] | None = None) -> World:
    """A world of `events` events over `config.days` days before `end` (deterministic for the seed).
    `stores` gives a retailer's stores (slug → stores, codes PREFIX-NNN) instead of made-up ones,
    e.g. seed_demo's; external ids are PREFIX-YEAR-NNNNNN, numbered per retailer in time order."""
    config = config or WorldConfig(events=events)
    if config.events != events:
        config = WorldConfig(**{**config.__dict__, "events": events})
    end = end or dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC)
    g = _Gen(config, seed, end, stores)
    rng = g.rng
    pool = g.population(max(20, round(events * config.pool_per_event)))
    cum = list(itertools.accumulate(1 / (r + config.zipf_offset) for r in range(len(pool))))
    groups: dict[int, list[Person]] = {}
    for p in pool:
        if p.group_id is not None:
            groups.setdefault(p.group_id, []).append(p)
    drafts: list[tuple[int, dict, list[Truth]]] = []
    for _ in range(events):
        if rng.random() < config.one_off_share:
            lead = g.person(one_off=True)
            day = lead.start_day
        else:
            lead = pool[bisect.bisect_left(cum, rng.random() * cum[-1])]
            day = rng.randint(lead.start_day, lead.end_day)
        people = [(lead, "offender")]
        if lead.group_id is not None:
            for other in groups[lead.group_id]:
                if other is not lead and rng.random() < 0.55:
                    people.append((other, rng.choice(["offender", "accomplice"])))
        elif rng.random() < 0.2:  # a companion seen once, or a family member
            people.append((g.person(one_off=True, region=lead.region), rng.choice(["offender", "accomplice"])))
        event, truths = g.event(day, people[:4], store=g.store_for(lead))
        drafts.append((day, event, truths))
    # Events in time order; external ids by retailer prefix and number.
    drafts.sort(key=lambda d: d[1]["occurred_at"])
    prefix_of = {s.code: s.code.split("-")[0] for s in g.stores}
    counters: dict[str, int] = {}
    out_events, truth = [], {}
    for _, event, truths in drafts:
        prefix = prefix_of[event["store"]]
        counters[prefix] = counters.get(prefix, 0) + 1
        year = event["occurred_at"][:4]
        event["external_id"] = f"{prefix}-{year}-{counters[prefix]:06d}"
        for person, t in zip(event["persons"], truths, strict=True):
            truth[(event["external_id"], person["ref"])] = t
        out_events.append(event)
    return World(retailers=g.retailers, products=g.products, events=out_events, truth=truth, people=pool)


def truth_pairs(world: World) -> Iterator[tuple[tuple[str, str], tuple[str, str]]]:
    """Every pair of matched-role records of the same true person (for small worlds and tests)."""
    by_person: dict[int, list[tuple[str, str]]] = {}
    roles = {(e["external_id"], p["ref"]): p["role"] for e in world.events for p in e["persons"]}
    for key, t in world.truth.items():
        if roles[key] in ("offender", "accomplice"):
            by_person.setdefault(t.person, []).append(key)
    for keys in by_person.values():
        yield from itertools.combinations(keys, 2)


# --- Writing a world into the database ------------------------------------------------------------


def setup_retailers(world: World, *, ctd_opt_in: bool = True) -> dict[str, Any]:
    """The world's retailers, stores and catalogues (idempotent); returns slug → Organisation."""
    from accounts.models import Organisation, OrgKind, Store
    from events.models import Product

    orgs = {}
    for slug, (name, stores) in world.retailers.items():
        org, _ = Organisation.objects.unscoped().get_or_create(
            slug=slug, defaults={"name": name, "kind": OrgKind.RETAILER, "ctd_opt_in": ctd_opt_in})
        for s in stores:
            Store.objects.unscoped().get_or_create(organisation=org, code=s.code,
                                                   defaults={"name": s.name, "region": s.region, "timezone": s.timezone})
        for p in world.products:
            Product.objects.unscoped().get_or_create(organisation=org, sku=p.sku, defaults={
                "description": p.description, "unit_value": p.unit_value, "barcode": p.barcode})
        orgs[slug] = org
    return orgs


def load(world: World, events: list[dict[str, Any]] | None = None, *, batch: int = 5000,
         progress=None) -> dict[tuple[str, str], int]:
    """Write events (the world's, by default) into the event tables with COPY, as the importer's fast
    path does, without audit rows or matching jobs (a benchmark's bulk load; `rematch` picks the
    events up). Returns (external id, ref) → EventPerson id."""
    from django.db import transaction

    from accounts.models import Store
    from events.bulk import copy_insert
    from events.models import Event, EventPerson, EventProduct, EventVehicle, normalise_plate

    orgs = setup_retailers(world)
    store_objs = {s.code: s for s in Store.objects.unscoped().filter(organisation__in=orgs.values())}
    events = world.events if events is None else events
    ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(events), batch):
        chunk = events[start:start + batch]
        with transaction.atomic():
            rows, persons, products, vehicles = [], [], [], []
            for e in chunk:
                store = store_objs[e["store"]]
                value = sum((Decimal(p["unit_value"]) * p["quantity"] for p in e["products"]), Decimal("0"))
                ev = Event(organisation_id=store.organisation_id, store=store, external_id=e["external_id"],
                           occurred_at=dt.datetime.fromisoformat(e["occurred_at"]), type=e["type"],
                           prevented=e["prevented"], threatened_violence=e["threatened_violence"],
                           used_violence=e["used_violence"], weapon=e["weapon"], sensitive=e["sensitive"],
                           sensitive_reason=e["sensitive_reason"], narrative=e["narrative"], total_value=value)
                rows.append(ev)
            copy_insert(Event, rows)
            for ev, e in zip(rows, chunk, strict=True):
                by_ref = {}
                for p in e["persons"]:
                    person = EventPerson(event=ev, **p)
                    by_ref[p["ref"]] = person
                    persons.append(person)
                ev._by_ref = by_ref
                for p in e["products"]:
                    products.append(EventProduct(event=ev, sku=p["sku"], description=p["description"],
                                                 quantity=p["quantity"], unit_value=Decimal(p["unit_value"])))
            copy_insert(EventPerson, persons)
            copy_insert(EventProduct, products)
            for ev, e in zip(rows, chunk, strict=True):
                for v in e["vehicles"]:
                    vehicles.append(EventVehicle(event=ev, plate=v["plate"], plate_normalised=normalise_plate(v["plate"]),
                                                 make=v["make"], model=v["model"], colour=v["colour"],
                                                 person=ev._by_ref.get(v["person_ref"] or "")))
                for ref, person in ev._by_ref.items():
                    ids[(e["external_id"], ref)] = person.pk
            copy_insert(EventVehicle, vehicles)
        if progress:
            progress(min(start + batch, len(events)), len(events))
    return ids


def zipf_summary(world: World) -> dict[str, float]:
    """Events per true person among matched roles: how skewed repeat offending is."""
    counts: dict[int, int] = {}
    roles = {(e["external_id"], p["ref"]): p["role"] for e in world.events for p in e["persons"]}
    for key, t in world.truth.items():
        if roles[key] in ("offender", "accomplice"):
            counts[t.person] = counts.get(t.person, 0) + 1
    values = sorted(counts.values(), reverse=True)
    return {"people": len(values), "max": values[0], "top10": sum(values[:10]),
            "seen_once": sum(1 for v in values if v == 1), "mean": sum(values) / len(values),
            "gini_like": 1 - 2 * sum(itertools.accumulate(sorted(values))) / (len(values) * sum(values)) + 1 / len(values),
            "log_slope": _log_slope(values)}


def _log_slope(values: list[int]) -> float:
    xs = [math.log(i + 1) for i in range(min(200, len(values)))]
    ys = [math.log(values[i]) for i in range(len(xs))]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs) or 1
    return num / den

