"""Suggestions for one event: keys → candidates → pairwise scores → the best few, kept for review.

Cost per event grows with the number of candidates its keys find, never with the size of the
database: two indexed queries on matching_blockingkey, then the candidates' records."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q

from events.models import Event, EventPerson, PersonRole
from matching.keys import keys_for
from matching.models import BlockingKey, MatchSettings, MatchState, RejectedPair, Suggestion
from matching.records import PersonRecord, load_records
from matching.scoring import Params, Scored, compare, score
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
    obj, _ = MatchSettings.objects.unscoped().get_or_create(organisation_id=organisation_id)
    return obj


def entity_count(organisation_ids: list[int]) -> int:
    """Roughly how many people the organisations have recorded (for value frequencies); cached."""
    key = "matching:entities:" + ",".join(map(str, sorted(organisation_ids)))
    value = cache.get(key)
    if value is None or value < 10_000:  # small counts are cheap to keep exact
        value = max(1, EventPerson.objects.filter(event__organisation_id__in=organisation_ids).count())
        cache.set(key, value, 600)
    return value


def store_keys(records: list[PersonRecord], *, sku_window_days: int) -> dict[int, set[tuple[str, str]]]:
    """Replace the blocking keys of these people with the keys of what they now say."""
    keys = {r.id: keys_for(r, sku_window_days=sku_window_days) for r in records}
    BlockingKey.objects.filter(person_id__in=list(keys)).delete()
    BlockingKey.objects.bulk_create([
        BlockingKey(organisation_id=r.organisation_id, person_id=r.id, profile_id=r.profile_id, kind=k, value=v)
        for r in records for k, v in keys[r.id]
    ], batch_size=1000)
    return keys


CANDIDATE_SQL = """
WITH wanted AS (SELECT * FROM unnest(%(kinds)s::text[], %(values)s::text[]) AS w(kind, value)),
counts AS (
    SELECT b.kind, b.value, COUNT(DISTINCT COALESCE(b.profile_id, -b.person_id)) AS entities
    FROM matching_blockingkey b JOIN wanted w ON b.kind = w.kind AND b.value = w.value
    WHERE b.organisation_id = ANY(%(orgs)s)
    GROUP BY b.kind, b.value
),
hits AS (
    SELECT b.person_id, b.profile_id, b.kind, b.value,
           ROW_NUMBER() OVER (PARTITION BY COALESCE(b.profile_id, -b.person_id) ORDER BY b.person_id DESC) AS nth
    FROM matching_blockingkey b
    JOIN counts c ON c.kind = b.kind AND c.value = b.value AND c.entities <= %(hub_cap)s + 1
    JOIN events_eventperson p ON p.id = b.person_id
    WHERE b.organisation_id = ANY(%(orgs)s) AND b.person_id <> %(person)s AND p.event_id <> %(event)s
)
SELECT 'count' AS row, NULL::bigint, NULL::bigint, kind, value, entities FROM counts
UNION ALL
SELECT 'hit', person_id, profile_id, kind, value, NULL FROM hits WHERE nth <= %(per_target)s
"""


def find_candidates(rec: PersonRecord, keys: set[tuple[str, str]], *, organisation_ids: list[int],
                    hub_cap: int) -> tuple[dict[int, int | None], dict[tuple[str, str], tuple[int, int]], set[tuple[str, str]]]:
    """(candidate person id → profile id, (others sharing, all entities) per key, hub keys left out)."""
    if not keys:
        return {}, {}, set()
    kinds, values = zip(*sorted(keys), strict=True)
    with connection.cursor() as cur:
        cur.execute(CANDIDATE_SQL, {"kinds": list(kinds), "values": list(values), "orgs": organisation_ids,
                                    "hub_cap": hub_cap, "person": rec.id, "event": rec.event_id,
                                    "per_target": MEMBERS_PER_TARGET})
        rows = cur.fetchall()
    total = entity_count(organisation_ids)
    tf: dict[tuple[str, str], tuple[int, int]] = {}
    hubs: set[tuple[str, str]] = set()
    candidates: dict[int, int | None] = {}
    for kind_row, person_id, profile_id, kind, value, entities in rows:
        if kind_row == "count":
            tf[(kind, value)] = (max(0, entities - 1), total)  # others than the new person
            if entities > hub_cap + 1:  # +1: the new person's own key is counted too
                hubs.add((kind, value))
        else:
            candidates[person_id] = profile_id
    return candidates, tf, hubs


def _rejected_with(person_id: int, candidate_ids) -> set[int]:
    rows = RejectedPair.objects.filter(
        Q(person_low_id=person_id, person_high_id__in=candidate_ids) | Q(person_high_id=person_id, person_low_id__in=candidate_ids)
    ).values_list("person_low_id", "person_high_id")
    return {b if a == person_id else a for a, b in rows}


def rank(rec: PersonRecord, candidates: dict[int, int | None], records: dict[int, PersonRecord],
         params: Params, tf, *, threshold: float, sku_window_days: int, rejected: set[int]) -> list[Candidate]:
    """The best TOP_N targets (a profile, or a person in none) scoring at least the threshold."""
    best: dict[tuple[str, int], Candidate] = {}
    for pid, profile_id in candidates.items():
        other = records.get(pid)
        if other is None or pid in rejected:
            continue
        if rec.profile_id is not None and profile_id == rec.profile_id:
            continue  # already linked to each other
        scored = score(compare(rec, other, sku_window_days=sku_window_days), params, tf)
        target = ("profile", profile_id) if profile_id else ("person", pid)
        if target not in best or scored.weight > best[target].scored.weight:
            best[target] = Candidate(pid, profile_id, scored, other)
    ranked = sorted(best.values(), key=lambda c: c.scored.weight, reverse=True)
    return [c for c in ranked if c.scored.probability >= threshold][:TOP_N]


def _hub_reasons(hubs: set[tuple[str, str]]) -> list[dict]:
    return [{"feature": "hub", "weight": 0.0, "detail": f"{k} value {v!r} is shared by too many people and was not used"}
            for k, v in sorted(hubs)]


@transaction.atomic
def _save(rec: PersonRecord, ranked: list[Candidate], hubs) -> int:
    existing = {
        (s.target_profile_id, s.target_person_id if not s.target_profile_id else None): s
        for s in Suggestion.objects.unscoped().select_for_update().filter(person_id=rec.id)
    }
    # A pair already suggested the other way round is not suggested again.
    reverse = set(Suggestion.objects.unscoped().filter(target_person_id=rec.id, person_id__in=[c.person_id for c in ranked])
                  .exclude(status=Suggestion.Status.SUPERSEDED).values_list("person_id", flat=True))
    kept = set()
    written = 0
    for c in ranked:
        if c.profile_id is None and c.person_id in reverse:
            continue
        key = (c.profile_id, None if c.profile_id else c.person_id)
        kept.add(key)
        reasons = c.scored.reasons + _hub_reasons(hubs)
        s = existing.get(key)
        if s is None:
            Suggestion.objects.create(
                organisation_id=rec.organisation_id, person_id=rec.id, target_person_id=c.person_id,
                target_profile_id=c.profile_id,
                other_organisation_id=c.record.organisation_id if c.record.organisation_id != rec.organisation_id else None,
                score=c.scored.probability, weight=c.scored.weight, reasons=reasons,
            )
            written += 1
        elif s.status in (Suggestion.Status.PENDING, Suggestion.Status.SUPERSEDED):
            s.score, s.weight, s.reasons, s.target_person_id = c.scored.probability, c.scored.weight, reasons, c.person_id
            s.status = Suggestion.Status.PENDING
            s.save(update_fields=["score", "weight", "reasons", "target_person", "status", "updated_at"])
            written += 1
    for key, s in existing.items():
        if key not in kept and s.status == Suggestion.Status.PENDING:
            s.status = Suggestion.Status.SUPERSEDED
            s.save(update_fields=["status", "updated_at"])
    return written


def partner_organisations(organisation_id: int) -> list[int]:
    """Retailers whose records a retailer's people are compared with: itself, and — when both opted
    in to Connect the Dots — other opted-in retailers (cross-retailer suggestions)."""
    from accounts.models import Organisation, OrgKind

    own = Organisation.objects.unscoped().filter(pk=organisation_id).values_list("ctd_opt_in", flat=True).first()
    if not own:
        return [organisation_id]
    others = Organisation.objects.unscoped().filter(kind=OrgKind.RETAILER, ctd_opt_in=True, is_active=True).exclude(
        pk=organisation_id).values_list("pk", flat=True)
    return [organisation_id, *others]


def suggest_for_event(event_id: int) -> int:
    """(Re)compute the suggestions of every offender in this event. Idempotent."""
    event = Event.objects.unscoped().filter(pk=event_id).values("organisation_id").first()
    if event is None:
        return 0
    org_id = event["organisation_id"]
    conf = settings_for(org_id)
    person_ids = list(EventPerson.objects.filter(event_id=event_id, role__in=MATCHED_ROLES).values_list("id", flat=True))
    records = load_records(person_ids)
    keys = store_keys(list(records.values()), sku_window_days=conf.sku_window_days)
    params = params_for(org_id)
    orgs = partner_organisations(org_id)
    written = 0
    for rec in records.values():
        candidates, tf, hubs = find_candidates(rec, keys[rec.id], organisation_ids=orgs, hub_cap=conf.hub_cap)
        cand_records = load_records(candidates)
        ranked = rank(rec, candidates, cand_records, params, tf, threshold=conf.review_threshold,
                      sku_window_days=conf.sku_window_days, rejected=_rejected_with(rec.id, list(candidates)))
        written += _save(rec, ranked, hubs)
    return written


def mark_stale(*, event: Event) -> None:
    """Called in the transaction that changes an event: its suggestions must be recomputed."""
    updated = MatchState.objects.filter(event=event).update(version=F("version") + 1, status=MatchState.Status.PENDING)
    if not updated:
        MatchState.objects.get_or_create(event=event, defaults={"organisation_id": event.organisation_id})


@transaction.atomic
def run_match_state(event_id: int) -> bool:
    """Do the event's pending matching work under a row lock on its MatchState, so two workers never
    compute the same event at once and a worker killed mid-way leaves nothing half-written (the
    job is redelivered). Returns False when another worker holds it or nothing is pending."""
    state = MatchState.objects.select_for_update(skip_locked=True).filter(event_id=event_id).first()
    if state is None or (state.status == MatchState.Status.DONE and state.done_version >= state.version):
        return False
    suggest_for_event(event_id)
    state.status, state.done_version = MatchState.Status.DONE, state.version
    state.save(update_fields=["status", "done_version", "updated_at"])
    return True
