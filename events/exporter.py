"""Export of events in the interchange format (shared/INTERCHANGE.md), as JSON Lines: the same
fields the importer reads, plus `id` and, per person, `profile` (the profile a reviewer linked the
person to). Streams: events are read in chunks, never all at once. Every export is audited."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Prefetch, QuerySet

from audit.services import audit_record
from events.interchange import event_to_interchange
from events.models import Event, EventPerson

CHUNK = 1000


def _with_parts(qs: QuerySet[Event]) -> QuerySet[Event]:
    persons = EventPerson.objects.annotate(profile_id=F("profile_member__profile_id")).order_by("event_id", "id")
    return (qs.select_related("store", "organisation")
            .prefetch_related(Prefetch("persons", queryset=persons), "products", "vehicles")
            .order_by("occurred_at", "id"))


def events_to_jsonl(qs: QuerySet[Event], *, own_organisation_id: int | None) -> Iterator[str]:
    """One line per event. Profiles are the retailer's own working: they are shown only on the
    exporting retailer's own events."""
    for event in _with_parts(qs).iterator(chunk_size=CHUNK):
        row: dict[str, Any] = event_to_interchange(event)
        if event.organisation_id != own_organisation_id:
            for person in row["persons"]:
                person["profile"] = None
        yield json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n"


def events_export(*, actor, queryset: QuerySet[Event], via: str, purpose: str = "", filters: dict | None = None,
                  organisation_id: int | None = None, actor_label: str = "", token_id: int | None = None
                  ) -> Iterable[str]:
    """Audit the export (what was asked for, how many events) before the first line leaves, then
    stream the lines. `queryset` is already scoped by the caller (visible_to, or the organisation
    for the command's system actor)."""
    count = queryset.count()
    audit_record(action="event.export", actor=actor, actor_email="" if actor else actor_label,
                 organisation_id=organisation_id, purpose=purpose, token_id=token_id,
                 detail={"via": via, "filters": {k: v for k, v in (filters or {}).items() if v}, "count": count,
                         "format": "jsonl"})
    own = organisation_id if actor is None else actor.organisation_id
    return events_to_jsonl(queryset, own_organisation_id=own)
