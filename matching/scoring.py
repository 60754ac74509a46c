"""Fellegi–Sunter scoring: each feature of a pair falls into a comparison level; each level has
m = P(level | same person) and u = P(level | different people); its weight is log2(m/u). For
agreement on an exact value the u is the value's own frequency (term-frequency adjustment), so a
rare name or plate counts for more than "John Smith". The pair's log-odds is the prior plus the
weights; the explanation is that sum, feature by feature (a waterfall that adds up to the score)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import jellyfish

from matching import normalise as n
from matching.records import PersonRecord

AGE_BANDS = ["0-13", "14-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]

# Levels of each feature, most to least similar; "null" (a side is missing it) always weighs 0.
LEVELS: dict[str, list[str]] = {
    "name": ["exact", "phonetic", "fuzzy", "family", "single", "else"],
    "plate": ["exact", "ocr", "else"],
    "mark": ["strong", "some", "else"],
    "age": ["same", "adjacent", "else"],
    "gender": ["same", "else"],
    "height": ["close", "near", "else"],
    "build": ["same", "else"],
    "hair": ["similar", "else"],
    "clothing": ["similar", "some", "else"],
    "sku": ["same_store", "else"],
    "place": ["same_store", "same_region", "else"],
    "time": ["week", "quarter", "else"],
}
# Levels whose u is replaced by the frequency of the agreeing value.
TF_LEVELS = {("name", "exact"), ("name", "phonetic"), ("plate", "exact"), ("plate", "ocr"), ("mark", "strong"),
             ("mark", "some")}

# Starting values before any estimation (and the fallback for a retailer with too little data).
DEFAULT_M = {
    "name": {"exact": 0.55, "phonetic": 0.2, "fuzzy": 0.1, "family": 0.05, "single": 0.05, "else": 0.05},
    "plate": {"exact": 0.7, "ocr": 0.2, "else": 0.1},
    "mark": {"strong": 0.5, "some": 0.3, "else": 0.2},
    "age": {"same": 0.7, "adjacent": 0.25, "else": 0.05},
    "gender": {"same": 0.97, "else": 0.03},
    "height": {"close": 0.6, "near": 0.3, "else": 0.1},
    "build": {"same": 0.75, "else": 0.25},
    "hair": {"similar": 0.5, "else": 0.5},
    "clothing": {"similar": 0.15, "some": 0.25, "else": 0.6},
    "sku": {"same_store": 0.2, "else": 0.8},
    "place": {"same_store": 0.45, "same_region": 0.4, "else": 0.15},
    "time": {"week": 0.25, "quarter": 0.45, "else": 0.3},
}
DEFAULT_U = {
    "name": {"exact": 0.001, "phonetic": 0.001, "fuzzy": 0.005, "family": 0.01, "single": 0.02, "else": 0.963},
    "plate": {"exact": 0.001, "ocr": 0.001, "else": 0.998},
    "mark": {"strong": 0.002, "some": 0.01, "else": 0.988},
    "age": {"same": 0.2, "adjacent": 0.35, "else": 0.45},
    "gender": {"same": 0.6, "else": 0.4},
    "height": {"close": 0.3, "near": 0.35, "else": 0.35},
    "build": {"same": 0.35, "else": 0.65},
    "hair": {"similar": 0.2, "else": 0.8},
    "clothing": {"similar": 0.05, "some": 0.2, "else": 0.75},
    "sku": {"same_store": 0.01, "else": 0.99},
    "place": {"same_store": 0.1, "same_region": 0.4, "else": 0.5},
    "time": {"week": 0.05, "quarter": 0.3, "else": 0.65},
}
DEFAULT_PRIOR = 0.05  # P(same person) among blocked candidate pairs
TF_FLOOR = 1e-6
# Term frequencies are shrunk toward the level's u by this many pseudo-records, so that a retailer
# with a few dozen records doesn't read "2 of 40 share this name" as a common name.
TF_PSEUDO = 500


@dataclass(frozen=True)
class Level:
    feature: str
    level: str  # a level of LEVELS[feature], or "null"
    detail: str = ""
    tf_key: tuple[str, str] | None = None  # the blocking key whose frequency adjusts u


@dataclass
class Params:
    m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    prior: float

    @classmethod
    def default(cls) -> Params:
        return cls(m={f: dict(v) for f, v in DEFAULT_M.items()}, u={f: dict(v) for f, v in DEFAULT_U.items()},
                   prior=DEFAULT_PRIOR)

    def weight(self, lv: Level, tf: dict[tuple[str, str], tuple[int, int]] | None = None) -> float:
        """log2(m/u). `tf` maps a blocking key to (other entities sharing the value, entities in all)."""
        if lv.level == "null":
            return 0.0
        m = self.m[lv.feature][lv.level]
        u = self.u[lv.feature][lv.level]
        if tf is not None and lv.tf_key is not None and (lv.feature, lv.level) in TF_LEVELS and lv.tf_key in tf:
            others, total = tf[lv.tf_key]
            u = max((others + TF_PSEUDO * u) / (total + TF_PSEUDO), TF_FLOOR)
        return math.log2(max(m, 1e-9) / max(u, 1e-9))

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))


def _name_level(a: PersonRecord, b: PersonRecord) -> Level:
    from matching.models import KeyKind

    if a.full_names and b.full_names:
        best = None
        for ga, fa in a.full_names:
            for gb, fb in b.full_names:
                ka = "|".join(sorted((n.phonetic(ga), n.phonetic(fa))))
                key = (KeyKind.NAME, ka)
                if {ga, fa} == {gb, fb}:
                    cand = (0, Level("name", "exact", f"{ga.title()} {fa.title()} = {gb.title()} {fb.title()}", key))
                elif ka == "|".join(sorted((n.phonetic(gb), n.phonetic(fb)))):
                    cand = (1, Level("name", "phonetic", f"{ga.title()} {fa.title()} ~ {gb.title()} {fb.title()} (sounds alike)", key))
                elif jellyfish.jaro_winkler_similarity(f"{ga} {fa}", f"{gb} {fb}") >= 0.9:
                    cand = (2, Level("name", "fuzzy", f"{ga.title()} {fa.title()} ≈ {gb.title()} {fb.title()} (spelling)"))
                elif n.phonetic(fa) == n.phonetic(fb):
                    cand = (3, Level("name", "family", f"same family name {fa.title()} / {fb.title()}",
                                     (KeyKind.NAME_TOKEN, f"f:{n.phonetic(fa)}")))
                else:
                    cand = (5, Level("name", "else", f"{ga.title()} {fa.title()} ≠ {gb.title()} {fb.title()}"))
                if best is None or cand[0] < best[0]:
                    best = cand
        return best[1]
    a_all = a.single_names | {g for g, _ in a.full_names}
    b_all = b.single_names | {g for g, _ in b.full_names}
    if a_all and b_all:
        shared = a_all & b_all
        if shared:
            return Level("name", "single", f"both called {sorted(shared)[0].title()}")
        return Level("name", "else", "names differ")
    return Level("name", "null")


def _plate_level(a: PersonRecord, b: PersonRecord) -> Level:
    from matching.models import KeyKind

    if not a.plates or not b.plates:
        return Level("plate", "null")
    shared = set(a.plates) & set(b.plates)
    if not shared:
        return Level("plate", "else", f"{', '.join(a.plates.values())} ≠ {', '.join(b.plates.values())}")
    folded = sorted(shared)[0]
    pa, pb = a.plates[folded], b.plates[folded]
    if pa == pb:
        return Level("plate", "exact", f"{pa} = {pb}", (KeyKind.PLATE, folded))
    return Level("plate", "ocr", f"{pa} = {pb} (OCR)", (KeyKind.PLATE, folded))


def _mark_level(a: PersonRecord, b: PersonRecord) -> Level:
    from matching.models import KeyKind

    if not a.marks or not b.marks:
        return Level("mark", "null")
    shared = a.marks & b.marks
    strong = sorted(m for m in shared if m.count(":") == 2)
    some = sorted(m for m in shared if m.count(":") == 1)
    if strong:
        return Level("mark", "strong", strong[0].replace(":", " "), (KeyKind.MARK, strong[0].rsplit(":", 1)[0]))
    if some:
        return Level("mark", "some", some[0].replace(":", " "), (KeyKind.MARK, some[0]))
    return Level("mark", "else", "marks differ")


def compare(a: PersonRecord, b: PersonRecord, *, sku_window_days: int = 14) -> list[Level]:
    out = [_name_level(a, b), _plate_level(a, b), _mark_level(a, b)]
    if a.age_band and b.age_band:
        ia, ib = AGE_BANDS.index(a.age_band), AGE_BANDS.index(b.age_band)
        lvl = "same" if ia == ib else "adjacent" if abs(ia - ib) == 1 else "else"
        out.append(Level("age", lvl, f"{a.age_band} / {b.age_band}"))
    else:
        out.append(Level("age", "null"))
    if a.gender and b.gender and "unknown" not in (a.gender, b.gender):
        out.append(Level("gender", "same" if a.gender == b.gender else "else", f"{a.gender} / {b.gender}"))
    else:
        out.append(Level("gender", "null"))
    if a.height_cm and b.height_cm:
        d = abs(a.height_cm - b.height_cm)
        out.append(Level("height", "close" if d <= 5 else "near" if d <= 12 else "else", f"{a.height_cm} / {b.height_cm} cm"))
    else:
        out.append(Level("height", "null"))
    if a.build and b.build:
        out.append(Level("build", "same" if a.build == b.build else "else", f"{a.build} / {b.build}"))
    else:
        out.append(Level("build", "null"))
    if a.hair and b.hair:
        j = n.jaccard(a.hair, b.hair)
        out.append(Level("hair", "similar" if j >= 0.5 else "else", f"{' '.join(sorted(a.hair))} / {' '.join(sorted(b.hair))}"))
    else:
        out.append(Level("hair", "null"))
    if a.clothing and b.clothing:
        j = n.jaccard(a.clothing, b.clothing)
        lvl = "similar" if j >= 0.34 else "some" if j > 0 else "else"
        shared = " ".join(sorted(a.clothing & b.clothing))
        out.append(Level("clothing", lvl, f"shared: {shared}" if shared else "clothing differs"))
    else:
        out.append(Level("clothing", "null"))
    days = abs((a.occurred_at - b.occurred_at).total_seconds()) / 86400
    if a.skus and b.skus:
        shared_skus = a.skus & b.skus
        if shared_skus and a.store_id == b.store_id and days <= sku_window_days:
            out.append(Level("sku", "same_store", f"SKU {sorted(shared_skus)[0]} at the same store {days:.0f} days apart"))
        else:
            out.append(Level("sku", "else"))
    else:
        out.append(Level("sku", "null"))
    place = "same_store" if a.store_id == b.store_id else "same_region" if a.region == b.region else "else"
    out.append(Level("place", place, {"same_store": "same store", "same_region": f"same region ({a.region})",
                                      "else": f"{a.region} / {b.region}"}[place]))
    out.append(Level("time", "week" if days <= 7 else "quarter" if days <= 92 else "else", f"{days:.0f} days apart"))
    return out


@dataclass
class Scored:
    weight: float
    probability: float
    reasons: list[dict]


def score(levels: list[Level], params: Params, tf: dict[tuple[str, str], float] | None = None) -> Scored:
    reasons = [{"feature": "prior", "weight": round(params.prior_weight, 3), "detail": "base rate among candidates"}]
    total = params.prior_weight
    for lv in levels:
        if lv.level == "null":
            continue
        w = params.weight(lv, tf)
        total += w
        reasons.append({"feature": lv.feature, "level": lv.level, "weight": round(w, 3), "detail": lv.detail})
    probability = 1 / (1 + 2 ** (-total)) if total > -60 else 0.0
    return Scored(weight=total, probability=probability, reasons=reasons)
