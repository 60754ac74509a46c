"""Reads of profiles, vehicles and offender groups, through the one access policy. A profile page
shows what the members' events say as far as the reader may see those events: a sensitive event
(a minor involved, say) is left out for a reader without the grant, and counted as hidden."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, F, Q, QuerySet

from auror import access
from events.models import Event, EventVehicle
from profiles.maps import store_map
from profiles.models import OffenderGroup, Profile, ProfileMember, Vehicle
from profiles.services import (
    FREQUENCY_FULL_AT,
    LOSS_FULL_AT,
    RECENCY_HALF_LIFE_DAYS,
    VIOLENCE_FULL_AT,
    events_of,
    member_rows,
    summarise,
)

HARM_HELP = (
    "The harm score (0-100) adds four parts of up to 25 each: frequency = 25 × log2(1 + events) / log2(1 + "
    f"{FREQUENCY_FULL_AT}), full at {FREQUENCY_FULL_AT} events; recency = 25 × 0.5^(days since the last event / "
    f"{RECENCY_HALF_LIFE_DAYS}); loss = 25 × log10(1 + dollars lost) / log10(1 + {LOSS_FULL_AT:,}), full at "
    f"${LOSS_FULL_AT:,} (prevented events count nothing); violence = 25 × (2 per event with violence used or an "
    f"injury + 1 per event with threats or a weapon) / {VIOLENCE_FULL_AT}, full at {VIOLENCE_FULL_AT} points. "
    "Profiles are listed by it, highest first. It counts every event of the profile, as of its last change."
)


def profile_list(*, user, q: str = "") -> QuerySet[Profile]:
    qs = Profile.objects.visible_to(user).filter(status=Profile.Status.ACTIVE)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(label__icontains=q) | Q(pk=int(q)) if q.isdigit() else Q(label__icontains=q))
    return qs.order_by("-harm_score", "-last_seen", "-id")


def _event_visible(user, prefix: str = "") -> Q:
    return access.event_q(user, access.VIEW, prefix=prefix)


def profile_page(*, user, profile: Profile) -> dict:
    """Everything the profile page shows, from the members whose events the user may see."""
    from evidence.models import EvidenceItem, EvidenceKind
    from matching.selectors_review import undoable

    rows = member_rows(Q(profile_member__profile=profile) & _event_visible(user, "event__"))
    person_ids = [r["id"] for r in rows]
    summary = summarise(rows)
    timeline = list(reversed(events_of(rows)))
    events = {e.pk: e for e in Event.objects.visible_to(user).filter(pk__in=[r["event_id"] for r in timeline])
              .select_related("store")}
    for r in timeline:
        r["event"] = events.get(r["event_id"])
    members = list(access.visible(ProfileMember, user).filter(profile=profile, person_id__in=person_ids)
                   .select_related("person__event__store", "judgement__by").order_by("person__event__occurred_at"))
    judgements = list({m.judgement_id: m.judgement for m in members}.values())
    photos = list(EvidenceItem.objects.visible_to(user).filter(
        person_id__in=person_ids, kind=EvidenceKind.IMAGE, thumbnail_state="ready", deleted_at__isnull=True,
    ).select_related("person__event")[:24])
    plates = Counter()
    for v in access.visible(EventVehicle, user).filter(event_id__in=[r["event_id"] for r in timeline]).filter(
            Q(person_id__in=person_ids) | Q(person__isnull=True)).exclude(plate_normalised=""):
        plates[v.plate_normalised] += 1
    vehicles = {v.plate_normalised: v for v in Vehicle.objects.visible_to(user).filter(plate_normalised__in=list(plates))}
    harm = (profile.summary or {}).get("harm") or summary["harm"]
    history = list(profile.history.select_related("by", "judgement")[:50])
    return {
        "summary": summary,
        "hidden_events": max(0, profile.event_count - summary["events"]),
        "timeline": timeline,
        "members": members,
        "undoable": undoable(judgements, user=user),
        "photos": photos,
        "vehicles": [{"plate": p, "count": n, "vehicle": vehicles.get(p)} for p, n in plates.most_common()],
        "groups": list(profile.groups.visible_to(user).exclude(status=OffenderGroup.Status.REJECTED)),
        "history": history,
        "undoable_history": undoable([h.judgement for h in history if h.judgement is not None], user=user),
        "harm": harm,
        "harm_help": HARM_HELP,
        "map": store_map(summary["stores"]),
    }


def vehicle_page(*, user, vehicle: Vehicle) -> dict:
    plate = vehicle.plate_normalised
    events = list(Event.objects.visible_to(user).filter(vehicles__plate_normalised=plate).distinct()
                  .select_related("store").order_by("-occurred_at")[:200])
    members = (access.visible(ProfileMember, user).filter(person__event__in=[e.pk for e in events])
               .filter(Q(person__event__vehicles__plate_normalised=plate)
                       & (Q(person__event__vehicles__person__isnull=True)
                          | Q(person__event__vehicles__person_id=F("person_id")))))
    profiles = list(Profile.objects.visible_to(user).filter(status=Profile.Status.ACTIVE,
                                                            pk__in=members.values("profile_id")).order_by("-harm_score"))
    details = {}
    for v in access.visible(EventVehicle, user).filter(event_id__in=[e.pk for e in events],
                                                       plate_normalised=plate):
        details[v.event_id] = v
    for e in events:
        e.vehicle_row = details.get(e.pk)
    return {"events": events, "profiles": profiles}


def group_page(*, user, group: OffenderGroup) -> dict:
    profiles = list(group.members.visible_to(user).order_by("-harm_score"))
    together = (access.visible(ProfileMember, user).filter(profile__in=profiles).values("person__event_id")
                .annotate(n=Count("profile_id", distinct=True)).filter(n__gte=2).values("person__event_id"))
    events = list(Event.objects.visible_to(user).filter(pk__in=together).select_related("store").order_by("-occurred_at"))
    in_event: dict[int, list[Profile]] = {}
    by_id = {p.pk: p for p in profiles}
    for event_id, profile_id in (access.visible(ProfileMember, user)
                                 .filter(profile__in=profiles, person__event__in=[e.pk for e in events])
                                 .values_list("person__event_id", "profile_id").distinct()):
        in_event.setdefault(event_id, []).append(by_id[profile_id])
    for e in events:
        e.group_profiles = in_event.get(e.pk, [])
    return {"profiles": profiles, "events": events}
