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

from django.core.cache import cache
from django.db import connection, transaction

from events.models import EventPerson
from matching.models import FeatureWeight, Judgement
from matching.records import PersonRecord, load_records
from matching.scoring import DEFAULT_M, DEFAULT_PRIOR, DEFAULT_U, LEVELS, Level, Params, compare

PRIOR_FEATURE = "__prior__"
CACHE_SECONDS = 300
MIN_PAIRS = 200
SMOOTH = 1.0  # Laplace pseudo-count per level


def _cache_key(organisation_id: int) -> str:
    return f"matching:params:{organisation_id}"


def params_for(organisation_id: int) -> Params:
    cached = cache.get(_cache_key(organisation_id))
    if cached is not None:
        return cached
    params = Params.default()
    for fw in FeatureWeight.objects.filter(organisation_id=organisation_id):
        if fw.feature == PRIOR_FEATURE:
            params.prior = fw.m
        elif fw.feature in params.m and fw.level in params.m[fw.feature]:
            params.m[fw.feature][fw.level] = fw.m
            params.u[fw.feature][fw.level] = fw.u
    cache.set(_cache_key(organisation_id), params, CACHE_SECONDS)
    return params


def _level_vector(levels: list[Level]) -> dict[str, str]:
    return {lv.feature: lv.level for lv in levels if lv.level != "null"}


def estimate_u(records: list[PersonRecord], *, pairs: int, rng: random.Random) -> dict[str, dict[str, float]]:
    counts = {f: Counter() for f in LEVELS}
    if len(records) < 2:
        return {f: dict(v) for f, v in DEFAULT_U.items()}
    for _ in range(pairs):
        a, b = rng.sample(records, 2)
        for f, lvl in _level_vector(compare(a, b)).items():
            counts[f][lvl] += 1
    return {f: _normalise(counts[f], LEVELS[f], DEFAULT_U[f]) for f in LEVELS}


def _normalise(counter: Counter, levels: list[str], default: dict[str, float]) -> dict[str, float]:
    total = sum(counter.values())
    if total < 20:
        return dict(default)
    return {lvl: (counter[lvl] + SMOOTH) / (total + SMOOTH * len(levels)) for lvl in levels}


BLOCKED_PAIRS_SQL = """
SELECT a.person_id, b.person_id
FROM matching_blockingkey a
JOIN matching_blockingkey b ON a.kind = b.kind AND a.value = b.value AND a.person_id < b.person_id
WHERE a.organisation_id = %(org)s AND b.organisation_id = %(org)s
  AND (a.kind, a.value) IN (
      SELECT kind, value FROM matching_blockingkey WHERE organisation_id = %(org)s
      GROUP BY kind, value HAVING COUNT(*) BETWEEN 2 AND %(hub_cap)s)
ORDER BY md5(a.person_id::text || ':' || b.person_id::text)
LIMIT %(limit)s
"""


def blocked_pairs(organisation_id: int, *, hub_cap: int, limit: int) -> list[tuple[int, int]]:
    with connection.cursor() as cur:
        cur.execute(BLOCKED_PAIRS_SQL, {"org": organisation_id, "hub_cap": hub_cap, "limit": limit})
        return list({(a, b) for a, b in cur.fetchall()})


def judged_pairs(organisation_id: int) -> list[tuple[int, int, float]]:
    rows = Judgement.objects.filter(organisation_id=organisation_id, undone_at__isnull=True,
                                    decision__in=[Judgement.Decision.ACCEPT, Judgement.Decision.REJECT],
                                    target_person__isnull=False).values_list("person_id", "target_person_id", "decision")
    return [(a, b, 1.0 if d == Judgement.Decision.ACCEPT else 0.0) for a, b, d in rows]


def em(vectors: list[dict[str, str]], known: list[tuple[dict[str, str], float]], u: dict[str, dict[str, float]],
       *, iterations: int = 25) -> tuple[dict[str, dict[str, float]], float]:
    m = {f: dict(v) for f, v in DEFAULT_M.items()}
    prior = 0.2
    for _ in range(iterations):
        num = {f: Counter() for f in LEVELS}
        posteriors = []
        for vec in vectors:
            lm = math.log(prior) + sum(math.log(m[f][lvl]) for f, lvl in vec.items())
            lu = math.log(1 - prior) + sum(math.log(u[f][lvl]) for f, lvl in vec.items())
            p = 1 / (1 + math.exp(max(-60, min(60, lu - lm))))
            posteriors.append(p)
            for f, lvl in vec.items():
                num[f][lvl] += p
        for vec, p in known:  # reviewers' answers: the posterior is known
            for f, lvl in vec.items():
                num[f][lvl] += p * 5  # a judgement counts for several unlabelled pairs
        m = {f: _normalise_weighted(num[f], LEVELS[f], m[f]) for f in LEVELS}
        prior = min(0.95, max(0.001, sum(posteriors) / max(1, len(posteriors))))
    return m, prior


def _normalise_weighted(counter: Counter, levels: list[str], previous: dict[str, float]) -> dict[str, float]:
    total = sum(counter.values())
    if total < 1:
        return dict(previous)
    return {lvl: (counter[lvl] + 0.1) / (total + 0.1 * len(levels)) for lvl in levels}


def estimate_weights(organisation_id: int, *, seed: int = 0, max_pairs: int = 20000) -> Params | None:
    """Estimate and store the retailer's weights; None when it has too little data yet."""
    from matching.engine import settings_for

    rng = random.Random(seed)
    conf = settings_for(organisation_id)
    pairs = blocked_pairs(organisation_id, hub_cap=conf.hub_cap, limit=max_pairs)
    if len(pairs) < MIN_PAIRS:
        return None
    person_ids = list(EventPerson.objects.filter(event__organisation_id=organisation_id).order_by("?")
                      .values_list("id", flat=True)[:5000])
    sample = list(load_records(person_ids).values())
    u = estimate_u(sample, pairs=min(20000, 4 * len(sample)), rng=rng)
    judged = judged_pairs(organisation_id)
    needed = {i for pair in pairs for i in pair} | {i for a, b, _ in judged for i in (a, b)}
    records = load_records(needed)
    vectors = [_level_vector(compare(records[a], records[b], sku_window_days=conf.sku_window_days))
               for a, b in pairs if a in records and b in records]
    known = [(_level_vector(compare(records[a], records[b], sku_window_days=conf.sku_window_days)), p)
             for a, b, p in judged if a in records and b in records]
    m, prior = em(vectors, known, u)
    params = Params(m=m, u=u, prior=prior)
    _store(organisation_id, params)
    return params


@transaction.atomic
def _store(organisation_id: int, params: Params) -> None:
    FeatureWeight.objects.filter(organisation_id=organisation_id).delete()
    rows = [FeatureWeight(organisation_id=organisation_id, feature=PRIOR_FEATURE, level="", m=params.prior,
                          u=1 - params.prior, source="em")]
    for f, levels in LEVELS.items():
        for lvl in levels:
            rows.append(FeatureWeight(organisation_id=organisation_id, feature=f, level=lvl, m=params.m[f][lvl],
                                      u=params.u[f][lvl], source="em"))
    FeatureWeight.objects.bulk_create(rows)
    cache.delete(_cache_key(organisation_id))


__all__ = ["params_for", "estimate_weights", "DEFAULT_PRIOR"]
