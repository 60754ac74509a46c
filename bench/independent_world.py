"""A second synthetic world, written apart from matching/synthetic.py so that the matcher is measured
on data whose habits nobody tuned it to (issue 9: "a figure from our own generator alone proves
little").

It follows the shape of the independent world the engine was first tried on — 3 retailers with 6
stores each, 600 identities, 3,000 events — with a noise model of its own:

- activity is a mixture (many people seen once, a middle band seen a few times, a handful of
  prolific offenders), not a Zipf curve;
- staff learn names: a person's name is recorded more often the more times a retailer has seen
  them, and then often in a short form ("Shelly" for Michelle, "JESS" for Jessica) or with a typo;
- ages are estimated from a true birth year (an estimate off by a few years, so bands drift with
  age and with the observer), heights are guessed, builds come in everyday words ("stocky",
  "athletic", "skinny") unless `vocabulary="canonical"` maps them to the product's four;
- marks are written in free word order ("neck tattoo (snake)", "snake tattoo on neck", "tattoo of a
  star on left hand", "star tattoo left hand"), sometimes without the side or the motif;
- plates are typed as they come: "rux246", "RUX 246", "RUX-246", the odd misread character;
- hard negatives: people sharing a full name, siblings sharing a surname and the family car.

`generate()` returns a `matching.synthetic.World` (events in the interchange format and the truth
per (external id, ref)), so the quality bench loads and scores it like the other worlds. Nothing
here imports the matcher's normalisers or nickname tables.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from events.synthetic import SyntheticStore, synthetic_products
from matching.synthetic import Person, Truth, World

RETAILERS = (("northmart", "NorthMart", "NM"), ("kiwichem", "KiwiChem Pharmacy", "KC"), ("valuefood", "ValueFood", "VF"))
PLACES = {"AKL": ["Onehunga", "Glenfield", "Mt Wellington", "Westgate", "Pukekohe", "Ellerslie"],
          "WLG": ["Kilbirnie", "Upper Hutt", "Tawa", "Karori"],
          "CHC": ["Shirley", "Sydenham", "Barrington"]}
# Full given names and the short forms people use for them (written here, independently of any
# nickname dataset the matcher uses).
GIVEN = {
    "female": {"Michelle": ["Shelly", "Shell"], "Jessica": ["Jess", "Jessie"], "Rebecca": ["Bec", "Becky"],
               "Elizabeth": ["Liz", "Beth"], "Katherine": ["Kate", "Kathy"], "Samantha": ["Sam"],
               "Stephanie": ["Steph"], "Natalie": ["Nat"], "Victoria": ["Vicky", "Tori"], "Kimberley": ["Kim"],
               "Anahera": [], "Leilani": [], "Tamara": ["Tammy"], "Deborah": ["Deb", "Debbie"], "Aroha": [],
               "Courtney": [], "Megan": ["Meg"], "Amanda": ["Mandy"], "Hayley": [], "Krystal": []},
    "male": {"Michael": ["Mike", "Mikey"], "Thomas": ["Tom", "Tommy"], "William": ["Bill", "Will"],
             "Robert": ["Bob", "Rob"], "David": ["Dave"], "Nicholas": ["Nick"], "Christopher": ["Chris"],
             "Alexander": ["Alex"], "Matthew": ["Matt"], "Anthony": ["Tony"], "Andrew": ["Andy"], "Daniel": ["Dan"],
             "Joshua": ["Josh"], "Benjamin": ["Ben"], "Jamie": [], "Tipene": [], "Rawiri": [], "Sefa": [],
             "Kahu": [], "Gregory": ["Greg"], "Timothy": ["Tim"], "Jeremy": ["Jez"], "Zachary": ["Zac"],
             "Patrick": ["Paddy", "Pat"], "Cody": [], "Brendon": []},
}
SURNAMES = ["Tipene", "Walker", "Ngatai", "Fonoti", "Smith", "Baker", "Hohepa", "Latu", "McKenzie", "Reihana",
            "Brown", "Harrington", "Te Whata", "Paewai", "Coleman", "O'Neill", "Sapsford", "Vaughan", "Kereopa",
            "Morgan", "Tuhoe", "Halliday", "Matthews", "Kaur", "Nguyen", "Ferris", "Poutama", "Pickering", "Ruru",
            "Jessop", "Whitehead", "Aperahama", "Dunstan", "Moana", "Petersen", "Faleafa", "Grieve", "Ransfield"]
BUILD_WORDS = {"slim": ["slim", "thin", "skinny", "slender", "slight"], "medium": ["medium", "average", "normal"],
               "heavy": ["heavy", "stocky", "heavy-set", "solid", "large", "overweight"],
               "muscular": ["muscular", "athletic", "fit", "well built"]}
HAIR = ["short brown", "long dark hair", "shaved head", "blonde ponytail", "curly black", "grey short", "red bob",
        "bleached tips", "braids", "mullet", "buzz cut", "long black plait"]
TOPS = ["hoodie", "jacket", "hi-vis vest", "singlet", "tee", "trackie top", "puffer"]
COLOURS = ["black", "grey", "navy", "red", "white", "green", "camo", "blue"]
LOWER = ["trackies", "jeans", "shorts", "leggings", "cargo pants"]
MOTIFS = ["star", "snake", "rose", "skull", "cross", "spider web", "anchor", "koru", "dragon", "heart", "lion",
          "butterfly", "dagger", "feather"]
TATTOO_PLACES = ["neck", "hand", "forearm", "wrist", "face", "calf", "shoulder", "knuckles"]
SCAR_PLACES = ["cheek", "chin", "eyebrow", "lip", "forehead"]
AGE_BANDS = [(0, 13, "0-13"), (14, 17, "14-17"), (18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"),
             (45, 54, "45-54"), (55, 64, "55-64"), (65, 200, "65+")]
KEYS = "qwertyuiopasdfghjklzxcvbnm"
TYPES = [("theft", 70), ("robbery", 4), ("threat", 6), ("abuse", 8), ("assault", 3), ("damage", 3), ("trespass", 4),
         ("fraud", 2)]


@dataclass
class _Identity:
    id: int
    given: str
    family: str
    gender: str
    born: float  # a year, fractional
    height: int
    build: str
    hair: str
    marks: list[tuple[str, str, str, str]]  # (kind, motif, side, place)
    plate: str
    region: str
    stores: list[str]
    skus: list[str]
    activity: int
    seen: dict[str, int] = field(default_factory=dict)  # retailer → times seen

    @property
    def full(self) -> str:
        return f"{self.given} {self.family}"


def _band(age: float) -> str:
    a = int(age)
    return next(b for lo, hi, b in AGE_BANDS if lo <= a <= hi)


class _World:
    def __init__(self, seed: int, noise: float, vocabulary: str):
        self.rng = random.Random(f"independent-{seed}")
        self.noise = noise
        self.vocabulary = vocabulary
        self.products = synthetic_products(seed=seed + 1000)
        self.retailers: dict[str, tuple[str, list[SyntheticStore]]] = {}
        for slug, name, prefix in RETAILERS:
            stores = []
            for i, region in enumerate(["AKL", "AKL", "AKL", "WLG", "WLG", "CHC"]):
                place = PLACES[region][(i + len(slug)) % len(PLACES[region])]
                stores.append(SyntheticStore(code=f"{prefix}-{i + 1:03d}", name=f"{name.split()[0]} {place}", region=region))
            self.retailers[slug] = (name, stores)
        self.stores = [s for _, ss in self.retailers.values() for s in ss]
        self.plates: set[str] = set()

    def p(self, base: float) -> float:
        """A noise probability scaled by the world's noise level (capped)."""
        return min(0.95, base * self.noise)

    def plate(self) -> str:
        while True:
            plate = "".join(self.rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3)) + f"{self.rng.randrange(1, 1000):03d}"
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def identity(self, i: int, *, family: str | None = None, plate: str | None = None, region: str | None = None,
                 name: tuple[str, str] | None = None) -> _Identity:
        rng = self.rng
        gender = rng.choices(["male", "female"], [65, 35])[0]
        given = rng.choice(sorted(GIVEN[gender]))
        fam = family or rng.choice(SURNAMES)
        if name:
            given, fam, gender = name[0], name[1], name[2] if len(name) > 2 else gender
        region = region or rng.choices(["AKL", "WLG", "CHC"], [55, 30, 15])[0]
        local = [s.code for s in self.stores if s.region == region]
        marks = []
        for _ in range(rng.choices([0, 1, 2], [50, 38, 12])[0]):
            if rng.random() < 0.75:
                marks.append(("tattoo", rng.choice(MOTIFS), rng.choice(["left", "right"]), rng.choice(TATTOO_PLACES)))
            else:
                marks.append(("scar", "", rng.choice(["left", "right"]), rng.choice(SCAR_PLACES)))
        activity = rng.choices([1, rng.randint(2, 4), rng.randint(5, 12), rng.randint(13, 40)], [40, 35, 20, 5])[0]
        return _Identity(
            id=i, given=given, family=fam, gender=gender, born=2026 - rng.uniform(15, 60),
            height=round(rng.gauss(176 if gender == "male" else 163, 7)), build=rng.choice(sorted(BUILD_WORDS)),
            hair=rng.choice(HAIR), marks=marks,
            plate=plate if plate is not None else (self.plate() if rng.random() < 0.4 else ""),
            region=region, stores=rng.sample(local, min(len(local), rng.randint(2, 5))),
            skus=[p.sku for p in rng.sample(self.products, 4)], activity=activity)

    # -- how staff write a person down ----------------------------------------------------------

    def typo(self, word: str) -> str:
        rng = self.rng
        if len(word) < 4:
            return word
        i = rng.randrange(1, len(word) - 1)
        kind = rng.random()
        if kind < 0.3:
            return word[:i] + rng.choice(KEYS) + word[i + 1:]
        if kind < 0.5:
            return word[:i] + word[i + 1:]
        if kind < 0.7:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        for a, b in (("ph", "f"), ("ck", "k"), ("ie", "y"), ("ll", "l"), ("ey", "y"), ("th", "t")):
            if a in word.lower():
                return word.lower().replace(a, b, 1).capitalize()
        return word[:i] + word[i] + word[i:]

    def name(self, who: _Identity, retailer: str) -> tuple[str, str]:
        """(recorded name, the true full name it stands for, or "")."""
        rng = self.rng
        seen = who.seen.get(retailer, 0)
        if rng.random() > min(0.85, 0.3 + 0.15 * seen):
            return "", ""
        given, family = who.given, who.family
        short = GIVEN[who.gender].get(who.given, [])
        if short and rng.random() < self.p(0.3):
            given = rng.choice(short)
        if rng.random() < self.p(0.12):
            if rng.random() < 0.5:
                family = self.typo(family)
            else:
                given = self.typo(given)
        form = rng.random()
        if form < 0.06:
            text = f"{family.upper()}, {given}"
        elif form < 0.1:
            text = given  # first name only
        else:
            text = f"{given} {family}"
        case = rng.random()
        if case < 0.1:
            text = text.upper()
        elif case < 0.16:
            text = text.lower()
        return text, who.full

    def mark(self, m: tuple[str, str, str, str]) -> str:
        rng = self.rng
        kind, motif, side, place = m
        if rng.random() < self.p(0.15):
            side = ""
        if kind == "scar":
            return rng.choice([f"scar on {side} {place}", f"{place} scar ({side})" if side else f"{place} scar",
                               f"scarred {place}", f"{side} {place} scar"]).replace("  ", " ").strip()
        if rng.random() < self.p(0.1):
            motif = ""
        if not motif:
            return rng.choice([f"tattoo on {side} {place}", f"{place} tattoo", f"tatt {place}"]).replace("  ", " ").strip()
        return rng.choice([
            f"{motif} tattoo {side} {place}", f"tattoo of a {motif} on {side} {place}", f"{place} tattoo ({motif})",
            f"{motif} tattoo on {place}", f"{side} {place}: {motif} tattoo", f"inked {motif}, {side} {place}",
            f"{motif} tat on {side} {place}",
        ]).replace("  ", " ").strip()

    def plate_text(self, plate: str) -> str:
        rng = self.rng
        if rng.random() < self.p(0.05):
            i = rng.randrange(len(plate))
            twin = {"0": "O", "O": "0", "1": "I", "8": "B", "B": "8", "5": "S", "S": "5"}.get(plate[i])
            if twin:
                plate = plate[:i] + twin + plate[i + 1:]
        form = rng.random()
        if form < self.p(0.2):
            return plate.lower()
        if form < self.p(0.2) + self.p(0.15):
            return f"{plate[:3]} {plate[3:]}"
        if form < self.p(0.2) + self.p(0.15) + self.p(0.05):
            return f"{plate[:3]}-{plate[3:]}"
        return plate

    def describe(self, who: _Identity, *, ref: str, role: str, when: dt.datetime, retailer: str) -> tuple[dict, Truth]:
        rng = self.rng
        name, stands_for = self.name(who, retailer)
        age = when.year + when.timetuple().tm_yday / 365 - who.born + rng.gauss(0, 3 * self.noise)
        shown = [m for m in who.marks if rng.random() < 0.65]
        build = who.build if rng.random() > self.p(0.12) else rng.choice(sorted(BUILD_WORDS))
        build_word = build if self.vocabulary == "canonical" else rng.choice(BUILD_WORDS[build])
        gender = who.gender
        if self.vocabulary != "canonical" and rng.random() < 0.3:
            gender = gender[0].upper()
        person = {
            "ref": ref, "role": role, "name": name, "aliases": [],
            "age_band": _band(max(10, age)) if rng.random() > self.p(0.2) else "",
            "gender": gender if rng.random() > self.p(0.05) else "",
            "height_cm": who.height + round(rng.gauss(0, 5)) if rng.random() > self.p(0.45) else None,
            "build": build_word if rng.random() > self.p(0.3) else "",
            "hair": (who.hair if rng.random() > self.p(0.2) else rng.choice(HAIR)) if rng.random() > self.p(0.25) else "",
            "clothing": f"{rng.choice(COLOURS)} {rng.choice(TOPS)}, {rng.choice(COLOURS)} {rng.choice(LOWER)}"
            if rng.random() > self.p(0.15) else "",
            "marks": "; ".join(self.mark(m) for m in shown),
        }
        who.seen[retailer] = who.seen.get(retailer, 0) + 1
        return person, Truth(person=who.id, name=stands_for, marks=sorted(":".join(m) for m in shown))


def generate(*, seed: int = 1, noise: float = 1.0, identities: int = 600, events: int = 3000,
             vocabulary: str = "canonical", days: int = 540,
             end: dt.datetime | None = None) -> World:
    """A world of about `events` events by `identities` people over `days` days before `end`
    (deterministic for the seed). `noise` scales every recording-noise probability (1.0 default).
    `vocabulary="raw"` writes builds and genders as people type them ("stocky", "M"), for import tests;
    "canonical" uses the product's own values, for worlds loaded straight into the tables."""
    w = _World(seed, noise, vocabulary)
    rng = w.rng
    end = end or dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC)
    people: list[_Identity] = []
    while len(people) < identities:
        r = rng.random()
        if r < 0.04 and people:  # someone sharing a full name with an earlier person (a different person)
            other = rng.choice(people)
            people.append(w.identity(len(people) + 1, name=(other.given, other.family, other.gender)))
        elif r < 0.10:  # siblings sharing a surname, a region and the family car
            first = w.identity(len(people) + 1)
            if not first.plate:
                first.plate = w.plate()
            people.append(first)
            if len(people) < identities:
                people.append(w.identity(len(people) + 1, family=first.family, plate=first.plate, region=first.region))
        else:
            people.append(w.identity(len(people) + 1))
    weights = [p.activity for p in people]
    scale = events / sum(weights)
    appearances: list[tuple[int, _Identity]] = []
    for p in people:
        n = max(1, round(p.activity * scale))
        start = rng.randrange(days)
        span = 0 if n == 1 else min(days - start, int(rng.expovariate(1 / 200)) + 20)
        for _ in range(n):
            appearances.append((start + rng.randint(0, max(0, span)), p))
    appearances.sort(key=lambda a: (a[0], a[1].id))
    appearances = appearances[:events]
    by_region = {}
    for p in people:
        by_region.setdefault(p.region, []).append(p)
    drafts = []
    for day, lead in appearances:
        store = rng.choice(lead.stores) if rng.random() < 0.85 else rng.choice(w.stores).code
        retailer = next(slug for slug, (_, ss) in w.retailers.items() if any(s.code == store for s in ss))
        when = (end - dt.timedelta(days=days - day)).astimezone(dt.timezone(dt.timedelta(hours=12)))
        when = when.replace(hour=rng.randint(8, 21), minute=rng.randrange(60), second=0, microsecond=0)
        crew = [(lead, "offender")]
        if rng.random() < 0.18:
            crew.append((rng.choice(by_region[lead.region]), rng.choice(["offender", "accomplice"])))
            if crew[1][0] is lead:
                crew.pop()
        persons, truths = [], []
        for i, (who, role) in enumerate(crew):
            person, truth = w.describe(who, ref=f"p{i + 1}", role=role, when=when, retailer=retailer)
            persons.append(person)
            truths.append(truth)
        vehicles = []
        if lead.plate and rng.random() < 0.5:
            linked = rng.random() < 0.7
            vehicles.append({"plate": w.plate_text(lead.plate), "make": "", "model": "",
                             "colour": rng.choice(["white", "silver", "black", "red", ""]),
                             "person_ref": "p1" if linked else ""})
            if linked or len(crew) == 1:
                truths[0].vehicle = lead.plate
        kind = rng.choices([t for t, _ in TYPES], [x for _, x in TYPES])[0]
        taken = []
        if kind in ("theft", "robbery", "fraud", "damage"):
            pool = [p for p in w.products if p.sku in lead.skus] if rng.random() < 0.5 else w.products
            for item in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
                taken.append({"sku": item.sku, "description": item.description, "quantity": rng.randint(1, 4),
                              "unit_value": item.unit_value})
        minor = persons[0]["age_band"] in ("0-13", "14-17")
        event = {
            "external_id": "", "store": store, "occurred_at": when.isoformat(), "type": kind,
            "prevented": kind == "theft" and rng.random() < 0.15,
            "threatened_violence": kind in ("robbery", "threat", "assault"), "used_violence": kind == "assault",
            "weapon": "", "sensitive": minor, "sensitive_reason": "minor" if minor else "",
            "police_sharing": "", "police_reference": "", "narrative": "Recorded from CCTV review.",
            "products": taken, "persons": persons, "vehicles": vehicles,
        }
        drafts.append((event, truths))
    counters: dict[str, int] = {}
    out, truth = [], {}
    for event, truths in drafts:
        prefix = event["store"].split("-")[0]
        counters[prefix] = counters.get(prefix, 0) + 1
        event["external_id"] = f"{prefix}-{event['occurred_at'][:4]}-{counters[prefix]:06d}"
        for person, t in zip(event["persons"], truths, strict=True):
            truth[(event["external_id"], person["ref"])] = t
        out.append(event)
    pool = [Person(id=p.id, given=p.given.lower(), family=p.family.lower(), gender=p.gender, age_band="",
                   height_cm=p.height, build=p.build, hair=p.hair, aliases=[], marks=[], plate=p.plate,
                   vehicle=("", "", ""), region=p.region, stores=p.stores, wardrobe=[], skus=p.skus,
                   start_day=0, end_day=days) for p in people]
    return World(retailers=w.retailers, products=w.products, events=out, truth=truth, people=pool)
