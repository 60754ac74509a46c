"""Feature weights per retailer, estimated from the data and from reviewers' judgements.

- u (how often a level occurs between *different* people) from random pairs of the retailer's records;
- m (how often it occurs for the *same* person) and the prior by expectation–maximisation over the
  candidate pairs blocking produces (as Splink does), with accepted and rejected judgements entering
  the EM as pairs whose answer is known;
- defaults (matching.scoring) until a retailer has enough data.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection, transaction

from events.models import EventPerson
from matching.models import FeatureWeight, Judgement, KeyKind
from matching.records import load_records
from matching.scoring import DEFAULT_MATCHES_PER_RECORD, DEFAULT_PRIOR, RETAIL, Level, Model, Params, compare

PRIOR_FEATURE = "__prior__"
MATCHES_FEATURE = "__matches__"  # m = matches per record
CROSS_FEATURE = "__cross__"  # level = a partner retailer's id, m = matches per record among its records
CACHE_SECONDS = 300
MIN_PAIRS = 200
SMOOTH = 1.0  # Laplace pseudo-count per level
CONVERGED = 1e-4  # EM stops when no parameter moves more than this (as Splink's em_convergence)


def _cache_key(organisation_id: int) -> str:
    return f"matching:params:v3:{organisation_id}"


def params_for(organisation_id: int) -> Params:
    cached = cache.get(_cache_key(organisation_id))
    if cached is not None:
        return cached
    params = Params.default()
    for fw in FeatureWeight.objects.filter(organisation_id=organisation_id):
        if fw.feature == PRIOR_FEATURE:
            params.prior = fw.m
        elif fw.feature == MATCHES_FEATURE:
            params.matches_per_record = fw.m
        elif fw.feature == CROSS_FEATURE:
            params.cross_matches[int(fw.level)] = fw.m
        elif fw.feature in params.m and fw.level in params.m[fw.feature]:
            params.m[fw.feature][fw.level] = fw.m
            params.u[fw.feature][fw.level] = fw.u
    cache.set(_cache_key(organisation_id), params, CACHE_SECONDS)
    return params


def level_vector(levels: list[Level]) -> dict[str, str]:
    return {lv.feature: lv.level for lv in levels if lv.level != "null"}


_level_vector = level_vector


# --- Generic Fellegi–Sunter estimation (any Model: retail, FEBRL) --------------------------------


def _fast_compare(a, b):
    return compare(a, b, explain=False)


def estimate_u(records: list, *, pairs: int, rng: random.Random, model: Model = RETAIL,
               compare_fn: Callable | None = None) -> dict[str, dict[str, float]]:
    """u from random pairs: almost all random pairs are different people."""
    compare_fn = compare_fn or _fast_compare
    counts = {f: Counter() for f in model.levels}
    if len(records) < 2:
        return {f: dict(v) for f, v in model.default_u.items()}
    for _ in range(pairs):
        a, b = rng.sample(records, 2)
        for f, lvl in level_vector(compare_fn(a, b)).items():
            counts[f][lvl] += 1
    return {f: _normalise(counts[f], model.levels[f], model.default_u[f]) for f in model.levels}


def _normalise(counter: Counter, levels: list[str], default: dict[str, float]) -> dict[str, float]:
    total = sum(counter.values())
    if total < 20:
        return dict(default)
    return {lvl: (counter[lvl] + SMOOTH) / (total + SMOOTH * len(levels)) for lvl in levels}


def em(vectors: list[dict[str, str]], known: list[tuple[dict[str, str], float]], u: dict[str, dict[str, float]],
       *, model: Model = RETAIL, iterations: int = 25, prior: float = 0.2,
       known_weight: float = 5.0) -> tuple[dict[str, dict[str, float]], float]:
    """m and the prior by expectation–maximisation over candidate pairs' level vectors, u fixed.
    `known` pairs (reviewers' answers) enter with their answer as the posterior, each counting
    for `known_weight` unlabelled pairs. Identical vectors are grouped, so the cost per iteration
    grows with the number of distinct vectors, not of pairs."""
    grouped = Counter(tuple(sorted(v.items())) for v in vectors)
    distinct = [(dict(k), c) for k, c in grouped.items()]
    total_pairs = sum(grouped.values())
    m = {f: dict(v) for f, v in model.default_m.items()}
    items = [(list(vec.items()), count) for vec, count in distinct]
    log_u = {f: {lvl: math.log(x) for lvl, x in levels.items()} for f, levels in u.items()}
    for _ in range(iterations):
        num = {f: Counter() for f in model.levels}
        expected_matches = 0.0
        log_m = {f: {lvl: math.log(x) for lvl, x in levels.items()} for f, levels in m.items()}
        base = math.log(1 - prior) - math.log(prior)
        for pairs, count in items:
            d = base
            for f, lvl in pairs:
                d += log_u[f][lvl] - log_m[f][lvl]
            p = 1 / (1 + math.exp(max(-60, min(60, d))))
            expected_matches += p * count
            pc = p * count
            for f, lvl in pairs:
                num[f][lvl] += pc
        for vec, p in known:  # reviewers' answers: the posterior is known
            for f, lvl in vec.items():
                num[f][lvl] += p * known_weight
        new_m = {f: _normalise_weighted(num[f], model.levels[f], m[f]) for f in model.levels}
        new_prior = min(0.95, max(0.0005, expected_matches / max(1, total_pairs)))
        change = max([abs(new_prior - prior)] + [abs(new_m[f][lvl] - m[f][lvl]) for f in m for lvl in m[f]])
        m, prior = new_m, new_prior
        if change < CONVERGED:
            break
    return m, prior


def posteriors(vectors: list[dict[str, str]], m, u, prior: float) -> list[float]:
    """P(same person | levels) of each vector under these parameters."""
    base = math.log(1 - prior) - math.log(prior)
    out = []
    for vec in vectors:
        d = base + sum(math.log(u[f][lvl]) - math.log(m[f][lvl]) for f, lvl in vec.items())
        out.append(1 / (1 + math.exp(max(-60, min(60, d)))))
    return out


def _normalise_weighted(counter: Counter, levels: list[str], previous: dict[str, float]) -> dict[str, float]:
    total = sum(counter.values())
    if total < 1:
        return dict(previous)
    return {lvl: (counter[lvl] + 0.1) / (total + 0.1 * len(levels)) for lvl in levels}


@dataclass
class Session:
    """One EM run over the candidate pairs one family of blocking keys makes. The features those keys
    tie (a pair blocked on a plate agrees on the plate by construction) are left out of it, as Splink
    does: their m comes from the other sessions."""

    name: str
    vectors: list[dict[str, str]]
    tied: frozenset[str]
    total_pairs: int  # candidate pairs of this family in all (the vectors may be a sample)
    m: dict[str, dict[str, float]] = field(default_factory=dict)
    prior: float = 0.0
    # P(both records have the feature | same person), from the other sessions' likely matches.
    present: dict[str, float] = field(default_factory=dict)

    @property
    def expected_matches(self) -> float:
        return self.prior * self.total_pairs


def em_sessions(sessions: list[Session], u: dict[str, dict[str, float]], *, model: Model,
                known: list[tuple[dict[str, str], float]] = (), iterations: int = 25) -> dict[str, dict[str, float]]:
    """EM per session (tied features left out), then each feature's m as the average over the
    sessions that estimated it, weighted by their expected matches."""
    for s in sessions:
        vectors = [{f: lvl for f, lvl in v.items() if f not in s.tied} for v in s.vectors]
        kn = [({f: lvl for f, lvl in v.items() if f not in s.tied}, p) for v, p in known]
        s.m, s.prior = em(vectors, kn, u, model=model, iterations=iterations, prior=0.1)
    m = {f: dict(v) for f, v in model.default_m.items()}
    present: dict[str, list[float]] = {f: [0.0, 0.0] for f in model.levels}  # matches with f, matches
    for s in sessions:
        vectors = [{f: lvl for f, lvl in v.items() if f not in s.tied} for v in s.vectors]
        for v, p in zip(vectors, posteriors(vectors, s.m, u, s.prior), strict=True):
            for f in model.levels:
                if f not in s.tied:
                    present[f][1] += p
                    if f in v:
                        present[f][0] += p
    for s in sessions:
        s.present = {f: (a / b if b else 0.0) for f, (a, b) in present.items()}
    for f, levels in model.levels.items():
        votes = [(s.expected_matches, s.m[f]) for s in sessions if f not in s.tied and s.vectors]
        total = sum(w for w, _ in votes)
        if total > 0:
            m[f] = {lvl: sum(w * mf[lvl] for w, mf in votes) / total for lvl in levels}
    return m


# --- The retail model's weights per organisation ---------------------------------------------------


# Families of blocking keys and the features their keys tie.
SESSIONS = {
    "name": ((KeyKind.NAME, KeyKind.NAME_TOKEN), frozenset({"name"})),
    "plate": ((KeyKind.PLATE,), frozenset({"plate"})),
    "mark": ((KeyKind.MARK,), frozenset({"mark"})),
    "sku": ((KeyKind.SKU,), frozenset({"sku", "place", "time"})),
    "desc": ((KeyKind.DESCRIPTION,), frozenset({"gender", "age", "height", "build", "place"})),
}
# Sessions whose blocking recall follows from their feature's m: sharing a key of theirs is agreeing on
# any level of the feature but "else" (matches per record are estimated from these).
RECALL_SESSIONS = ("name", "plate", "mark")

SESSION_PAIRS_SQL = """
SELECT DISTINCT a.person_id, b.person_id
FROM matching_blockingkey a
JOIN matching_blockingkey b ON a.kind = b.kind AND a.value = b.value AND a.person_id < b.person_id
JOIN events_eventperson pa ON pa.id = a.person_id
JOIN events_eventperson pb ON pb.id = b.person_id
WHERE a.organisation_id = %(org)s AND b.organisation_id = %(org)s AND a.kind = ANY(%(kinds)s)
  AND pa.event_id <> pb.event_id AND strpos(a.value, '&') = 0  -- compound keys (matching.keys) block only
  AND (a.kind, a.value) IN (
      SELECT kind, value FROM matching_blockingkey WHERE organisation_id = %(org)s AND kind = ANY(%(kinds)s)
      GROUP BY kind, value HAVING COUNT(*) BETWEEN 2 AND %(hub_cap)s)
"""


def session_pairs(organisation_id: int, kinds, *, hub_cap: int) -> list[tuple[int, int]]:
    with connection.cursor() as cur:
        cur.execute(SESSION_PAIRS_SQL, {"org": organisation_id, "kinds": [str(k) for k in kinds], "hub_cap": hub_cap})
        return sorted(cur.fetchall())


def blocked_pairs(organisation_id: int, *, hub_cap: int, limit: int) -> list[tuple[int, int]]:
    """Candidate pairs of every family (a sample of at most `limit`)."""
    pairs = sorted({p for kinds, _ in SESSIONS.values() for p in session_pairs(organisation_id, kinds, hub_cap=hub_cap)})
    return random.Random(0).sample(pairs, limit) if len(pairs) > limit else pairs


def judged_pairs(organisation_id: int) -> list[tuple[int, int, float]]:
    rows = Judgement.objects.filter(organisation_id=organisation_id, undone_at__isnull=True,
                                    decision__in=[Judgement.Decision.ACCEPT, Judgement.Decision.REJECT],
                                    target_person__isnull=False).values_list("person_id", "target_person_id", "decision")
    return [(a, b, 1.0 if d == Judgement.Decision.ACCEPT else 0.0) for a, b, d in rows]


def estimate_weights(organisation_id: int, *, seed: int = 0, max_pairs: int = 8000) -> Params | None:
    """Estimate and store the retailer's weights; None when it has too little data yet.

    u from random pairs of its records; m per feature by EM sessions over the candidate pairs each
    family of blocking keys makes (reviewers' accepted and rejected pairs entering as known
    answers); matches per record from how many matches the name, plate and mark sessions find and
    how many of all matches those keys can find (their recall, from the m of the other sessions)."""
    from matching.engine import settings_for

    rng = random.Random(seed)
    conf = settings_for(organisation_id)
    person_ids = sorted(EventPerson.objects.filter(event__organisation_id=organisation_id, role__in=["offender", "accomplice"])
                        .values_list("id", flat=True))
    if len(person_ids) < 50:
        return None
    sample_ids = rng.sample(person_ids, min(5000, len(person_ids)))
    sample = list(load_records(sample_ids).values())
    u = estimate_u(sample, pairs=min(20000, 6 * len(sample)), rng=rng)
    judged = judged_pairs(organisation_id)
    sessions, chosen = [], {}
    for name, (kinds, tied) in SESSIONS.items():
        pairs = session_pairs(organisation_id, kinds, hub_cap=conf.hub_cap)
        chosen[name] = (rng.sample(pairs, max_pairs) if len(pairs) > max_pairs else pairs, len(pairs), tied)
    if sum(total for _, total, _ in chosen.values()) < MIN_PAIRS:
        return None
    needed = {i for pairs, _, _ in chosen.values() for pair in pairs for i in pair} | {i for a, b, _ in judged for i in (a, b)}
    records = load_records(needed)

    def vec(a, b):
        return level_vector(compare(records[a], records[b], sku_window_days=conf.sku_window_days, explain=False))

    for name, (pairs, total, tied) in chosen.items():
        sessions.append(Session(name, [vec(a, b) for a, b in pairs if a in records and b in records], tied, total))
    known = [(vec(a, b), p) for a, b, p in judged if a in records and b in records]
    m = em_sessions(sessions, u, model=RETAIL, known=known)
    # Matching pairs in all = matches a session found / the share of all matches its keys can find:
    # both records have the feature (among likely matches, from the other sessions: known offenders
    # are named more often than strangers) and it agrees at some level.
    estimates = []
    for s in sessions:
        if s.name in RECALL_SESSIONS and s.vectors:
            feature = next(iter(s.tied))
            recall = s.present.get(feature, 0) * (1 - m[feature]["else"])
            if recall > 0.01:
                estimates.append(s.expected_matches / recall)
    if estimates:
        total_matches = sorted(estimates)[len(estimates) // 2]  # the median
        matches_per_record = max(0.01, 2 * total_matches / len(person_ids))
    else:
        matches_per_record = DEFAULT_MATCHES_PER_RECORD
    cross = {other: per_record for other in _partners(organisation_id)
             if (per_record := _cross_matches(organisation_id, other, sessions, m, u, len(person_ids), conf=conf,
                                              rng=rng, max_pairs=max_pairs)) is not None}
    params = Params(m=m, u=u, prior=DEFAULT_PRIOR, tf_levels=RETAIL.tf_levels, matches_per_record=matches_per_record,
                    cross_matches=cross)
    params = params.for_population(len(person_ids))
    _store(organisation_id, params)
    return params


# --- Across retailers (Connect the Dots) -------------------------------------------------------------

CROSS_PAIRS_SQL = """
SELECT DISTINCT a.person_id, b.person_id
FROM matching_blockingkey a
JOIN matching_blockingkey b ON a.kind = b.kind AND a.value = b.value
WHERE a.organisation_id = %(org)s AND b.organisation_id = %(other)s AND a.kind = ANY(%(kinds)s)
  AND strpos(a.value, '&') = 0  -- compound keys (matching.keys) block only
  AND (a.kind, a.value) IN (
      SELECT kind, value FROM matching_blockingkey
      WHERE organisation_id = ANY(%(both)s) AND kind = ANY(%(kinds)s)
      GROUP BY kind, value HAVING COUNT(*) BETWEEN 2 AND %(hub_cap)s)
"""


def _partners(organisation_id: int) -> list[int]:
    from matching.engine import partner_organisations

    return [o for o in partner_organisations(organisation_id) if o != organisation_id]


def prior_only_em(vectors: list[dict[str, str]], m, u, *, prior: float = 0.01, iterations: int = 50) -> float:
    """The share of matches among pairs, m and u held fixed (EM on the prior alone)."""
    if not vectors:
        return 0.0
    for _ in range(iterations):
        new = min(0.95, max(1e-6, sum(posteriors(vectors, m, u, prior)) / len(vectors)))
        if abs(new - prior) < CONVERGED * prior:
            return new
        prior = new
    return prior


def _cross_matches(organisation_id: int, other: int, sessions: list[Session], m, u, records: int, *, conf,
                   rng: random.Random, max_pairs: int) -> float | None:
    """How many of the partner's records one of ours matches, on average: as within a retailer
    (estimate_weights), matches found by the name, plate and mark keys the two share, over the share
    of matches those keys can find; with the m and u estimated within (the same people, described
    the same way), EM estimating only how many of the pairs are matches. None with too few pairs."""
    present = {s.name: s.present for s in sessions}
    estimates = []
    for name in RECALL_SESSIONS:
        kinds, tied = SESSIONS[name]
        with connection.cursor() as cur:
            cur.execute(CROSS_PAIRS_SQL, {"org": organisation_id, "other": other, "both": [organisation_id, other],
                                          "kinds": [str(k) for k in kinds], "hub_cap": conf.hub_cap})
            pairs = sorted(cur.fetchall())
        total = len(pairs)
        if total < MIN_PAIRS // 10:
            continue
        chosen = rng.sample(pairs, max_pairs) if total > max_pairs else pairs
        loaded = load_records({i for pair in chosen for i in pair})
        vectors = [{f: lvl for f, lvl in level_vector(compare(loaded[a], loaded[b], sku_window_days=conf.sku_window_days,
                                                             explain=False)).items() if f not in tied}
                   for a, b in chosen if a in loaded and b in loaded]
        feature = next(iter(tied))
        recall = present.get(name, {}).get(feature, 0) * (1 - m[feature]["else"])
        if vectors and recall > 0.01:
            estimates.append(prior_only_em(vectors, m, u) * total / recall)
    if not estimates:
        return None
    return max(1e-4, sorted(estimates)[len(estimates) // 2] / max(1, records))


@transaction.atomic
def _store(organisation_id: int, params: Params) -> None:
    FeatureWeight.objects.filter(organisation_id=organisation_id).delete()
    rows = [FeatureWeight(organisation_id=organisation_id, feature=PRIOR_FEATURE, level="", m=params.prior,
                          u=1 - params.prior, source="em")]
    if params.matches_per_record is not None:
        rows.append(FeatureWeight(organisation_id=organisation_id, feature=MATCHES_FEATURE, level="",
                                  m=params.matches_per_record, u=0, source="em"))
    for other, per_record in sorted(params.cross_matches.items()):
        rows.append(FeatureWeight(organisation_id=organisation_id, feature=CROSS_FEATURE, level=str(other),
                                  m=per_record, u=0, source="em"))
    for f, levels in RETAIL.levels.items():
        for lvl in levels:
            rows.append(FeatureWeight(organisation_id=organisation_id, feature=f, level=lvl, m=params.m[f][lvl],
                                      u=params.u[f][lvl], source="em"))
    FeatureWeight.objects.bulk_create(rows)
    cache.delete(_cache_key(organisation_id))


__all__ = ["params_for", "estimate_weights", "DEFAULT_PRIOR"]
