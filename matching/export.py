"""Suggestions in the export format of shared/CONTRACTS.md.

A cross-retailer row shows its own side only and carries `cross_match`, the opaque id of its pair
(matching.cross.cross_match_id): the other retailer's export has exactly one row with the same id,
about the same two people (matching.cross.counterparts_save), so an operator holding both exports
can pair them, and neither export alone says anything of the other side."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from matching.cross import cross_match_id, redacted_reasons
from matching.models import Suggestion
from profiles.models import ProfileMember


def _event_ref(external_id: str, event_id: int) -> str | int:
    return external_id or event_id


def suggestion_rows(*, organisation_id: int, batch: int = 2000) -> Iterator[dict]:
    qs = (Suggestion.objects.unscoped().filter(organisation_id=organisation_id)
          .select_related("person__event", "target_person__event").order_by("id"))
    last = 0
    while True:
        page = list(qs.filter(id__gt=last)[:batch])
        if not page:
            return
        last = page[-1].id
        profile_ids = {s.target_profile_id for s in page if s.target_profile_id}
        events_of_profile: dict[int, list] = defaultdict(list)
        for profile_id, ext, eid in (ProfileMember.objects.filter(profile_id__in=profile_ids)
                                     .order_by("person__event__occurred_at")
                                     .values_list("profile_id", "person__event__external_id", "person__event_id")):
            ref = _event_ref(ext, eid)
            if ref not in events_of_profile[profile_id]:
                events_of_profile[profile_id].append(ref)
        for s in page:
            if s.other_organisation_id:
                # Held by another participant: no ids, values or details of the other side leave here.
                yield {
                    "id": s.id,
                    "event": _event_ref(s.person.event.external_id, s.person.event_id),
                    "person": s.person.ref,
                    "target_events": [],
                    "target_profile": None,
                    "score": round(s.score, 4),
                    "status": s.status,
                    "reasons": [{"feature": r["feature"], "weight": r["weight"], "detail": ""}
                                for r in redacted_reasons(s.reasons)],
                    "held_by_another_participant": True,
                    "cross_match": cross_match_id(s.person_id, s.target_person_id),
                }
                continue
            if s.target_profile_id:
                targets = events_of_profile.get(s.target_profile_id, [])
            else:
                targets = [_event_ref(s.target_person.event.external_id, s.target_person.event_id)]
            yield {
                "id": s.id,
                "event": _event_ref(s.person.event.external_id, s.person.event_id),
                "person": s.person.ref,
                "target_events": targets,
                "target_profile": s.target_profile_id,
                "score": round(s.score, 4),
                "status": s.status,
                "reasons": [{"feature": r["feature"], "weight": r["weight"], "detail": r.get("detail", "")}
                            for r in s.reasons],
            }
