"""Synthetic retail-crime data for benchmarks and the demo: NZ stores, a product catalogue with SKUs,
and events in the interchange format (shared/INTERCHANGE.md) whose people come from a pool of
repeat offenders, so Connect the Dots has something to find. Deterministic for a given seed.

Nothing here touches the database: callers create the stores and products (seed_demo, tests) or
write the events to a file (bench/synthetic.py) and import them like a retailer would.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# (suburb/town, region code). Region codes follow the police districts' usual short forms.
NZ_PLACES = [
    ("Ponsonby", "AKL"), ("Newmarket", "AKL"), ("Manukau", "AKL"), ("Albany", "AKL"), ("Henderson", "AKL"),
    ("Sylvia Park", "AKL"), ("Botany", "AKL"), ("Takapuna", "AKL"), ("Papatoetoe", "AKL"), ("Glen Innes", "AKL"),
    ("Cuba Street", "WLG"), ("Lambton Quay", "WLG"), ("Petone", "WLG"), ("Porirua", "WLG"), ("Johnsonville", "WLG"),
    ("Riccarton", "CHC"), ("Hornby", "CHC"), ("Papanui", "CHC"), ("Hamilton Central", "HAM"), ("Te Rapa", "HAM"),
    ("Tauranga", "BOP"), ("Mount Maunganui", "BOP"), ("Rotorua", "BOP"), ("Dunedin Central", "DUD"),
    ("Palmerston North", "PNTH"), ("Napier", "HKB"), ("Hastings", "HKB"), ("Nelson", "NSN"), ("Whangarei", "NTH"),
    ("Invercargill", "SLD"), ("New Plymouth", "TNK"), ("Gisborne", "GIS"),
]

# (description, unit value, category) — a grocery and pharmacy mix typical of retail theft.
PRODUCTS = [
    ("Razor blades 8pk", "24.99"), ("Razor blades 4pk", "15.49"), ("Infant formula 900g", "39.50"),
    ("Manuka honey UMF 10+ 500g", "54.99"), ("Manuka honey UMF 15+ 250g", "69.00"), ("Lamb leg roast 2kg", "38.00"),
    ("Beef scotch fillet 1kg", "42.99"), ("Butter 500g", "7.49"), ("Coffee beans 1kg", "29.99"),
    ("Instant coffee 200g", "13.50"), ("Chocolate block 250g", "4.99"), ("Energy drink 4pk", "11.99"),
    ("Laundry powder 2kg", "19.99"), ("Toothpaste 110g", "5.29"), ("Electric toothbrush", "89.00"),
    ("Vitamin C 1000mg 100 tablets", "24.00"), ("Fish oil 400 capsules", "34.99"), ("Perfume 100ml", "129.00"),
    ("Moisturiser 50ml", "39.99"), ("Sunscreen SPF50 200ml", "17.99"), ("Cheese block 1kg", "14.99"),
    ("Salmon fillets 400g", "21.99"), ("Bluetooth earbuds", "79.00"), ("Phone charger USB-C", "29.00"),
    ("Power tool drill 18V", "199.00"), ("Cordless impact driver", "229.00"), ("Vodka 1L", "49.99"),
    ("Whisky 700ml", "64.99"), ("Craft beer 6pk", "24.99"), ("Wine sauvignon blanc 750ml", "16.99"),
    ("Cigarette lighter 5pk", "6.50"), ("Pain relief 20 tablets", "8.99"), ("Hair straightener", "119.00"),
    ("Baby wipes 3pk", "12.99"), ("Nappies size 4 50pk", "32.00"), ("Olive oil 1L", "18.49"),
    ("Protein powder 1kg", "59.99"), ("Gift card $50", "50.00"), ("Headphones over-ear", "149.00"),
    ("Mince 500g", "9.99"),
]

MALE_NAMES = [
    "Jon", "John", "Michael", "Mike", "James", "Jamie", "Daniel", "Dan", "Liam", "Noah", "Oliver", "Jack",
    "William", "Will", "Thomas", "Tom", "Joshua", "Josh", "Ryan", "Tyler", "Nathan", "Aaron", "Sam", "Samuel",
    "Tane", "Wiremu", "Hemi", "Rangi", "Sione", "Tevita", "Raj", "Wei", "Lucas", "Ethan", "Mason", "Logan",
    "Shane", "Craig", "Wayne", "Dean", "Brent",
]
FEMALE_NAMES = [
    "Sarah", "Jessica", "Jess", "Emma", "Olivia", "Charlotte", "Sophie", "Hannah", "Chloe", "Aroha", "Mere",
    "Kiri", "Mele", "Priya", "Kayla", "Brooke", "Kelly", "Sam", "Jamie", "Ana", "Grace", "Ruby", "Mia",
]
FIRST_NAMES = MALE_NAMES + [n for n in FEMALE_NAMES if n not in MALE_NAMES]
LAST_NAMES = [
    "Smith", "Smyth", "Brown", "Williams", "Wilson", "Taylor", "Anderson", "Thompson", "Walker", "White",
    "Harris", "Martin", "Clarke", "Clark", "King", "Young", "Wright", "Scott", "Green", "Baker", "Hall",
    "Campbell", "Stewart", "Morris", "Robinson", "Cooper", "Ngata", "Parata", "Tipene", "Henare", "Rewi",
    "Tuilagi", "Fifita", "Tonga", "Patel", "Singh", "Chen", "Li", "Wang", "Kumar", "Mitchell", "Reid",
]
NICKNAMES = ["Johnny", "Smithy", "Bro", "Tiny", "Red", "Mack", "Jonno", "Dazza", "Shorty", "Big Mike", "Sparky",
             "Ace", "Jay", "Kez", "Tommo", "Robbo"]
HAIR = ["short brown", "shaved", "long blonde", "black, tied back", "curly red", "grey, balding", "brown mullet",
        "dyed pink", "short dark", "long brown ponytail", "blonde buzz cut", "dreadlocks", "bald"]
COLOURS = ["black", "grey", "navy", "white", "red", "green", "blue", "maroon", "khaki", "orange hi-vis", "yellow"]
TOPS = ["hoodie", "puffer jacket", "t-shirt", "rugby jersey", "polo shirt", "rain jacket", "singlet", "cardigan"]
BOTTOMS = ["trackpants", "jeans", "shorts", "cargo pants", "leggings", "work trousers"]
EXTRAS = ["cap", "beanie", "backpack", "sunglasses", "face mask", "gloves", "bucket hat", "jandals", "work boots"]
MARKS = ["tattoo of a star on left hand", "scar above right eyebrow", "teardrop tattoo under left eye",
         "nose ring", "tattoo sleeve on right arm", "missing front tooth", "gold chain", "limps on left leg",
         "tattoo of a rose on neck", "eyebrow piercing", "scar on chin", "", "", "", ""]
MAKES = [("Toyota", ["Corolla", "Aqua", "Hilux", "Prius", "Camry"]), ("Mazda", ["Demio", "Axela", "CX-5"]),
         ("Nissan", ["Tiida", "Leaf", "Navara"]), ("Holden", ["Commodore", "Astra"]), ("Ford", ["Ranger", "Falcon"]),
         ("Honda", ["Fit", "Civic", "Odyssey"]), ("Subaru", ["Legacy", "Impreza"]), ("Suzuki", ["Swift"])]
CAR_COLOURS = ["silver", "white", "black", "grey", "blue", "red", "green", "gold"]
WEAPONS = ["knife", "bat", "hammer", "bottle", "screwdriver", "syringe"]

NARRATIVES = {
    "theft": ["{who} filled a bag with {product} and walked out past the tills without paying.",
              "{who} concealed {product} inside a jacket and left through the main entrance.",
              "{who} took {product} from the shelf and ran to a waiting car."],
    "burglary": ["Store entered after hours through a forced rear door; {product} taken from the stockroom."],
    "robbery": ["{who} demanded the till be opened and left with cash and {product}."],
    "fraud": ["{who} attempted a refund for {product} with a receipt that did not match the transaction."],
    "assault": ["{who} pushed a staff member who asked to check a bag, then left with {product}."],
    "threat": ["{who} threatened staff when asked to leave, shouting and kicking a display."],
    "abuse": ["{who} swore at the checkout operator and refused to leave when asked."],
    "damage": ["{who} smashed a display cabinet and damaged stock including {product}."],
    "trespass": ["{who} entered the store despite a current trespass notice and was asked to leave."],
    "antisocial": ["{who} was loitering at the entrance, intimidating customers and throwing trolleys."],
    "other": ["{who} was seen acting suspiciously near {product} before leaving."],
}
TYPE_WEIGHTS = [("theft", 70), ("burglary", 3), ("robbery", 3), ("fraud", 4), ("assault", 3), ("threat", 5),
                ("abuse", 4), ("damage", 2), ("trespass", 3), ("antisocial", 2), ("other", 1)]


@dataclass(frozen=True)
class SyntheticStore:
    code: str
    name: str
    region: str
    timezone: str = "Pacific/Auckland"


@dataclass(frozen=True)
class SyntheticProduct:
    sku: str
    description: str
    unit_value: str
    barcode: str


def synthetic_stores(prefix: str, brand: str, count: int = 12, *, seed: int = 7) -> list[SyntheticStore]:
    """`count` stores of a retailer called `brand`, with codes PREFIX-001…, spread over NZ."""
    rng = random.Random(f"{seed}-{prefix}")
    places = NZ_PLACES[:]
    rng.shuffle(places)
    # Keep Auckland and Wellington in every set so police jurisdictions have something to cover.
    places.sort(key=lambda p: p[1] not in ("AKL", "WLG"))
    return [SyntheticStore(code=f"{prefix}-{i + 1:03d}", name=f"{brand} {place}", region=region)
            for i, (place, region) in enumerate(places[:count])]


def _ean13(rng: random.Random) -> str:
    digits = [9, 4] + [rng.randrange(10) for _ in range(10)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits + [check]))


def synthetic_products(*, seed: int = 7) -> list[SyntheticProduct]:
    rng = random.Random(f"{seed}-products")
    out = []
    for i, (description, value) in enumerate(PRODUCTS):
        out.append(SyntheticProduct(sku=f"{9300600 + i * 7}", description=description, unit_value=value,
                                    barcode=_ean13(rng)))
    return out


@dataclass
class _Offender:
    name: str
    aliases: list[str]
    age_band: str
    gender: str
    height_cm: int
    build: str
    hair: str
    marks: str
    plate: str
    vehicle: tuple[str, str, str]


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(rng.choice(letters) for _ in range(3)) + str(rng.randrange(100, 999))


def _offender(rng: random.Random) -> _Offender:
    gender = rng.choices(["male", "female", "unknown"], [70, 27, 3])[0]
    make, models = rng.choice(MAKES)
    return _Offender(
        name=f"{rng.choice({'male': MALE_NAMES, 'female': FEMALE_NAMES}.get(gender, FIRST_NAMES))} "
             f"{rng.choice(LAST_NAMES)}",
        aliases=rng.sample(NICKNAMES, rng.choice([0, 0, 1, 1, 2])),
        age_band=rng.choices(["14-17", "18-24", "25-34", "35-44", "45-54", "55-64"], [8, 25, 35, 20, 9, 3])[0],
        gender=gender,
        height_cm=rng.randint(150, 198) if gender != "female" else rng.randint(148, 182),
        build=rng.choice(["slim", "medium", "heavy", "muscular"]),
        hair=rng.choice(HAIR),
        marks=rng.choice(MARKS),
        plate=_plate(rng),
        vehicle=(make, rng.choice(models), rng.choice(CAR_COLOURS)),
    )


def _clothing(rng: random.Random) -> str:
    parts = [f"{rng.choice(COLOURS)} {rng.choice(TOPS)}", f"{rng.choice(COLOURS)} {rng.choice(BOTTOMS)}"]
    if rng.random() < 0.6:
        parts.append(f"{rng.choice(COLOURS)} {rng.choice(EXTRAS)}")
    return ", ".join(parts)


def _jitter_plate(rng: random.Random, plate: str) -> str:
    """How plates arrive from people: lower case, spaces, dashes, the odd OCR-style 0/O swap."""
    r = rng.random()
    if r < 0.15:
        return plate.lower()
    if r < 0.25:
        return f"{plate[:3]} {plate[3:]}"
    if r < 0.30:
        return f"{plate[:3]}-{plate[3:]}"
    return plate


def synthetic_events(
    count: int,
    *,
    store_codes: list[str],
    seed: int = 42,
    id_prefix: str = "SYN",
    products: list[SyntheticProduct] | None = None,
    end: dt.datetime | None = None,
    days: int = 730,
    offenders: int | None = None,
) -> Iterator[dict[str, Any]]:
    """`count` events in the interchange format, spread over the `days` before `end`.

    About two thirds of the people come from a pool of repeat offenders (the same name, build,
    marks and car from event to event, with the variation real reports have); the rest are one-offs.
    """
    rng = random.Random(seed)
    catalogue = products or synthetic_products()
    end = end or dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC)
    pool = [_offender(rng) for _ in range(offenders or max(20, count // 25))]
    types, weights = zip(*TYPE_WEIGHTS, strict=True)
    nzt = dt.timezone(dt.timedelta(hours=12))
    for n in range(count):
        kind = rng.choices(types, weights)[0]
        occurred = end - dt.timedelta(seconds=rng.randrange(days * 86400))
        # Retail hours mostly: pull the time of day into 08:00-21:00 local.
        local = occurred.astimezone(nzt).replace(hour=rng.randint(8, 20), minute=rng.randrange(60), second=0,
                                                 microsecond=0)
        people = []
        vehicles = []
        for i in range(rng.choices([1, 2, 3], [65, 28, 7])[0]):
            repeat = rng.random() < 0.66
            o = rng.choice(pool) if repeat else _offender(rng)
            name = o.name if rng.random() < (0.7 if repeat else 0.35) else ""
            person = {
                "ref": f"p{i + 1}", "role": "offender" if i == 0 else rng.choice(["offender", "accomplice"]),
                "name": name, "aliases": o.aliases if name else [],
                "age_band": o.age_band, "gender": o.gender,
                "height_cm": o.height_cm + rng.randint(-4, 4) if rng.random() < 0.8 else None,
                "build": o.build, "hair": o.hair, "clothing": _clothing(rng), "marks": o.marks,
            }
            people.append(person)
            if i == 0 and rng.random() < 0.35:
                make, model, colour = o.vehicle
                vehicles.append({"plate": _jitter_plate(rng, o.plate), "make": make, "model": model,
                                 "colour": colour, "person_ref": person["ref"]})
        taken = []
        if kind in ("theft", "burglary", "robbery", "fraud", "damage", "other", "assault"):
            for item in rng.sample(catalogue, rng.choices([1, 2, 3], [60, 30, 10])[0]):
                taken.append({"sku": item.sku, "description": item.description,
                              "quantity": rng.choices([1, 2, 3, 4, 6, 10], [40, 25, 12, 10, 8, 5])[0],
                              "unit_value": item.unit_value})
        threatened = kind in ("robbery", "threat", "assault") or rng.random() < 0.08
        used = kind == "assault" or (kind == "robbery" and rng.random() < 0.3)
        weapon = rng.choice(WEAPONS) if (kind == "robbery" or (threatened and rng.random() < 0.25)) else ""
        who = "Two people" if len(people) > 1 else ("A man" if people[0]["gender"] == "male" else (
            "A woman" if people[0]["gender"] == "female" else "A person"))
        product = taken[0]["description"].lower() if taken else "stock"
        minor = people[0]["age_band"] == "14-17"
        yield {
            "external_id": f"{id_prefix}-{local.year}-{n + 1:06d}",
            "store": rng.choice(store_codes),
            "occurred_at": local.isoformat(),
            "type": kind,
            "prevented": kind == "theft" and rng.random() < 0.2,
            "threatened_violence": threatened,
            "used_violence": used,
            "weapon": weapon,
            "sensitive": minor,
            "sensitive_reason": "minor" if minor else "",
            "police_sharing": rng.choices(["", "all", "jurisdiction", "internal"], [70, 10, 15, 5])[0],
            "police_reference": f"P{rng.randrange(10**8):08d}" if rng.random() < 0.3 else "",
            "narrative": rng.choice(NARRATIVES[kind]).format(who=who, product=product),
            "products": taken,
            "persons": people,
            "vehicles": vehicles,
        }


def total_value(event: dict[str, Any]) -> Decimal:
    return sum((Decimal(p["unit_value"]) * p["quantity"] for p in event["products"]), Decimal("0"))
