"""Fellegi–Sunter scoring: each feature of a pair falls into a comparison level; each level has
m = P(level | same person) and u = P(level | different people); its weight is log2(m/u). For
agreement on an exact value the u is the value's own frequency (term-frequency adjustment), so a
rare name or plate counts for more than "John Smith". The pair's log-odds is the prior plus the
weights; the explanation is that sum, feature by feature (a waterfall that adds up to the score)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import jellyfish

from matching import normalise as n
from matching.models import KeyKind
from matching.records import PersonRecord, name_key

AGE_BANDS = ["0-13", "14-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]

# Levels of each feature, most to least similar; "null" (a side is missing it) always weighs 0.
LEVELS: dict[str, list[str]] = {
    # exact: same given and family name; nickname: same family name, one given name a nickname of the
    # other or both of one name (Shelly, Michelle); phonetic: they sound alike; fuzzy: spelled alike;
    # partial: same family name, given names compatible (an initial, a shared start, a nickname with the
    # family name misspelled); family: same family name, given names that conflict; single: a shared
    # given name or alias (or a nickname of it) where one side has no full name.
    "name": ["exact", "nickname", "phonetic", "fuzzy", "partial", "family", "single", "else"],
    "plate": ["exact", "ocr", "near", "else"],  # near: one character apart after OCR folding
    # strong: same mark (type and motif) at the same place on the body, on the same side or a side said
    # by one only; some: same mark elsewhere, or on the other side; place: same type of mark at the same
    # place where at most one gives a motif (a scar on the chin, a nose piercing).
    "mark": ["strong", "some", "place", "else"],
    "age": ["same", "adjacent", "else"],
    "gender": ["same", "else"],
    "height": ["close", "near", "else"],
    "build": ["same", "else"],
    "hair": ["similar", "else"],
    "clothing": ["similar", "some", "else"],
    "sku": ["same", "else"],  # a product in common
    "place": ["same_store", "same_region", "else"],
    "time": ["week", "quarter", "else"],
    # same: a co-offender of one event is, by full name or specific mark, a co-offender of the other
    # (an offender group); else: both had co-offenders, none in common.
    "companion": ["same", "else"],
}
# Levels whose u is replaced by the frequency of the agreeing value.
TF_LEVELS = {("name", "exact"), ("name", "nickname"), ("name", "phonetic"), ("name", "single"),
             ("plate", "exact"), ("plate", "ocr"), ("plate", "near"), ("mark", "strong"), ("mark", "some"),
             ("mark", "place")}

# Starting values before any estimation (and the fallback for a retailer with too little data).
DEFAULT_M = {
    "name": {"exact": 0.45, "nickname": 0.1, "phonetic": 0.08, "fuzzy": 0.08, "partial": 0.1, "family": 0.04,
             "single": 0.1, "else": 0.05},
    "plate": {"exact": 0.75, "ocr": 0.1, "near": 0.05, "else": 0.1},
    "mark": {"strong": 0.3, "some": 0.3, "place": 0.15, "else": 0.25},
    "age": {"same": 0.75, "adjacent": 0.22, "else": 0.03},
    "gender": {"same": 0.98, "else": 0.02},
    "height": {"close": 0.7, "near": 0.25, "else": 0.05},
    "build": {"same": 0.8, "else": 0.2},
    "hair": {"similar": 0.6, "else": 0.4},
    "clothing": {"similar": 0.2, "some": 0.4, "else": 0.4},
    "sku": {"same": 0.4, "else": 0.6},
    "place": {"same_store": 0.4, "same_region": 0.5, "else": 0.1},
    "time": {"week": 0.1, "quarter": 0.4, "else": 0.5},
    "companion": {"same": 0.2, "else": 0.8},
}
DEFAULT_U = {
    "name": {"exact": 0.001, "nickname": 0.0002, "phonetic": 0.0005, "fuzzy": 0.002, "partial": 0.005,
             "family": 0.02, "single": 0.02, "else": 0.9513},
    "plate": {"exact": 0.0005, "ocr": 0.0002, "near": 0.001, "else": 0.9983},
    "mark": {"strong": 0.001, "some": 0.01, "place": 0.03, "else": 0.959},
    "age": {"same": 0.25, "adjacent": 0.4, "else": 0.35},
    "gender": {"same": 0.6, "else": 0.4},
    "height": {"close": 0.3, "near": 0.35, "else": 0.35},
    "build": {"same": 0.3, "else": 0.7},
    "hair": {"similar": 0.1, "else": 0.9},
    "clothing": {"similar": 0.05, "some": 0.3, "else": 0.65},
    "sku": {"same": 0.15, "else": 0.85},
    "place": {"same_store": 0.05, "same_region": 0.3, "else": 0.65},
    "time": {"week": 0.01, "quarter": 0.12, "else": 0.87},
    "companion": {"same": 0.001, "else": 0.999},
}
# The prior is the chance that two records picked at random are the same person. It falls as records
# accumulate, so a retailer's weights store it as matches per record (other records of the same
# person a record has, on average) and Params.for_population turns that into the prior for the
# number of records there are now.
DEFAULT_MATCHES_PER_RECORD = 1.0
DEFAULT_PRIOR = 0.001
TF_FLOOR = 1e-6
# Term frequencies are shrunk toward the level's u by this many pseudo-records, so that a retailer
# with a few dozen records doesn't read "2 of 40 share this name" as a common name.
TF_PSEUDO = 500


class Level(NamedTuple):
    feature: str
    level: str  # a level of the model's feature, or "null"
    detail: str = ""
    tf_key: tuple[str, str] | None = None  # the blocking key whose frequency adjusts u


@dataclass(frozen=True)
class Model:
    """A Fellegi–Sunter model: its features, each feature's levels (most to least similar), the
    starting m and u, the prior, and the levels whose u a value's own frequency replaces. The same
    machinery (Params, score, weights.em, weights.estimate_u) serves every model: the retail one
    below and the FEBRL adapter (matching.febrl)."""

    name: str
    levels: dict[str, list[str]]
    default_m: dict[str, dict[str, float]]
    default_u: dict[str, dict[str, float]]
    default_prior: float
    tf_levels: frozenset[tuple[str, str]] = frozenset()


@dataclass
class Params:
    m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    prior: float
    tf_levels: frozenset[tuple[str, str]] = frozenset()
    # When set, the prior follows the number of records: matches_per_record / (records - 1).
    matches_per_record: float | None = None
    # Per partner retailer (Connect the Dots): how many of its records one of ours matches, on
    # average. Fewer people offend at two retailers than twice at one, so a pair across retailers
    # starts from its own, lower prior (for_partner).
    cross_matches: dict[int, float] = field(default_factory=dict)

    @classmethod
    def default(cls, model: Model | None = None) -> Params:
        model = model or RETAIL
        return cls(m={f: dict(v) for f, v in model.default_m.items()},
                   u={f: dict(v) for f, v in model.default_u.items()},
                   prior=model.default_prior, tf_levels=model.tf_levels,
                   matches_per_record=DEFAULT_MATCHES_PER_RECORD if model is RETAIL else None)

    def for_population(self, records: int) -> Params:
        """These parameters with the prior for `records` records (unchanged without matches_per_record)."""
        if self.matches_per_record is None:
            return self
        prior = min(0.5, max(1e-9, self.matches_per_record / max(1, records - 1)))
        return Params(m=self.m, u=self.u, prior=prior, tf_levels=self.tf_levels,
                      matches_per_record=self.matches_per_record, cross_matches=self.cross_matches)

    def for_partner(self, organisation_id: int, records: int) -> Params:
        """These parameters for pairs of one of our records and one of `records` records of a partner
        retailer: the prior is the matches per record estimated across the two (weights.
        estimate_weights), over the partner's records; without an estimate yet, as within."""
        per_record = self.cross_matches.get(organisation_id)
        if per_record is None:
            prior = self.for_population(records).prior
        else:
            prior = min(0.5, max(1e-9, per_record / max(1, records)))
        # Two retailers' records are never of the same store: place is compared given that, for the
        # same person and for strangers alike (m and u of the other levels, renormalised). Within a
        # retailer most repeats are at one store, so an unconditioned "same region" would count
        # against a pair that could not have been at the same store.
        m, u = dict(self.m), dict(self.u)
        for table in (m, u):
            place = table["place"]
            rest = 1 - place["same_store"]
            if rest > 0:
                table["place"] = {lvl: (1e-9 if lvl == "same_store" else x / rest) for lvl, x in place.items()}
        return Params(m=m, u=u, prior=prior, tf_levels=self.tf_levels,
                      matches_per_record=self.matches_per_record, cross_matches=self.cross_matches)

    def weight(self, lv: Level, tf: dict[tuple[str, str], tuple[int, int]] | None = None) -> float:
        """log2(m/u). `tf` maps a blocking key to (other entities sharing the value, entities in all[, hub])."""
        if lv.level == "null":
            return 0.0
        if tf is not None and lv.tf_key is not None and lv.tf_key in tf and (lv.feature, lv.level) in self.tf_levels:
            m = self.m[lv.feature][lv.level]
            others, total, *hub = tf[lv.tf_key]
            # Shrunk toward the level's u, unless the value is a hub: a hub is common by definition.
            pseudo = 0 if hub and hub[0] else TF_PSEUDO
            u = max((others + pseudo * self.u[lv.feature][lv.level]) / (total + pseudo), TF_FLOOR)
            return math.log2(max(m, 1e-9) / max(u, 1e-9))
        return self.table()[lv.feature][lv.level]

    def table(self) -> dict[str, dict[str, float]]:
        """log2(m/u) of every level without term frequencies (computed once)."""
        t = self.__dict__.get("_table")
        if t is None:
            t = {f: {lvl: math.log2(max(m, 1e-9) / max(self.u[f][lvl], 1e-9)) for lvl, m in levels.items()}
                 for f, levels in self.m.items()}
            self.__dict__["_table"] = t
        return t

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))


@dataclass
class Scored:
    weight: float
    probability: float
    reasons: list[dict]


def score(levels: list[Level], params: Params, tf: dict[tuple[str, str], tuple[int, int]] | None = None) -> Scored:
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


# Levels that say who someone is. Gender, age, height, build, hair, clothing, products, place and time
# are shared by many strangers (and their agreements are not independent of one another, as the model
# assumes): without one of these levels agreeing, a pair is at most a possible match.
IDENTIFYING = {
    "name": frozenset({"exact", "nickname", "phonetic", "fuzzy", "partial", "single"}),
    "plate": frozenset({"exact", "ocr", "near"}),
    "mark": frozenset({"strong", "some", "place"}),
}


def identifies(levels: list[Level]) -> bool:
    """Whether a name, a plate or a mark agrees (at any of its agreeing levels)."""
    return any(lv.level in IDENTIFYING.get(lv.feature, ()) for lv in levels)


def capped(scored: Scored, ceiling: float) -> Scored:
    """A pair that nothing identifying ties, kept below `ceiling` (log-odds) with a reason that says so,
    so the explanation still adds up to the score."""
    if scored.weight <= ceiling:
        return scored
    cut = ceiling - scored.weight
    reasons = [*scored.reasons, {"feature": "identity", "level": "none", "weight": round(cut, 3),
                                 "detail": "no name, plate or mark agrees: at most a possible match"}]
    return Scored(weight=ceiling, probability=1 / (1 + 2 ** (-ceiling)), reasons=reasons)


def weight_only(levels: list[Level], params: Params, tf=None) -> float:
    """The log-odds alone, without building the explanation (ranking many candidates)."""
    table = params.table()
    total = params.prior_weight
    tf_levels = params.tf_levels
    for lv in levels:
        feature, level, _, key = lv
        if level == "null":
            continue
        if tf is not None and key is not None and key in tf and (feature, level) in tf_levels:
            total += params.weight(lv, tf)
        else:
            total += table[feature][level]
    return total


# --- The retail model: people described in events ---------------------------------------------------

RETAIL = Model("retail", LEVELS, DEFAULT_M, DEFAULT_U, DEFAULT_PRIOR, frozenset(TF_LEVELS))


def _given_compatible(x: str, y: str) -> bool:
    """An initial and the name it starts, names sharing their first three letters (Jonno, John), or a
    nickname and its name."""
    if len(x) == 1 or len(y) == 1:
        return x[0] == y[0]
    return x[:3] == y[:3] or bool(n.nickname_of(x, y))


def _close(x: str, y: str) -> bool:
    return jellyfish.jaro_winkler_similarity(x, y) >= 0.85 or (
        len(x) > 3 and len(y) > 3 and jellyfish.damerau_levenshtein_distance(x, y) <= 1)


def _spelled_alike(x, y) -> bool:
    """Both parts a typo apart (either order): Jon Smyth ≈ John Smith, not Gus Wilson ≈ Gus Harrison."""
    return (_close(x.given, y.given) and _close(x.family, y.family)) or (
        _close(x.given, y.family) and _close(x.family, y.given))


def _nickname_detail(x: str, y: str) -> str:
    full = n.nickname_of(x, y)
    if full in (x, y):
        return f"{x.title()} ~ {y.title()}, nickname"
    return f"{x.title()} ~ {y.title()}, nicknames of {full.title()}"


def _name_level(a: PersonRecord, b: PersonRecord, e: bool) -> Level:
    if a.names and b.names:
        best_rank, best = 99, None
        for x in a.names:
            for y in b.names:
                if (x.given == y.given and x.family == y.family) or (x.given == y.family and x.family == y.given):
                    return Level("name", "exact", f"{x.text.title()} = {y.text.title()}" if e else "", (KeyKind.NAME, x.key))
                shared = n.nickname_of(x.given, y.given) if x.family == y.family else ""
                if shared:
                    rank, lv = 1, Level("name", "nickname",
                                        f"{x.text.title()} ~ {y.text.title()} ({_nickname_detail(x.given, y.given)})"
                                        if e else "", (KeyKind.NAME, name_key(n.phonetic(shared), x.pf)))
                elif x.key == y.key:
                    rank, lv = 2, Level("name", "phonetic", (f"{x.text.title()} ~ {y.text.title()} (sounds alike)" if e else ""),
                                        (KeyKind.NAME, x.key))
                elif best_rank > 3 and _spelled_alike(x, y):
                    rank, lv = 3, Level("name", "fuzzy", f"{x.text.title()} ≈ {y.text.title()} (spelling)" if e else "")
                elif x.pf == y.pf or (len(x.family) > 3 and len(y.family) > 3
                                      and jellyfish.damerau_levenshtein_distance(x.family, y.family) <= 1):
                    if _given_compatible(x.given, y.given):
                        rank, lv = 4, Level("name", "partial", (f"{x.text.title()} / {y.text.title()} (same family name, "
                                                                "given names compatible)" if e else ""))
                    else:
                        rank, lv = 5, Level("name", "family", (f"same family name {x.family.title()} / "
                                                               f"{y.family.title()}" if e else ""))
                else:
                    rank, lv = 7, Level("name", "else", f"{x.text.title()} ≠ {y.text.title()}" if e else "")
                if rank < best_rank:
                    best_rank, best = rank, lv
        return best
    a_all = a.single_names | {nf.given for nf in a.names}
    b_all = b.single_names | {nf.given for nf in b.names}
    if a_all and b_all:
        shared = sorted(a_all & b_all)
        if shared:
            return Level("name", "single", f"both called {shared[0].title()}" if e else "",
                         (KeyKind.NAME_TOKEN, f"s:{n.phonetic(shared[0])}"))
        nicks = sorted((n.nickname_of(x, y), x, y) for x in a_all for y in b_all if n.nickname_of(x, y))
        if nicks:
            full, x, y = nicks[0]
            return Level("name", "single", f"both called {_nickname_detail(x, y)}" if e else "",
                         (KeyKind.NAME_TOKEN, f"s:{n.phonetic(full)}"))
        return Level("name", "else", "names differ")
    return Level("name", "null")


def _plate_level(a: PersonRecord, b: PersonRecord, e: bool) -> Level:
    if not a.plates or not b.plates:
        return Level("plate", "null")
    shared = sorted(set(a.plates) & set(b.plates))
    if shared:
        folded = shared[0]
        pa, pb = a.plates[folded], b.plates[folded]
        if pa == pb:
            return Level("plate", "exact", f"{pa} = {pb}" if e else "", (KeyKind.PLATE, folded))
        return Level("plate", "ocr", f"{pa} = {pb} (OCR)" if e else "", (KeyKind.PLATE, folded))
    for fa, pa in sorted(a.plates.items()):
        for fb, pb in sorted(b.plates.items()):
            if len(fa) == len(fb) and sum(1 for x, y in zip(fa, fb, strict=True) if x != y) == 1:
                return Level("plate", "near", f"{pa} ~ {pb} (one character apart)" if e else "",
                             (KeyKind.PLATE, n.plate_near_key(fa, fb)))
    return Level("plate", "else", f"{', '.join(sorted(a.plates.values()))} ≠ {', '.join(sorted(b.plates.values()))}" if e else "")


def _mark_pair(x: n.Mark, y: n.Mark) -> tuple[int, str, str]:
    """(rank, level, motif or place) of two marks: 0 strong, 1 some, 2 place, 3 unrelated. Sides
    count when both give one: a star on the left hand is not the star on the right hand."""
    if x.kind != y.kind:
        return 3, "else", ""
    motifs = x.motifs & y.motifs
    same_place = bool(x.body) and x.body == y.body and not (x.side and y.side and x.side != y.side)
    if motifs and same_place:
        return 0, "strong", min(motifs)
    if motifs:
        return 1, "some", min(motifs)
    if same_place and not (x.motifs and y.motifs):
        return 2, "place", x.body
    return 3, "else", ""


def _mark_level(a: PersonRecord, b: PersonRecord, e: bool) -> Level:
    if not a.mark_list or not b.mark_list:
        return Level("mark", "null")
    best = min(((*_mark_pair(x, y), x, y) for x in a.mark_list for y in b.mark_list), key=lambda t: t[:3])
    rank, level, what, x, y = best
    if rank == 3:
        return Level("mark", "else", "marks differ" if e else "")
    detail = ""
    if e:
        said = f"{x.text()} = {y.text()}" if x == y else f"{x.text()} / {y.text()}"
        detail = {0: said, 1: f"{said} (same mark, {'other side' if x.body == y.body else 'place differs'})"
                  if x.body and y.body else f"{said} (same mark)", 2: f"{said} (same place)"}[rank]
    key = f"{x.kind}@{what}" if level == "place" else f"{x.kind}:{what}"
    return Level("mark", level, detail, (KeyKind.MARK, key))


_PLACE_DETAIL = {"same_store": "same store", "same_region": "same region"}


def days_apart(days: float) -> str:
    whole = round(days)
    return "the same day" if whole == 0 else "1 day apart" if whole == 1 else f"{whole} days apart"


# Name levels at which the two first names agree (as written, by nickname, sound or spelling).
GIVEN_NAME_AGREES = frozenset({"exact", "nickname", "phonetic", "fuzzy", "single"})


def compare(a: PersonRecord, b: PersonRecord, *, sku_window_days: int = 14, explain: bool = True) -> list[Level]:
    """The comparison levels of a pair; `explain=False` leaves the details out (ranking many candidates)."""
    e = explain
    out = [_name_level(a, b, e), _plate_level(a, b, e), _mark_level(a, b, e)]
    if a.age_index is not None and b.age_index is not None:
        d = abs(a.age_index - b.age_index)
        out.append(Level("age", "same" if d == 0 else "adjacent" if d == 1 else "else", f"{a.age_band} / {b.age_band}" if e else ""))
    else:
        out.append(Level("age", "null"))
    if a.gender and b.gender and a.gender != "unknown" and b.gender != "unknown":
        if a.gender == b.gender and out[0].level in GIVEN_NAME_AGREES:
            # A shared first name says the gender already: two strangers called John are both men,
            # so agreeing on it is no further evidence (the model assumes features independent).
            out.append(Level("gender", "null"))
        else:
            out.append(Level("gender", "same" if a.gender == b.gender else "else", f"{a.gender} / {b.gender}" if e else ""))
    else:
        out.append(Level("gender", "null"))
    if a.height_cm and b.height_cm:
        d = abs(a.height_cm - b.height_cm)
        out.append(Level("height", "close" if d <= 5 else "near" if d <= 12 else "else",
                         f"{a.height_cm} / {b.height_cm} cm" if e else ""))
    else:
        out.append(Level("height", "null"))
    if a.build and b.build:
        out.append(Level("build", "same" if a.build == b.build else "else", f"{a.build} / {b.build}" if e else ""))
    else:
        out.append(Level("build", "null"))
    if a.hair and b.hair:
        j = n.jaccard(a.hair, b.hair)
        out.append(Level("hair", "similar" if j >= 0.5 else "else",
                         f"{' '.join(sorted(a.hair))} / {' '.join(sorted(b.hair))}" if e else ""))
    else:
        out.append(Level("hair", "null"))
    if a.clothing and b.clothing:
        inter = a.clothing & b.clothing
        j = len(inter) / len(a.clothing | b.clothing)
        lvl = "similar" if j >= 0.34 else "some" if inter else "else"
        out.append(Level("clothing", lvl, (f"shared: {' '.join(sorted(inter))}" if inter else "clothing differs") if e else ""))
    else:
        out.append(Level("clothing", "null"))
    days = abs((a.occurred_at - b.occurred_at).total_seconds()) / 86400
    if a.skus and b.skus:
        shared_skus = a.skus & b.skus
        out.append(Level("sku", "same", f"SKU {sorted(shared_skus)[0]} taken both times" if e else "") if shared_skus
                   else Level("sku", "else"))
    else:
        out.append(Level("sku", "null"))
    place = "same_store" if a.store_id == b.store_id else "same_region" if a.region == b.region else "else"
    out.append(Level("place", place, (_PLACE_DETAIL.get(place) or f"{a.region} / {b.region}") if e else ""))
    out.append(Level("time", "week" if days <= 7 else "quarter" if days <= 92 else "else", days_apart(days) if e else ""))
    if a.companions and b.companions:
        shared = a.companions & b.companions
        out.append(Level("companion", "same" if shared else "else",
                         ("the same co-offender (by " + ("name" if any(t[:2] == "n:" for t in shared) else "mark")
                          + ") was with both" if shared else "co-offenders differ") if e else ""))
    else:
        out.append(Level("companion", "null"))
    return out
