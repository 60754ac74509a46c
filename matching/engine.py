"""Suggestions for one event: keys → candidates → pairwise scores → the best few, kept for review.

Cost per event grows with the number of candidates its keys find, never with the size of the
database: two indexed queries on matching_blockingkey, then the candidates' records."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events.bulk import copy_into
from events.models import Event, EventPerson, PersonRole
from matching.hubs import HubCount, _identity_hub_counts, refresh_hubs, remember_hubs  # noqa: F401 - refresh_hubs is called as matching.engine.refresh_hubs
from matching.keys import is_compound, key_signature, keys_for, record_signatures
from matching.models import MatchSettings, MatchState, RejectedPair, Suggestion
from matching.records import PersonRecord, load_match_records, load_records, raw_cursor, write_match_records
from matching.scoring import Params, Scored, capped, compare, identifies, score, weight_only
from matching.weights import params_for

MATCHED_ROLES = (PersonRole.OFFENDER, PersonRole.ACCOMPLICE)
TOP_N = 5
MEMBERS_PER_TARGET = 5  # members of one profile compared with a new person (the ones sharing keys)


@dataclass
class Candidate:
    person_id: int
    profile_id: int | None
    scored: Scored
    record: PersonRecord


def settings_for(organisation_id: int) -> MatchSettings:
    obj = MatchSettings.objects.unscoped().filter(organisation_id=organisation_id).first()
    if obj is None:
        obj, _ = MatchSettings.objects.unscoped().get_or_create(organisation_id=organisation_id)
    return obj


_ENTITIES: dict[str, tuple[float, int]] = {}


def entity_count(organisation_ids: list[int]) -> int:
    """Roughly how many people the organisations have recorded (for value frequencies and the prior);
    cached, and remembered in this process for a minute once large."""
    key = "matching:entities:v2:" + ",".join(map(str, sorted(organisation_ids)))
    seen = _ENTITIES.get(key)
    if seen is not None and seen[1] >= 10_000 and time.monotonic() - seen[0] < 60:
        return seen[1]
    value = cache.get(key)
    if value is None or value < 10_000:  # small counts are cheap to keep exact
        value = max(1, EventPerson.objects.filter(event__organisation_id__in=organisation_ids,
                                                  role__in=MATCHED_ROLES).count())
        cache.set(key, value, 600)
    _ENTITIES[key] = (time.monotonic(), value)
    return value


def store_keys(records: list[PersonRecord], *, sku_window_days: int) -> dict[int, set[tuple[str, str]]]:
    """Replace the blocking keys of these people with the keys of what they now say, and their compact
    records (what a search that finds them reads): one DELETE, two COPYs."""
    keys = {r.id: keys_for(r, sku_window_days=sku_window_days) for r in records}
    if not keys:
        return keys
    with raw_cursor() as cur:
        cur.execute("WITH r AS (DELETE FROM matching_matchrecord WHERE person_id = ANY(%s)) "
                    "DELETE FROM matching_blockingkey WHERE person_id = ANY(%s)", [list(keys), list(keys)])
        with cur.copy("COPY matching_blockingkey (organisation_id, person_id, profile_id, kind, value, signature) "
                      "FROM STDIN") as copy:
            for r in records:
                signatures = record_signatures(r)
                for kind, value in sorted(keys[r.id]):
                    copy.write_row((r.organisation_id, r.id, r.profile_id, str(kind), value,
                                    key_signature(str(kind), value, signatures)))
        write_match_records(cur, records)
    return keys


# Candidates of a batch of records in one statement. A key counted as a hub (matching_hubkey, summed
# over the organisations searched) is not read at all. Any other key: how many people (a profile, or
# records in none agreeing on who they are: BlockingKey.signature, matching.keys) share it, read
# from at most ROW_CAP index rows; a key shared by more than the
# hub cap (or with ROW_CAP rows or more) is a hub too, newly met. A hub finds no candidates, except
# an identity hub (a name, plate or mark), which finds only the HUB_NEAR records nearest the record
# in recording order (person ids), half before and half after, per organisation — capped, as MISP
# caps over-correlating values, so it cannot flood the queue or the work, yet a prolific offender
# whose own unlinked events made their name a hub is still found, as is one of several John Smiths
# active at the time. Per record and entity at most MEMBERS_PER_TARGET members (the most recent)
# are compared, and at most CANDIDATES_PER_RECORD candidates in all, strongest first (a full name,
# a plate or a specific mark counts for more than a family name, a plate one character off or a
# mark's place, each of which counts again when the compound key of it, gender, age band and
# region is shared too: matching.keys); candidates sharing no name, plate or mark fill the places up to WEAK_CANDIDATES only.
CANDIDATE_SQL = """
WITH wanted AS (
    SELECT * FROM unnest(%(pids)s::bigint[], %(kinds)s::text[], %(values)s::text[], %(sigs)s::bigint[])
        AS w(pid, kind, value, sig)),
distinct_keys AS (SELECT DISTINCT kind, value FROM wanted),
stored AS MATERIALIZED (
    SELECT k.kind, k.value, SUM(h.entities) AS entities, SUM(h.rows) AS n
    FROM distinct_keys k CROSS JOIN LATERAL (  -- probes of the unique index, whatever the statistics say
        SELECT h.entities, h.rows FROM matching_hubkey h
        WHERE h.kind = k.kind AND h.value = k.value AND h.organisation_id = ANY(%(orgs)s) OFFSET 0) h
    GROUP BY k.kind, k.value
    HAVING SUM(h.entities) > %(hub_cap)s + 1 OR SUM(h.rows) >= %(row_cap)s
),
key_rows AS MATERIALIZED (
    SELECT k.kind, k.value, r.organisation_id, r.person_id, r.profile_id, r.signature, r.who
    FROM distinct_keys k CROSS JOIN LATERAL (
        SELECT b.organisation_id, b.person_id, b.profile_id, b.signature,
               COALESCE(b.profile_id, b.signature, -b.person_id) AS who
        FROM matching_blockingkey b
        WHERE b.kind = k.kind AND b.value = k.value AND b.organisation_id = ANY(%(orgs)s)
        LIMIT %(row_cap)s) r
    WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.kind = k.kind AND s.value = k.value)
),
counts AS MATERIALIZED (
    SELECT kind, value, COUNT(DISTINCT who) AS entities, COUNT(*) AS n,
           COUNT(DISTINCT who) > %(hub_cap)s + 1 OR COUNT(*) >= %(row_cap)s AS hub
    FROM key_rows GROUP BY kind, value
),
hub_keys AS (
    SELECT kind, value FROM stored
    UNION SELECT kind, value FROM counts WHERE hub
),
near AS (
    SELECT w.pid, w.kind, w.value, x.person_id, x.profile_id, x.signature = w.sig AS agrees
    FROM wanted w
    JOIN hub_keys h ON h.kind = w.kind AND h.value = w.value
    CROSS JOIN unnest(%(orgs)s::bigint[]) AS o(org)
    CROSS JOIN LATERAL (
        (SELECT b.person_id, b.profile_id, b.signature FROM matching_blockingkey b
         WHERE b.kind = w.kind AND b.value = w.value AND b.organisation_id = o.org AND b.person_id < w.pid
         ORDER BY b.person_id DESC LIMIT %(half)s)
        UNION
        (SELECT b.person_id, b.profile_id, b.signature FROM matching_blockingkey b
         WHERE b.kind = w.kind AND b.value = w.value AND b.organisation_id = o.org AND b.person_id > w.pid
         ORDER BY b.person_id LIMIT %(half)s)
        UNION  -- and, of its HUB_RECENT most recent rows, those that agree on who the record is
        (SELECT r.person_id, r.profile_id, r.signature FROM (
            SELECT b.person_id, b.profile_id, b.signature FROM matching_blockingkey b
            WHERE b.kind = w.kind AND b.value = w.value AND b.organisation_id = o.org AND b.person_id <> w.pid
            ORDER BY b.person_id DESC LIMIT %(recent)s) r
         WHERE w.sig IS NOT NULL AND r.signature = w.sig LIMIT %(half)s)) x
    WHERE w.kind IN ('name', 'name_token', 'plate', 'mark')
),
usable AS (
    SELECT w.pid, w.kind, w.value, r.person_id, r.profile_id, r.signature = w.sig AS agrees
    FROM wanted w
    JOIN counts c ON c.kind = w.kind AND c.value = w.value AND NOT c.hub
    JOIN key_rows r ON r.kind = w.kind AND r.value = w.value AND r.person_id <> w.pid
    UNION ALL
    SELECT pid, kind, value, person_id, profile_id, agrees FROM near
),
pairs AS (
    SELECT pid, person_id, profile_id,
           COUNT(*) FILTER (WHERE kind IN ('name', 'name_token', 'plate', 'mark')) AS identity,
           SUM(CASE WHEN kind = 'name' THEN 4
                    WHEN kind = 'plate' AND value NOT LIKE '~%%' THEN 4
                    WHEN kind = 'mark' AND value NOT LIKE '%%@%%' THEN 3
                    WHEN kind = 'name_token' AND (value LIKE 'fi:%%' OR value LIKE 'gi:%%') THEN 2
                    WHEN kind IN ('plate', 'mark', 'name_token') THEN 1
                    ELSE 0.5 END)
           -- agreeing on who the record is (a plate's name, a name's plate, gender and age band…)
           + 2 * COUNT(*) FILTER (WHERE agrees) / GREATEST(1, COUNT(*) FILTER (WHERE agrees)) AS strength
    FROM usable GROUP BY pid, person_id, profile_id
),
hits AS (
    SELECT pid, person_id, profile_id,
           ROW_NUMBER() OVER (PARTITION BY pid, COALESCE(profile_id, -person_id) ORDER BY person_id DESC) AS nth,
           ROW_NUMBER() OVER (PARTITION BY pid ORDER BY strength DESC, person_id DESC) AS rank, identity
    FROM pairs
)
SELECT 'count', NULL::bigint, NULL::bigint, NULL::bigint, kind, value, entities, n FROM counts
UNION ALL
SELECT 'stored', NULL, NULL, NULL, kind, value, entities, n FROM stored
UNION ALL
SELECT 'org', r.organisation_id, NULL, NULL, r.kind, r.value, COUNT(DISTINCT r.who), COUNT(*)
FROM key_rows r JOIN counts c ON c.kind = r.kind AND c.value = r.value AND c.hub
WHERE r.kind NOT IN ('name', 'name_token', 'plate', 'mark') GROUP BY r.organisation_id, r.kind, r.value
UNION ALL
SELECT 'hit', pid, person_id, profile_id, NULL, NULL, NULL, NULL FROM hits
WHERE nth <= %(per_target)s AND rank <= %(per_record)s AND (identity > 0 OR rank <= %(weak)s)
"""
ROW_CAP = 300  # more rows than a non-hub key can use (hub cap × members per target)


def _row_cap(hub_cap: int) -> int:
    """Index rows read of a key not known to be a hub: a key with this many is a hub, whatever the cap."""
    return max(ROW_CAP, (hub_cap + 2) * MEMBERS_PER_TARGET)

# Candidates compared per record at most: those sharing a name, plate or mark first, then those
# sharing the most keys (a description band or a product alone finds many weak candidates).
CANDIDATES_PER_RECORD = int(os.environ.get("AUROR_MATCH_CANDIDATES", "50"))
# Candidates sharing only a description band or a product fill at most this many places.
WEAK_CANDIDATES = int(os.environ.get("AUROR_MATCH_WEAK", "15"))
HUB_NEAR = 16  # records compared through one identity hub key: the nearest in recording order
# Of an identity hub's most recent rows (index only), those agreeing on who the record is are
# compared too (at most HUB_NEAR // 2 of them): bounded work per hub key, whatever its size.
HUB_RECENT = 120
IDENTITY_KINDS = ("name", "name_token", "plate", "mark")


@dataclass
class Found:
    """What blocking found for one record."""

    candidates: dict[int, int | None]  # person id → profile id
    tf: dict[tuple[str, str], tuple]  # key → (other entities sharing it, entities in all[, hub])
    hubs: set[tuple[str, str]]


def find_candidates_batch(records: list[PersonRecord], keys: dict[int, set[tuple[str, str]]], *,
                          organisation_ids: list[int], hub_cap: int,
                          met: list[HubCount] | None = None) -> dict[int, Found]:
    """Candidates of every record (one statement). Hubs newly met are counted and stored, or, when
    `met` is given (a read-ahead that writes nothing), added to it for the caller to store."""
    pids, kinds, values, sigs = [], [], [], []
    for rec in records:
        signatures = record_signatures(rec)
        for kind, value in sorted(keys.get(rec.id, ())):
            pids.append(rec.id)
            kinds.append(str(kind))
            values.append(value)
            sigs.append(key_signature(str(kind), value, signatures))
    out = {rec.id: Found({}, {}, set()) for rec in records}
    counts: dict[tuple[str, str], int] = {}
    hubs: dict[tuple[str, str], int] = {}
    row_cap = _row_cap(hub_cap)
    if pids:
        with raw_cursor() as cur:
            cur.execute(CANDIDATE_SQL, {"pids": pids, "kinds": kinds, "values": values, "sigs": sigs,
                                        "orgs": organisation_ids, "hub_cap": hub_cap, "row_cap": row_cap,
                                        "half": HUB_NEAR // 2, "recent": HUB_RECENT, "per_target": MEMBERS_PER_TARGET,
                                        "per_record": CANDIDATES_PER_RECORD, "weak": WEAK_CANDIDATES})
            rows = cur.fetchall()
        new_hubs, new_counts = set(), []
        for row_kind, pid, person_id, profile_id, kind, value, entities, n in rows:
            if row_kind == "count":
                counts[(kind, value)] = entities
                if entities > hub_cap + 1 or n >= row_cap:  # +1: the record's own key is counted too
                    new_hubs.add((kind, value))
            elif row_kind == "stored":
                hubs[(kind, value)] = int(n)
            elif row_kind == "org":  # a description band or product hub: as counted from its first rows
                new_counts.append((pid, kind, value, n, entities))
            else:
                out[pid].candidates[person_id] = profile_id
        if new_hubs:
            # Only a name, plate or mark hub's size weighs anything (term frequencies adjust those
            # levels alone): those are counted in full; a description band or a product shared by
            # tens of thousands is known to be a hub from the capped rows read above.
            identity = {k for k in new_hubs if k[0] in IDENTITY_KINDS}
            exact = _identity_hub_counts(identity, organisation_ids)
            for _org, kind, value, n, _entities in exact:
                hubs[(kind, value)] = hubs.get((kind, value), 0) + n
            hubs.update({k: counts[k] for k in new_hubs - identity})
            new_counts += exact
            if met is not None:
                met.extend(new_counts)
            else:
                remember_hubs(new_counts)
    total = entity_count(organisation_ids)
    for rec in records:
        found = out[rec.id]
        for k in keys.get(rec.id, ()):
            k = (str(k[0]), k[1])
            if k in hubs:
                found.hubs.add(k)
                found.tf[k] = (hubs[k] - 1, max(total, hubs[k]), True)
            elif k in counts:
                found.tf[k] = (max(0, counts[k] - 1), total)
    return out


def find_candidates(rec: PersonRecord, keys: set[tuple[str, str]], *, organisation_ids: list[int],
                    hub_cap: int) -> tuple[dict[int, int | None], dict[tuple[str, str], tuple[int, int]], set[tuple[str, str]]]:
    """(candidate person id → profile id, (others sharing, all entities) per key, hub keys left out)."""
    found = find_candidates_batch([rec], {rec.id: keys}, organisation_ids=organisation_ids, hub_cap=hub_cap)[rec.id]
    return found.candidates, found.tf, found.hubs


def _rejected_with(person_ids: list[int], candidate_ids) -> dict[int, set[int]]:
    """Per person: the candidates a human said are someone else."""
    with raw_cursor() as cur:
        cur.execute(f"SELECT person_low_id, person_high_id FROM {RejectedPair._meta.db_table} "  # nosec B608  # a model's table
                    "WHERE person_low_id = ANY(%s) OR person_high_id = ANY(%s)", [list(person_ids), list(person_ids)])
        rows = cur.fetchall()
    out: dict[int, set[int]] = {}
    for a, b in rows:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def possible_level(conf: MatchSettings) -> float:
    """The probability down to which a suggestion is kept as a possible match (never above the
    review threshold: at or above it a suggestion is a likely match)."""
    return min(conf.possible_threshold, conf.review_threshold)


def _log_odds(p: float) -> float:
    return math.log2(p / (1 - p)) if 0 < p < 1 else (-math.inf if p <= 0 else math.inf)


def partner_params(params: Params) -> Callable[[int], Params]:
    """The parameters for pairs with another retailer's records (Params.for_partner), per retailer."""
    made: dict[int, Params] = {}

    def get(organisation_id: int) -> Params:
        if organisation_id not in made:
            made[organisation_id] = params.for_partner(organisation_id, entity_count([organisation_id]))
        return made[organisation_id]
    return get


def rank(rec: PersonRecord, candidates: dict[int, int | None], records: dict[int, PersonRecord],
         params: Params, tf, *, threshold: float, sku_window_days: int, rejected: set[int],
         likely: float = 0.5, partner: Callable[[int], Params] | None = None) -> list[Candidate]:
    """The best TOP_N targets (a profile, or a person in none) scoring at least the threshold (the
    possible level: the likely ones come first, being the strongest). A pair that no name, plate or
    mark ties stays below `likely` (scoring.capped); another retailer's record is kept only when
    likely."""
    ceiling = _log_odds(likely) - 0.01
    best: dict[tuple[str, int], tuple[float, float, int, int | None]] = {}
    for pid, profile_id in sorted(candidates.items()):
        other = records.get(pid)
        if other is None or pid in rejected or other.event_id == rec.event_id or other.role not in MATCHED_ROLES:
            continue  # a witness or victim now: an edit changed their role since their keys were read
        if rec.profile_id is not None and profile_id == rec.profile_id:
            continue  # already linked to each other
        levels = compare(rec, other, sku_window_days=sku_window_days, explain=False)
        raw = weight_only(levels, _params_with(other, rec, params, partner), tf)
        w = raw if identifies(levels) else min(raw, ceiling)
        target = ("profile", profile_id) if profile_id else ("person", pid)
        if target not in best or (w, raw) > best[target][:2]:
            best[target] = (w, raw, pid, profile_id)
    ranked = sorted(best.values(), key=lambda t: (-t[0], -t[1], -t[2]))
    out = []
    floor = _log_odds(threshold)
    for w, _raw, pid, profile_id in ranked[:TOP_N + CONTRADICTED_SPARE]:
        if w < floor - 1e-9 or len(out) == TOP_N:
            break  # below the threshold: no explanation needed
        levels = compare(rec, records[pid], sku_window_days=sku_window_days)
        scored = score(levels, _params_with(records[pid], rec, params, partner), tf)
        if not identifies(levels):
            scored = capped(scored, ceiling)
        scored = _contradicted(records[pid], scored, out, params=params, partner=partner, tf=tf,
                               likely=likely, sku_window_days=sku_window_days)
        # A near miss is shown within the retailer only: another retailer's record is suggested when
        # it is a likely match, as both agreed to share.
        cross = records[pid].organisation_id != rec.organisation_id
        if scored.probability >= (max(threshold, likely) if cross else threshold):
            out.append(Candidate(pid, profile_id, scored, records[pid]))
    out.sort(key=lambda c: -c.scored.weight)
    return out


# Candidates looked at beyond TOP_N, for the places of cards a likelier one contradicts.
CONTRADICTED_SPARE = 3


def _contradicted(other: PersonRecord, scored: Scored, stronger: list[Candidate], *, params: Params, partner,
                  tf, likely: float, sku_window_days: int) -> Scored:
    """A card held against the likelier cards of the same person. If X is probably this person (p_X)
    and X is not the other record (Y), then Y is this person only if X is not, or if X is Y too:
    P(this = Y) ≤ (1 − p_X) + P(X = Y). P(X = Y) is bounded above by the evidence of comparing the
    two records alone, with even odds before it (no prior: the most it could be). When that bound
    is below the card's own probability, the card is held to it, with a reason naming the likelier
    match: two cards that cannot both be right are not both shown as likely."""
    bound, against = 1.0, None
    for x in stronger:
        p_x = x.scored.probability
        if p_x < likely:
            continue
        levels = compare(x.record, other, sku_window_days=sku_window_days, explain=False)
        pair_params = _params_with(other, x.record, params, partner)
        evidence = weight_only(levels, pair_params, tf) - pair_params.prior_weight
        same = 1 / (1 + 2 ** (-evidence)) if evidence > -60 else 0.0
        b = (1 - p_x) + same
        if b < bound:
            bound, against = b, x
    if against is None or bound >= scored.probability:
        return scored
    target = _log_odds(max(bound, 1e-9))
    cut = target - scored.weight
    who = against.record.names[0].text.title() if against.record.names else "another record"
    reasons = [*scored.reasons, {
        "feature": "contradiction", "level": "likelier", "weight": round(cut, 3),
        "detail": (f"a likelier match of this person ({who}, {against.scored.probability:.0%}) does not look like this "
                   f"record: this one is at most {bound:.0%}")}]
    return Scored(weight=target, probability=bound, reasons=reasons)


def _params_with(other: PersonRecord, rec: PersonRecord, params: Params, partner) -> Params:
    if partner is None or other.organisation_id == rec.organisation_id:
        return params
    return partner(other.organisation_id)


def _hub_reasons(hubs: set[tuple[str, str]]) -> list[dict]:
    """A note per hub key of the record (weight 0): what it is, as matching.selectors_review words it."""
    return [{"feature": "hub", "weight": 0.0, "kind": k, "value": v, "near": HUB_NEAR if k in IDENTITY_KINDS else 0,
             "detail": hub_words(k, v, near=HUB_NEAR if k in IDENTITY_KINDS else 0)}
            for k, v in sorted(hubs)
            if not v.startswith("~") and not is_compound(v)]  # masks and compound keys are blocking's own


def hub_words(kind: str, value: str, *, near: int = 0) -> str:
    """A hub key said for a reviewer: "A scar on the chin is common …", never the key's own code."""
    thing = _hub_thing(kind, value)
    if near:
        return (f"{thing} is common (more people have it than the matcher compares): "
                f"only the {near} records nearest in time that share it were compared")
    return f"{thing} is shared by too many people to narrow the search, so it was not used to find matches"


def _hub_thing(kind: str, value: str) -> str:
    if kind == "mark":
        if "@" in value:
            mark, place = value.split("@", 1)
            return f"A {mark} on the {place}"
        mark, _, motif = value.partition(":")
        return f"A {motif} {mark}" if motif else f"A {mark}"
    if kind == "plate":
        return f"Plate {value}"
    if kind == "name":
        return "This full name"
    if kind == "name_token":
        return {"f:": "This family name", "s:": "This first name or alias"}.get(value[:2], "These initials")
    if kind == "sku":
        return f"Product {value.split('@', 1)[0]} at this store in the same fortnight"
    if kind == "desc":
        return "This description (gender, age band, height, build)"
    return "This detail"


def _save_batch(records: list[PersonRecord], ranked: dict[int, list[Candidate]], hubs: dict[int, set]) -> tuple[int, set[int]]:
    """Write the suggestions of a batch of records, in order, as one record at a time would: a pair
    already suggested the other way round (within this retailer, by an earlier record of the batch
    or before) is not suggested again; a target no longer among the best is superseded; a judged
    suggestion keeps its status. Returns (suggestions written, events with a cross-retailer one)."""
    ids = [r.id for r in records]
    existing: dict[int, dict[tuple, Suggestion]] = {}
    for s in Suggestion.objects.unscoped().select_for_update().filter(person_id__in=ids).order_by("id"):
        key = (s.target_profile_id, s.target_person_id if not s.target_profile_id else None)
        existing.setdefault(s.person_id, {})[key] = s
    targets = {c.person_id for cs in ranked.values() for c in cs} | set(ids)
    live: set[tuple[int, int]] = set()  # (person, target person) suggestions that are not superseded
    for org_id in {r.organisation_id for r in records}:
        batch_ids = [r.id for r in records if r.organisation_id == org_id]
        live.update(Suggestion.objects.unscoped().filter(
            organisation_id=org_id, target_person_id__in=batch_ids, person_id__in=list(targets),
        ).exclude(status=Suggestion.Status.SUPERSEDED).values_list("person_id", "target_person_id"))
    create, update, supersede = [], [], []
    cross_events: set[int] = set()
    for rec in records:
        mine = existing.get(rec.id, {})
        kept = set()
        for c in ranked.get(rec.id, []):
            if c.profile_id is None and (c.person_id, rec.id) in live:
                continue
            key = (c.profile_id, None if c.profile_id else c.person_id)
            kept.add(key)
            reasons = c.scored.reasons + _hub_reasons(hubs.get(rec.id, set()))
            other_org = c.record.organisation_id if c.record.organisation_id != rec.organisation_id else None
            s = mine.get(key)
            if s is None:
                create.append(Suggestion(
                    organisation_id=rec.organisation_id, person_id=rec.id, target_person_id=c.person_id,
                    target_profile_id=c.profile_id, other_organisation_id=other_org,
                    score=c.scored.probability, weight=c.scored.weight, reasons=reasons))
            elif s.status in (Suggestion.Status.PENDING, Suggestion.Status.SUPERSEDED):
                s.score, s.weight, s.reasons, s.target_person_id = c.scored.probability, c.scored.weight, reasons, c.person_id
                s.status = Suggestion.Status.PENDING
                update.append(s)
            else:
                continue
            live.add((rec.id, c.person_id))
            if other_org:
                cross_events.add(rec.event_id)
        for key, s in mine.items():
            if key not in kept and s.status == Suggestion.Status.PENDING:
                supersede.append(s.pk)
                live.discard((rec.id, s.target_person_id))
    if create:
        _insert_suggestions(create)
    if update:
        _update_suggestions(update)
    if supersede:
        Suggestion.objects.unscoped().filter(pk__in=supersede).update(status=Suggestion.Status.SUPERSEDED,
                                                                       updated_at=timezone.now())
    return len(create) + len(update), cross_events


def _insert_suggestions(rows: list[Suggestion]) -> None:
    """INSERT by COPY (every concrete field, JSON as text, auto_now filled as save() would)."""
    fields = [f for f in Suggestion._meta.concrete_fields if not f.primary_key]
    with raw_cursor() as cur, copy_into(cur, "matching_suggestion", ", ".join(f.column for f in fields)) as copy:
        for s in rows:
            values = []
            for f in fields:
                value = f.pre_save(s, add=True)
                values.append(json.dumps(value) if f.get_internal_type() == "JSONField" else value)
            copy.write_row(values)


def _update_suggestions(rows: list[Suggestion]) -> None:
    """One UPDATE for many suggestions: the new values COPYed into a temporary table and joined."""
    with raw_cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE _suggestion_update (id bigint, score float8, weight float8, reasons text, "
                    "target_person_id bigint, status text) ON COMMIT DROP")
        with cur.copy("COPY _suggestion_update FROM STDIN") as copy:
            for s in rows:
                copy.write_row((s.pk, s.score, s.weight, json.dumps(s.reasons), s.target_person_id, s.status))
        cur.execute("""UPDATE matching_suggestion m SET score = v.score, weight = v.weight, reasons = v.reasons::jsonb,
                              target_person_id = v.target_person_id, status = v.status, updated_at = now()
                       FROM _suggestion_update v WHERE m.id = v.id""")
        cur.execute("DROP TABLE _suggestion_update")


def _save(rec: PersonRecord, ranked: list[Candidate], hubs) -> int:
    return _save_batch([rec], {rec.id: ranked}, {rec.id: set(hubs)})[0]


def partner_organisations(organisation_id: int) -> list[int]:
    """Retailers whose records a retailer's people are compared with: itself, and — when both opted
    in to Connect the Dots — other opted-in retailers (cross-retailer suggestions)."""
    from accounts.models import Organisation, OrgKind

    table = Organisation._meta.db_table
    with raw_cursor() as cur:  # one statement: this runs for every event
        cur.execute(f"""SELECT o.id FROM {table} o JOIN {table} me ON me.id = %s AND me.ctd_opt_in
                        WHERE o.kind = %s AND o.ctd_opt_in AND o.is_active AND o.id <> me.id ORDER BY o.id""",  # nosec B608  # a model's table
                    [organisation_id, str(OrgKind.RETAILER)])
        return [organisation_id, *(r[0] for r in cur.fetchall())]


# The people of these events in a fixed order (time, event, person): whether each is matched (an
# offender or accomplice), and, for the others, whether matching still keeps keys of them (an edit
# made an offender a witness).
PEOPLE_SQL = """SELECT p.id, p.role = ANY(%(roles)s),
                       NOT p.role = ANY(%(roles)s) AND EXISTS (SELECT 1 FROM matching_blockingkey b WHERE b.person_id = p.id)
                FROM events_eventperson p JOIN events_event e ON e.id = p.event_id
                WHERE p.event_id = ANY(%(events)s) ORDER BY e.occurred_at, e.id, p.id"""
# What matching kept of people who are no longer matched goes: their keys and compact record, so no
# search finds them, and the pending suggestions made for them or pointing at them are superseded.
FORGET_SQL = """
WITH keys AS (DELETE FROM matching_blockingkey WHERE person_id = ANY(%(ids)s)),
records AS (DELETE FROM matching_matchrecord WHERE person_id = ANY(%(ids)s))
UPDATE matching_suggestion SET status = 'superseded', updated_at = now()
WHERE status = 'pending' AND id IN (SELECT id FROM matching_suggestion WHERE person_id = ANY(%(ids)s)
                                    UNION SELECT id FROM matching_suggestion WHERE target_person_id = ANY(%(ids)s))
"""


def _matched_person_ids(event_ids: list[int], *, forget_others: bool = True) -> list[int]:
    """The offenders and accomplices of these events, in a fixed order (time, event, person). With
    `forget_others` (in the transaction that recomputes these events; not in a read-ahead, which
    writes nothing), people of these events no longer matched are forgotten first (FORGET_SQL)."""
    with raw_cursor() as cur:
        cur.execute(PEOPLE_SQL, {"events": list(event_ids), "roles": [str(r) for r in MATCHED_ROLES]})
        rows = cur.fetchall()
        stale = [pid for pid, _matched, kept in rows if kept]
        if stale and forget_others:
            cur.execute(FORGET_SQL, {"ids": stale})
        return [pid for pid, matched, _kept in rows if matched]


RECORD_CACHE_MAX = 400_000


@dataclass
class RunMemory:
    """What a rematch run remembers across its batches: candidates' records (each read once per run)
    and the events whose keys it stored."""

    records: dict[int, PersonRecord] = field(default_factory=dict)
    indexed: dict[int, int] = field(default_factory=dict)  # event id → version whose keys this run stored


@dataclass
class Prepared:
    """A batch read and searched, not yet scored: its records in order and, per organisation, the
    settings, what blocking found and the candidates' records."""

    event_ids: frozenset[int]
    versions: dict[int, int] | None
    ordered: list[PersonRecord]
    loaded: dict[int, PersonRecord]
    orgs: dict[int, tuple[MatchSettings, dict[int, Found], dict[int, PersonRecord]]]
    met: list[HubCount] = field(default_factory=list)  # hubs newly met by a read-ahead, stored on completion
    pool_loaded: dict[int, PersonRecord] = field(default_factory=dict)  # candidates read from the database


def _prepare(event_ids: list[int], *, memory: RunMemory | None, versions: dict[int, int] | None,
             read_only: bool = False) -> Prepared | None:
    """Read a batch and find its candidates. `read_only` (a rematch reading ahead in another thread,
    on its own connection): write nothing and change nothing of `memory` — the run's main thread
    merges what was found — and give up (None) when a record's keys were not stored by this run."""
    person_ids = _matched_person_ids(event_ids, forget_others=not read_only)
    record_cache = memory.records if memory is not None else None
    # Records read by this run's index phase for the very version being computed are current.
    current = {e for e, v in (versions or {}).items() if memory is not None and memory.indexed.get(e) == v}
    loaded = {}
    if record_cache is not None and current:
        for pid in person_ids:
            rec = record_cache.get(pid)
            if rec is not None and rec.event_id in current:
                loaded[pid] = rec
    loaded.update(load_records([pid for pid in person_ids if pid not in loaded]))
    ordered = [loaded[i] for i in person_ids if i in loaded]
    prepared = Prepared(frozenset(event_ids), versions, ordered, loaded, {})
    for org_id in sorted({r.organisation_id for r in ordered}):
        records = [r for r in ordered if r.organisation_id == org_id]
        conf = settings_for(org_id)
        # Keys this run stored for the very version being computed are in the table already.
        stored = {r.id for r in records if memory is not None and versions is not None
                  and r.event_id in versions and memory.indexed.get(r.event_id) == versions[r.event_id]}
        if read_only and len(stored) < len(records):
            return None
        keys = store_keys([r for r in records if r.id not in stored], sku_window_days=conf.sku_window_days)
        keys.update({r.id: keys_for(r, sku_window_days=conf.sku_window_days) for r in records if r.id in stored})
        orgs = partner_organisations(org_id)
        found = find_candidates_batch(records, keys, organisation_ids=orgs, hub_cap=conf.hub_cap,
                                      met=prepared.met if read_only else None)
        wanted = {pid for f in found.values() for pid in f.candidates}
        if record_cache is not None:
            fresh = load_match_records({pid for pid in wanted
                                   if pid not in record_cache and pid not in prepared.pool_loaded and pid not in loaded})
            prepared.pool_loaded.update(fresh)
            pool = {}
            for pid in wanted:
                rec = record_cache.get(pid) or prepared.pool_loaded.get(pid)
                if rec is not None:
                    pool[pid] = rec
            pool.update(loaded)
        else:
            pool = {**load_match_records(wanted - set(loaded)), **loaded}
        prepared.orgs[org_id] = (conf, found, pool)
    return prepared


def _complete(prepared: Prepared, *, memory: RunMemory | None) -> tuple[int, set[int]]:
    """Score, rank and save a prepared batch (in the caller's transaction)."""
    from matching.cross import counterparts_save, counterparts_scored

    if memory is not None:
        if len(memory.records) > RECORD_CACHE_MAX:
            memory.records.clear()
        memory.records.update(prepared.loaded)
        memory.records.update(prepared.pool_loaded)
    remember_hubs(prepared.met)
    written, cross = 0, set()
    for org_id, (conf, found, pool) in prepared.orgs.items():
        records = [r for r in prepared.ordered if r.organisation_id == org_id]
        own = params_for(org_id)
        params = own.for_population(entity_count([org_id]))
        partner = partner_params(own)
        wanted = {pid for f in found.values() for pid in f.candidates}
        rejected = _rejected_with([r.id for r in records], wanted)
        ranked = {
            rec.id: rank(rec, found[rec.id].candidates, pool, params, found[rec.id].tf,
                         threshold=possible_level(conf), likely=conf.review_threshold, sku_window_days=conf.sku_window_days,
                         rejected=rejected.get(rec.id, set()), partner=partner)
            for rec in records
        }
        # A cross-retailer pair reaches both retailers' queues or neither (matching.cross).
        ranked, counterparts = counterparts_scored(records=records, ranked=ranked,
                                                   tf={r.id: found[r.id].tf for r in records})
        n, events = _save_batch(records, ranked, {r.id: found[r.id].hubs for r in records})
        counterparts_save(counterparts)
        written += n
        cross |= events
    return written, cross


def suggest_batch(event_ids: list[int], *, memory: RunMemory | None = None,
                  versions: dict[int, int] | None = None, prepared: Prepared | None = None) -> tuple[int, set[int]]:
    """(Re)compute the suggestions of every offender in these events: the records in a few queries,
    their keys in one COPY, the candidates of all of them in one statement, the suggestions saved
    together. The same as one event at a time in the same order (that is what suggest_for_event
    does, with a batch of one). `memory` (a rematch's, across its batches) keeps candidates' records
    so that each is read once per run, and the hubs met; the batch's own records are always read afresh.
    `prepared`: the batch already read and searched by a rematch's read-ahead, used when it was made
    for exactly these events at these versions. Returns (suggestions written, events with a
    cross-retailer one)."""
    if prepared is None or prepared.event_ids != frozenset(event_ids) or prepared.versions != versions:
        prepared = _prepare(event_ids, memory=memory, versions=versions)
    return _complete(prepared, memory=memory)


def suggest_for_event(event_id: int) -> int:
    """(Re)compute the suggestions of every offender in this event. Idempotent."""
    with transaction.atomic():
        return suggest_batch([event_id])[0]


def index_events(event_ids: list[int], *, memory: RunMemory | None = None) -> int:
    """Store the blocking keys of these events' people without suggesting anything yet (the first
    phase of a rematch, so that every event then meets every other, whatever the order)."""
    loaded = load_records(_matched_person_ids(event_ids))
    records = list(loaded.values())
    for org_id in sorted({r.organisation_id for r in records}):
        conf = settings_for(org_id)
        store_keys([r for r in records if r.organisation_id == org_id], sku_window_days=conf.sku_window_days)
    if memory is not None and len(memory.records) < RECORD_CACHE_MAX:
        memory.records.update(loaded)
    return len(records)


def mark_stale(*, event: Event) -> None:
    """Called in the transaction that changes an event: its suggestions must be recomputed."""
    updated = MatchState.objects.filter(event=event).update(version=F("version") + 1, status=MatchState.Status.PENDING)
    if not updated:
        MatchState.objects.get_or_create(event=event, defaults={"organisation_id": event.organisation_id})


def _claim(event_ids: list[int]) -> dict[int, int]:
    """Lock the MatchStates of these events that have work pending; skip those another worker holds.
    Returns event id → the version being computed."""
    with raw_cursor() as cur:
        cur.execute("SELECT event_id, status, version, done_version FROM matching_matchstate WHERE event_id = ANY(%s) "
                    "ORDER BY event_id FOR UPDATE SKIP LOCKED", [list(event_ids)])
        rows = cur.fetchall()
    return {e: version for e, status, version, done in rows if not (status == MatchState.Status.DONE and done >= version)}


def _finish(event_ids: list[int]) -> None:
    # The rows are locked by this transaction, so the version read is the one computed.
    with raw_cursor() as cur:
        cur.execute("UPDATE matching_matchstate SET status = %s, done_version = version, updated_at = now() "
                    "WHERE event_id = ANY(%s)", [str(MatchState.Status.DONE), list(event_ids)])


@transaction.atomic
def run_match_state(event_id: int) -> bool:
    """Do the event's pending matching work under a row lock on its MatchState, so two workers never
    compute the same event at once and a worker killed mid-way leaves nothing half-written (the
    job is redelivered). Returns False when another worker holds it or nothing is pending."""
    claimed = _claim([event_id])
    if not claimed:
        return False
    suggest_batch(list(claimed))
    _finish(list(claimed))
    return True


@transaction.atomic
def run_match_states(event_ids: list[int], *, memory: RunMemory | None = None,
                     prepared: Prepared | None = None) -> list[int]:
    """run_match_state for many events in one transaction: the ones pending and not held by another
    worker are locked, computed together and marked done; a kill rolls all of it back and they stay
    pending. Returns the events done. `prepared`: see suggest_batch."""
    claimed = _claim(event_ids)
    if claimed:
        suggest_batch(list(claimed), memory=memory, versions=claimed, prepared=prepared)
        _finish(list(claimed))
    return list(claimed)


def prepare_ahead(event_ids: list[int], *, memory: RunMemory) -> Prepared | None:
    """A rematch's read-ahead, run in another thread (its own connection, autocommit) while the main
    thread scores and saves the previous batch: the next batch read and searched, assuming its
    events stay at the versions this run indexed (suggest_batch checks that after the claim, and
    computes afresh when not). Reads only what a rematch's suggestion phase never writes: events,
    people, blocking keys stored by the index phase, profile memberships."""
    from django.db import connection as thread_connection

    versions = {e: memory.indexed[e] for e in event_ids if e in memory.indexed}
    if len(versions) < len(event_ids):
        return None
    try:
        return _prepare(event_ids, memory=memory, versions=versions, read_only=True)
    finally:
        thread_connection.close()


@transaction.atomic
def index_pending(event_ids: list[int], *, memory: RunMemory | None = None) -> int:
    """index_events for the pending events among these that no worker holds (a run's `memory`
    notes the versions indexed, so that its suggestion phase need not write the same keys again)."""
    claimed = _claim(event_ids)
    if not claimed:
        return 0
    n = index_events(list(claimed), memory=memory)
    if memory is not None:
        memory.indexed.update(claimed)
    return n
