"""Writes to profiles, vehicles and offender groups.

A profile is the set of its members, and every member row exists because of one human judgement
(matching.Judgement, DESIGN.md rule 3). The rows themselves are created only by
matching.services_review (accepting a suggestion, or restoring rows when a split is undone); this
module moves and removes them (merge, split, dissolve), keeps what depends on membership in step —
blocking keys (one UPDATE per operation), aggregates and the harm score, offender-group suggestions,
stale matching for the events concerned — and records each change in ProfileHistory with enough
detail for `judgement_undo` to reverse it exactly.

The harm score's formula is in docs/harm_score.md and `harm_parts` below.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from audit.services import audit_record
from auror import access
from events.models import EventPerson
from matching.models import Judgement, RejectedPair
from profiles.models import OffenderGroup, Profile, ProfileHistory, ProfileMember

INVESTIGATING_ROLES = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN})

# --- The harm score (docs/harm_score.md) ----------------------------------------------------------

HARM_PART_MAX = 25.0
FREQUENCY_FULL_AT = 20  # events
RECENCY_HALF_LIFE_DAYS = 90
LOSS_FULL_AT = 10_000  # dollars lost (prevented events count nothing)
VIOLENCE_FULL_AT = 4  # points: 2 per event with violence used or an injury, 1 per event with threats or a weapon


def harm_parts(*, events: int, last_seen: datetime | None, loss: Decimal | float, violent: int, threats: int,
               now: datetime | None = None) -> dict[str, float]:
    """The four parts of the harm score, each 0-25, and their sum (0-100).

    frequency = 25 × min(1, log2(1 + events) / log2(1 + 20))
    recency   = 25 × 0.5 ^ (days since the last event / 90)
    loss      = 25 × min(1, log10(1 + dollars lost) / log10(1 + 10,000))
    violence  = 25 × min(1, (2 × events with violence used or injury + events with threats or a weapon) / 4)
    """
    now = now or timezone.now()
    frequency = HARM_PART_MAX * min(1.0, math.log2(1 + events) / math.log2(1 + FREQUENCY_FULL_AT)) if events else 0.0
    if last_seen is None:
        recency = 0.0
    else:
        days = max(0.0, (now - last_seen).total_seconds() / 86400)
        recency = HARM_PART_MAX * 0.5 ** (days / RECENCY_HALF_LIFE_DAYS)
    loss_f = max(0.0, float(loss or 0))
    loss_part = HARM_PART_MAX * min(1.0, math.log10(1 + loss_f) / math.log10(1 + LOSS_FULL_AT))
    violence = HARM_PART_MAX * min(1.0, (2 * violent + threats) / VIOLENCE_FULL_AT)
    parts = {"frequency": frequency, "recency": recency, "loss": loss_part, "violence": violence}
    parts = {k: round(v, 1) for k, v in parts.items()}
    parts["score"] = round(sum(parts.values()), 1)
    return parts


# --- What a profile's members say ------------------------------------------------------------------

MEMBER_FIELDS = (
    "id", "ref", "role", "name", "aliases", "age_band", "gender", "height_cm", "build", "hair", "clothing", "marks",
    "event_id", "event__external_id", "event__occurred_at", "event__type", "event__total_value", "event__prevented",
    "event__used_violence", "event__injury", "event__threatened_violence", "event__weapon", "event__sensitive",
    "event__store_id", "event__store__code", "event__store__name", "event__store__region",
    "event__store__latitude", "event__store__longitude", "event__store__timezone",
)
DESCRIPTORS = (
    ("age_band", "Age"), ("gender", "Gender"), ("height_cm", "Height"), ("build", "Build"), ("hair", "Hair"),
    ("clothing", "Clothing"), ("marks", "Marks"),
)
_LABELS = {
    "age_band": dict(EventPerson._meta.get_field("age_band").choices),
    "gender": dict(EventPerson._meta.get_field("gender").choices),
    "build": dict(EventPerson._meta.get_field("build").choices),
}


def member_rows(person_filter) -> list[dict]:
    """The members' person and event fields, oldest event first (`person_filter` a Q or dict on EventPerson)."""
    qs = EventPerson.objects.filter(**person_filter) if isinstance(person_filter, dict) else \
        EventPerson.objects.filter(person_filter)
    return list(qs.order_by("event__occurred_at", "id").values(*MEMBER_FIELDS))


def _tally(values: Iterable[str]) -> list[list]:
    """[[value as first written, count]], most often seen first; ties go to the most recently seen."""
    counter: Counter = Counter()
    display: dict[str, str] = {}
    last: dict[str, int] = {}
    for i, v in enumerate(values):
        v = " ".join(str(v).split())
        if not v:
            continue
        key = v.casefold()
        counter[key] += 1
        display.setdefault(key, v)
        last[key] = i
    return [[display[k], n] for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], -last[kv[0]]))]


def events_of(rows: list[dict]) -> list[dict]:
    """One entry per distinct event of these member rows, oldest first."""
    seen: dict[int, dict] = {}
    for r in rows:
        if r["event_id"] not in seen:
            seen[r["event_id"]] = r
    return list(seen.values())


def summarise(rows: list[dict], *, now: datetime | None = None) -> dict:
    """Names and aliases seen, descriptors with how often each was seen, stores with counts, loss,
    threats and violence, and the harm score's parts, from member rows (see `member_rows`)."""
    events = events_of(rows)
    descriptors = {}
    for field, label in DESCRIPTORS:
        if field in _LABELS:
            values = [_LABELS[field].get(r[field], r[field]) for r in rows if r[field]]
        elif field == "height_cm":
            values = [f"{r[field]} cm" for r in rows if r[field]]
        else:
            values = [r[field] for r in rows if r[field]]
        tally = _tally(values)
        if tally:
            descriptors[label] = tally
    stores: dict[int, dict] = {}
    for e in events:
        s = stores.setdefault(e["event__store_id"], {
            "id": e["event__store_id"], "code": e["event__store__code"], "name": e["event__store__name"],
            "region": e["event__store__region"],
            "lat": float(e["event__store__latitude"]) if e["event__store__latitude"] is not None else None,
            "lon": float(e["event__store__longitude"]) if e["event__store__longitude"] is not None else None,
            "count": 0})
        s["count"] += 1
    loss = sum((e["event__total_value"] for e in events if not e["event__prevented"]), Decimal("0"))
    violent = sum(1 for e in events if e["event__used_violence"] or e["event__injury"])
    threats = sum(1 for e in events if not (e["event__used_violence"] or e["event__injury"])
                  and (e["event__threatened_violence"] or e["event__weapon"]))
    last_seen = events[-1]["event__occurred_at"] if events else None
    return {
        "names": _tally(r["name"] for r in rows),
        "aliases": _tally(a for r in rows for a in (r["aliases"] or [])),
        "descriptors": descriptors,
        "stores": sorted(stores.values(), key=lambda s: (-s["count"], s["code"])),
        "events": len(events),
        "first_seen": events[0]["event__occurred_at"].isoformat() if events else None,
        "last_seen": last_seen.isoformat() if last_seen else None,
        "total_loss": str(loss),
        "violent": violent,
        "threats": threats,
        "harm": harm_parts(events=len(events), last_seen=last_seen, loss=loss, violent=violent, threats=threats,
                           now=now),
    }


def profile_refresh(*, profile: Profile, now: datetime | None = None) -> Profile:
    """Recompute the profile's aggregates and harm score from its members. The numbers (and the harm
    score) count every member's event; the stored names and descriptors come from members whose
    events are not sensitive, since every investigator of the retailer reads them on lists."""
    rows = member_rows({"profile_member__profile_id": profile.pk})
    whole = summarise(rows, now=now)
    open_rows = [r for r in rows if not r["event__sensitive"]]
    shown = summarise(open_rows, now=now) if len(open_rows) != len(rows) else dict(whole)
    shown["harm"] = whole["harm"]
    shown["hidden_events"] = whole["events"] - shown["events"]
    profile.summary = shown
    profile.label = (shown["names"][0][0] if shown["names"] else "")[:120]
    profile.event_count = whole["events"]
    profile.store_count = len(whole["stores"])
    profile.total_loss = Decimal(whole["total_loss"])
    profile.violence_count = whole["violent"]
    profile.threat_count = whole["threats"]
    profile.first_seen = rows[0]["event__occurred_at"] if rows else None
    profile.last_seen = max((r["event__occurred_at"] for r in rows), default=None)
    profile.harm_score = whole["harm"]["score"]
    profile.save(update_fields=["summary", "label", "event_count", "store_count", "total_loss", "violence_count",
                                "threat_count", "first_seen", "last_seen", "harm_score", "updated_at"])
    return profile


def profiles_refresh_all(*, organisation_id: int) -> int:
    """Refresh every active profile of a retailer (the recency part decays with time)."""
    n = 0
    for profile in Profile.objects.unscoped().filter(organisation_id=organisation_id, status=Profile.Status.ACTIVE):
        with transaction.atomic():
            profile_refresh(profile=profile)
        n += 1
    return n


# --- Membership mechanics (used by the services here and in matching.services_review) -------------


def require_investigator(actor) -> None:
    """Only a signed-in human investigator or retailer admin of an active retailer decides links."""
    if not (actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active
            and actor.organisation_id and actor.role in INVESTIGATING_ROLES and actor.organisation.is_active):
        raise PermissionDenied("Only investigators and retailer admins may link people or change profiles.")


def current_profile(profile: Profile | None) -> Profile | None:
    """Where a profile's people are now: itself, or the profile it was merged into; None once dissolved."""
    hops = 0
    while profile is not None and profile.status == Profile.Status.MERGED and hops < 100:
        profile = profile.merged_into
        hops += 1
    if profile is None or profile.status != Profile.Status.ACTIVE:
        return None
    return profile


def history_add(*, profile: Profile, action: str, actor, judgement: Judgement | None = None, **detail) -> ProfileHistory:
    return ProfileHistory.objects.create(profile=profile, action=action, by=actor if getattr(actor, "pk", None) else None,
                                         judgement=judgement, detail=detail)


KEYS_SYNC_SQL = """
UPDATE matching_blockingkey b SET profile_id = m.profile_id
FROM (SELECT p.id AS person_id, pm.profile_id
      FROM unnest(%s::bigint[]) AS p(id) LEFT JOIN profiles_profilemember pm ON pm.person_id = p.id) m
WHERE b.person_id = m.person_id AND b.profile_id IS DISTINCT FROM m.profile_id
"""


def keys_sync(person_ids: Iterable[int]) -> int:
    """Bring the blocking keys of these people in step with their profile: one UPDATE."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    with connection.cursor() as cur:
        cur.execute(KEYS_SYNC_SQL, [ids])
        return cur.rowcount


def events_stale(*, organisation_id: int, person_ids: Iterable[int] = (), profile_ids: Iterable[int] = ()) -> list[int]:
    """Mark the events of these people, and of every member of these profiles, for re-matching."""
    from matching.services import events_changed

    person_ids, profile_ids = list(set(person_ids)), list(set(profile_ids))
    event_ids = set(EventPerson.objects.filter(pk__in=person_ids, event__organisation_id=organisation_id)
                    .values_list("event_id", flat=True)) if person_ids else set()
    if profile_ids:
        event_ids |= set(ProfileMember.objects.filter(profile_id__in=profile_ids).values_list("person__event_id", flat=True))
    event_ids = sorted(event_ids)
    if event_ids:
        events_changed(organisation_id=organisation_id, event_ids=event_ids)
    return event_ids


def rejections_inherit(*, profile: Profile) -> list[int]:
    """Keep "never suggested again" true as a profile grows: a person rejected against one member is
    rejected against every member. Each inherited row keeps the rejecting judgement. Returns the rows
    made, so the judgement that linked the people can take them away again when it is undone."""
    members = set(ProfileMember.objects.filter(profile=profile).values_list("person_id", flat=True))
    if len(members) < 2:
        return []
    others: dict[int, int] = {}  # someone outside the profile rejected against a member → judgement
    have: set[tuple[int, int]] = set()
    for low, high, jid in RejectedPair.objects.filter(person_low_id__in=members).values_list(
            "person_low_id", "person_high_id", "judgement_id"):
        have.add((low, high))
        if high not in members:
            others.setdefault(high, jid)
    for low, high, jid in RejectedPair.objects.filter(person_high_id__in=members).values_list(
            "person_low_id", "person_high_id", "judgement_id"):
        have.add((low, high))
        if low not in members:
            others.setdefault(low, jid)
    new = [RejectedPair(person_low_id=min(m, x), person_high_id=max(m, x), judgement_id=jid)
           for x, jid in others.items() for m in members if (min(m, x), max(m, x)) not in have]
    return [r.pk for r in RejectedPair.objects.bulk_create(new)]


def merge_into(*, source: Profile, target: Profile, actor, judgement: Judgement) -> list[int]:
    """Move every member of `source` into `target` (rows keep their own judgements); `source` is
    marked merged. Offender groups follow. Returns the people moved."""
    moved = list(ProfileMember.objects.filter(profile=source).values_list("person_id", flat=True))
    ProfileMember.objects.filter(profile=source).update(profile=target)
    inherited = rejections_inherit(profile=target)
    source.status, source.merged_into = Profile.Status.MERGED, target
    source.save(update_fields=["status", "merged_into", "updated_at"])
    for group in source.groups.all():
        group.members.remove(source)
        group.members.add(target)
    history_add(profile=target, action="merged", actor=actor, judgement=judgement, source=source.pk, moved=moved,
                inherited=inherited, reason=judgement.reason)
    history_add(profile=source, action="merged_into", actor=actor, judgement=judgement, target=target.pk)
    return moved


def dissolve(*, profile: Profile, actor, judgement: Judgement | None, cascade: bool) -> dict:
    """Take a profile apart. Profiles merged into it come back first (their people return to them);
    the remaining rows are removed. With `cascade` (undoing a judgement left the profile without its
    basis), accept judgements that no longer link anyone are marked undone too and their
    suggestions reopened. Returns {"restored": [profiles], "removed": {person: judgement},
    "cascaded": [judgement ids]}."""
    restored = []
    for entry in profile.history.filter(action="merged").order_by("-id"):
        source = Profile.objects.filter(pk=entry.detail.get("source")).first()
        if source is None or source.status != Profile.Status.MERGED or current_profile(source) != profile:
            continue
        back = ProfileMember.objects.filter(profile=profile, person_id__in=entry.detail.get("moved", []))
        back.update(profile=source)
        source.status, source.merged_into = Profile.Status.ACTIVE, None
        source.save(update_fields=["status", "merged_into", "updated_at"])
        history_add(profile=source, action="unmerged", actor=actor, judgement=judgement, target=profile.pk)
        restored.append(source)
    rows = list(ProfileMember.objects.filter(profile=profile).values_list("person_id", "judgement_id"))
    removed = {str(p): j for p, j in rows}
    ProfileMember.objects.filter(profile=profile).delete()
    profile.status, profile.merged_into = Profile.Status.DISSOLVED, None
    profile.save(update_fields=["status", "merged_into", "updated_at"])
    history_add(profile=profile, action="dissolved", actor=actor, judgement=judgement, removed=removed)
    cascaded = []
    if cascade:
        orphaned = (Judgement.objects.filter(pk__in={j for _, j in rows}, decision=Judgement.Decision.ACCEPT,
                                             undone_at__isnull=True)
                    .exclude(pk__in=ProfileMember.objects.values("judgement_id")))
        for j in orphaned:
            j.undone_at, j.undone_by = timezone.now(), actor
            j.save(update_fields=["undone_at", "undone_by"])
            if j.suggestion_id:
                from matching.models import Suggestion

                Suggestion.objects.filter(pk=j.suggestion_id).update(status=Suggestion.Status.PENDING, updated_at=timezone.now())
            cascaded.append(j.pk)
    return {"restored": restored, "removed": removed, "cascaded": cascaded}


def locked_profiles(actor, ids: Iterable[int]) -> dict[int, Profile]:
    """The actor's own profiles with these ids, row-locked in id order (no deadlock between two merges)."""
    return {p.pk: p for p in Profile.objects.visible_to(actor, access.CHANGE).select_for_update()
            .filter(pk__in=sorted(set(ids))).order_by("pk")}


def after_change(*, actor, organisation_id: int, person_ids: Iterable[int], profiles: Iterable[Profile]) -> None:
    """What follows any change of membership: keys in step (one UPDATE), aggregates and harm score,
    offender-group suggestions, and the events concerned marked stale so suggestions recompute."""
    person_ids = set(person_ids)
    profiles = {p.pk: p for p in profiles if p is not None}
    keys_sync(person_ids)
    active = [p for p in profiles.values() if p.status == Profile.Status.ACTIVE]
    for p in profiles.values():
        profile_refresh(profile=p)
    offender_groups_suggest(organisation_id=organisation_id, profile_ids=list(profiles))
    events_stale(organisation_id=organisation_id, person_ids=person_ids, profile_ids=[p.pk for p in active])


# --- Merge and split -------------------------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ValidationError({"reason": "Keep the reason under 500 characters."})
    return reason


@transaction.atomic
def profile_merge(*, actor, source: Profile, target: Profile, reason: str = "") -> Judgement:
    """A human says two profiles are one person: `source`'s people join `target`. Recorded as an
    accept judgement (undoing it takes them back out) with history on both profiles."""
    require_investigator(actor)
    reason = _reason(reason)
    if source.pk == target.pk:
        raise ValidationError({"target": "Choose another profile: a profile cannot be merged with itself."})
    locked = locked_profiles(actor, [source.pk, target.pk])
    if source.pk not in locked:
        raise PermissionDenied("You may not change that profile.")
    if target.pk not in locked:
        raise ValidationError({"target": "There is no profile with that number in your organisation."})
    source, target = locked[source.pk], locked[target.pk]
    for which, p in (("source", source), ("target", target)):
        if p.status != Profile.Status.ACTIVE:
            raise ValidationError({which: f"Profile {p.pk} was {p.get_status_display().lower()}; it cannot be merged."})
    rep_source = ProfileMember.objects.filter(profile=source).order_by("id").first()
    rep_target = ProfileMember.objects.filter(profile=target).order_by("id").first()
    if rep_source is None or rep_target is None:
        raise ValidationError({"target": "Both profiles must have linked people."})
    judgement = Judgement.objects.create(
        organisation_id=actor.organisation_id, person_id=rep_source.person_id, target_person_id=rep_target.person_id,
        target_profile=target, decision=Judgement.Decision.ACCEPT, by=actor,
        reason=reason or f"Merged profile {source.pk} into profile {target.pk}")
    moved = merge_into(source=source, target=target, actor=actor, judgement=judgement)
    audit_record(action="profile.merge", actor=actor, obj=target,
                 detail={"source": source.pk, "target": target.pk, "judgement": judgement.pk, "people": len(moved),
                         "reason": reason})
    after_change(actor=actor, organisation_id=target.organisation_id, person_ids=moved, profiles=[source, target])
    return judgement


@transaction.atomic
def profile_split(*, actor, profile: Profile, person_ids: Iterable[int], reason: str = "") -> Judgement:
    """A human says some of a profile's people are someone else. The ticked people leave: two or more
    form a new profile, one alone is unlinked. A profile left with fewer than two people is dissolved.
    The two sides are recorded as rejected pairs (not suggested again), all under one judgement that
    `judgement_undo` reverses."""
    require_investigator(actor)
    reason = _reason(reason)
    locked = locked_profiles(actor, [profile.pk])
    if profile.pk not in locked:
        raise PermissionDenied("You may not change that profile.")
    profile = locked[profile.pk]
    if profile.status != Profile.Status.ACTIVE:
        raise ValidationError({"members": f"This profile was {profile.get_status_display().lower()}."})
    rows = {m.person_id: m for m in ProfileMember.objects.select_for_update().filter(profile=profile)}
    try:
        chosen = {int(p) for p in person_ids}
    except (TypeError, ValueError):
        raise ValidationError({"members": "Choose people from this profile."}) from None
    if not chosen:
        raise ValidationError({"members": "Tick the people to split off."})
    if not chosen <= set(rows):
        raise ValidationError({"members": "Only people in this profile can be split off."})
    # Only people the actor may see (a sensitive event's person stays hidden without the grant): the
    # form offers no others, and a crafted request naming one is refused the same way.
    if access.visible(EventPerson, actor, access.VIEW).filter(pk__in=chosen).count() != len(chosen):
        raise ValidationError({"members": "Only people in this profile can be split off."})
    rest = set(rows) - chosen
    if not rest:
        raise ValidationError({"members": "Leave at least one person in the profile (to take everyone out, undo the judgements)."})
    judgement = Judgement.objects.create(
        organisation_id=profile.organisation_id, person_id=min(chosen), target_person_id=min(rest),
        target_profile=profile, decision=Judgement.Decision.START_PROFILE, by=actor,
        reason=reason or f"Split {len(chosen)} of {len(rows)} people off profile {profile.pk}")
    RejectedPair.objects.bulk_create([
        RejectedPair(person_low_id=min(a, b), person_high_id=max(a, b), judgement=judgement)
        for a in chosen for b in rest
    ], ignore_conflicts=True)
    moved: dict[str, int] = {}
    removed: dict[str, int] = {}
    new_profile = None
    if len(chosen) >= 2:
        new_profile = Profile.objects.create(organisation_id=profile.organisation_id, origin=judgement)
        moved = {str(p): rows[p].judgement_id for p in chosen}
        ProfileMember.objects.filter(pk__in=[rows[p].pk for p in chosen]).update(profile=new_profile, judgement=judgement)
        history_add(profile=new_profile, action="split_from", actor=actor, judgement=judgement, from_profile=profile.pk,
                    reason=reason)
    else:
        removed.update({str(p): rows[p].judgement_id for p in chosen})
        ProfileMember.objects.filter(pk__in=[rows[p].pk for p in chosen]).delete()
    dissolved = len(rest) < 2
    if dissolved:
        removed.update({str(p): rows[p].judgement_id for p in rest})
        ProfileMember.objects.filter(pk__in=[rows[p].pk for p in rest]).delete()
        profile.status = Profile.Status.DISSOLVED
        profile.save(update_fields=["status", "updated_at"])
    history_add(profile=profile, action="split", actor=actor, judgement=judgement,
                new_profile=new_profile.pk if new_profile else None, moved=moved, removed=removed, dissolved=dissolved,
                reason=reason)
    audit_record(action="profile.split", actor=actor, obj=profile,
                 detail={"judgement": judgement.pk, "split_off": sorted(chosen), "new_profile": new_profile.pk if new_profile else None,
                         "dissolved": dissolved, "reason": reason})
    after_change(actor=actor, organisation_id=profile.organisation_id, person_ids=set(rows),
                 profiles=[profile, new_profile])
    return judgement


# --- Vehicles ------------------------------------------------------------------------------------


VEHICLE_UPSERT_SQL = """
WITH plates AS (
    SELECT DISTINCT plate_normalised FROM events_eventvehicle
    WHERE event_id = ANY(%(events)s::bigint[]) AND plate_normalised <> ''
), seen AS (
    SELECT ev.plate_normalised,
           COUNT(DISTINCT ev.event_id) AS events,
           MAX(e.occurred_at) AS last_seen,
           (ARRAY_AGG(ev.make ORDER BY e.occurred_at DESC) FILTER (WHERE ev.make <> ''))[1] AS make,
           (ARRAY_AGG(ev.model ORDER BY e.occurred_at DESC) FILTER (WHERE ev.model <> ''))[1] AS model,
           (ARRAY_AGG(ev.colour ORDER BY e.occurred_at DESC) FILTER (WHERE ev.colour <> ''))[1] AS colour
    FROM events_eventvehicle ev
    JOIN plates p ON p.plate_normalised = ev.plate_normalised
    JOIN events_event e ON e.id = ev.event_id AND e.organisation_id = %(org)s
    GROUP BY ev.plate_normalised
)
INSERT INTO profiles_vehicle (organisation_id, plate_normalised, make, model, colour, event_count, last_seen)
SELECT %(org)s, plate_normalised, COALESCE(make, ''), COALESCE(model, ''), COALESCE(colour, ''), events, last_seen
FROM seen
ORDER BY plate_normalised
ON CONFLICT (organisation_id, plate_normalised) DO UPDATE SET
    make = CASE WHEN EXCLUDED.make <> '' THEN EXCLUDED.make ELSE profiles_vehicle.make END,
    model = CASE WHEN EXCLUDED.model <> '' THEN EXCLUDED.model ELSE profiles_vehicle.model END,
    colour = CASE WHEN EXCLUDED.colour <> '' THEN EXCLUDED.colour ELSE profiles_vehicle.colour END,
    event_count = EXCLUDED.event_count,
    last_seen = EXCLUDED.last_seen
"""


def vehicles_upsert_for_events(*, organisation_id: int, event_ids: list[int]) -> None:
    """Called in the transaction that records or corrects events (events.services, one event or an
    import's batch): each plate they name becomes (or stays) a vehicle of the retailer, with its
    event count, when it was last seen and its most recently described make, model and colour. One
    statement, whatever the number of events and plates; the vehicles are upserted in plate order,
    so two batches naming the same plates lock them in the same order and never deadlock."""
    if not event_ids:
        return
    with connection.cursor() as cur:
        cur.execute(VEHICLE_UPSERT_SQL, {"events": list(event_ids), "org": organisation_id})


def profiles_after_event_delete(*, actor, profile_ids: Iterable[int]) -> None:
    """An event was deleted (self-remediation, retention): its people left their profiles through the
    cascade. Profiles keep their numbers right, and one left with fewer than two people is no link
    any more and is dissolved."""
    for profile in Profile.objects.unscoped().select_for_update().filter(pk__in=set(profile_ids),
                                                                         status=Profile.Status.ACTIVE):
        if profile.members.count() < 2:
            removed = dissolve(profile=profile, actor=actor, judgement=None, cascade=False)["removed"]
            keys_sync(int(person_id) for person_id in removed)
        else:
            profile_refresh(profile=profile)


# --- Offender groups -------------------------------------------------------------------------------

GROUP_MIN_EVENTS = 2

PARTNERS_SQL = """
SELECT pm2.profile_id, COUNT(DISTINCT p1.event_id)
FROM profiles_profilemember pm1
JOIN events_eventperson p1 ON p1.id = pm1.person_id
JOIN events_eventperson p2 ON p2.event_id = p1.event_id AND p2.id <> p1.id
JOIN profiles_profilemember pm2 ON pm2.person_id = p2.id
WHERE pm1.profile_id = %s AND pm2.profile_id <> %s
GROUP BY pm2.profile_id HAVING COUNT(DISTINCT p1.event_id) >= %s
"""

TOGETHER_SQL = """
SELECT COUNT(*) FROM (
  SELECT p.event_id FROM profiles_profilemember pm JOIN events_eventperson p ON p.id = pm.person_id
  WHERE pm.profile_id = ANY(%s) GROUP BY p.event_id HAVING COUNT(DISTINCT pm.profile_id) >= 2) t
"""


def co_occurrences(profile_ids: Iterable[int]) -> int:
    """Events in which at least two of these profiles were seen together."""
    with connection.cursor() as cur:
        cur.execute(TOGETHER_SQL, [sorted(set(profile_ids))])
        return cur.fetchone()[0]


def offender_groups_suggest(*, organisation_id: int, profile_ids: Iterable[int]) -> list[OffenderGroup]:
    """Suggest groups around these profiles: profiles seen together in at least two events. Cost grows
    with these profiles' events. Suggested groups are kept up to date (or dropped when their basis
    is gone); confirmed and rejected ones are a human's decision and are not re-suggested."""
    touched = []
    active = set(Profile.objects.filter(pk__in=set(profile_ids), status=Profile.Status.ACTIVE).values_list("pk", flat=True))
    for pid in sorted(set(profile_ids)):
        partners = set()
        if pid in active:
            with connection.cursor() as cur:
                cur.execute(PARTNERS_SQL, [pid, pid, GROUP_MIN_EVENTS])
                partners = {row[0] for row in cur.fetchall()}
        partners = set(Profile.objects.filter(pk__in=partners, status=Profile.Status.ACTIVE,
                                              organisation_id=organisation_id).values_list("pk", flat=True))
        existing = list(OffenderGroup.objects.filter(organisation_id=organisation_id, members__pk=pid).distinct())
        # Suggestions that lost their basis go; a human's decisions stay.
        for g in existing:
            if g.status == OffenderGroup.Status.SUGGESTED:
                gone = list(g.members.exclude(status=Profile.Status.ACTIVE))
                if gone:
                    g.members.remove(*gone)
                ids = set(g.members.values_list("pk", flat=True))
                n = co_occurrences(ids) if len(ids) >= 2 else 0
                if len(ids) < 2 or n < GROUP_MIN_EVENTS:
                    g.delete()
                    continue
                g.co_occurrences = n
                g.save(update_fields=["co_occurrences"])
            else:
                g.co_occurrences = co_occurrences(g.members.values_list("pk", flat=True))
                g.save(update_fields=["co_occurrences"])
        if not partners:
            continue
        wanted = {pid} | partners
        groups = list(OffenderGroup.objects.filter(organisation_id=organisation_id, members__pk__in=wanted).distinct())
        if any(set(g.members.values_list("pk", flat=True)) >= wanted for g in groups):
            continue  # already suggested, confirmed or rejected with (at least) these people
        suggested = [g for g in groups if g.status == OffenderGroup.Status.SUGGESTED]
        if suggested:
            group = suggested[0]
            wanted |= set(group.members.values_list("pk", flat=True))
        else:
            group = OffenderGroup.objects.create(organisation_id=organisation_id)
        group.members.set(sorted(wanted))
        group.co_occurrences = co_occurrences(wanted)
        group.save(update_fields=["co_occurrences"])
        touched.append(group)
    return touched


@transaction.atomic
def offender_group_decide(*, actor, group: OffenderGroup, decision: str, name: str = "") -> OffenderGroup:
    """A human confirms a suggested group (optionally naming it) or rejects it."""
    require_investigator(actor)
    group = OffenderGroup.objects.visible_to(actor, access.CHANGE).select_for_update().filter(pk=group.pk).first()
    if group is None:
        raise PermissionDenied("You may not change that group.")
    if decision not in (OffenderGroup.Status.CONFIRMED, OffenderGroup.Status.REJECTED):
        raise ValidationError({"decision": "Choose confirm or reject."})
    name = " ".join((name or "").split())
    if len(name) > 120:
        raise ValidationError({"name": "Keep the name under 120 characters."})
    before = group.status
    group.status, group.decided_by, group.decided_at = decision, actor, timezone.now()
    if name:
        group.name = name
    group.save(update_fields=["status", "decided_by", "decided_at", "name"])
    audit_record(action=f"offender_group.{'confirm' if decision == OffenderGroup.Status.CONFIRMED else 'reject'}",
                 actor=actor, obj=group, detail={"before": before, "name": group.name,
                                                 "members": list(group.members.values_list("pk", flat=True))})
    return group
