"""Reads of events, always through the access policy."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from events.models import Event


def events_visible(*, user, filters: dict | None = None) -> QuerySet[Event]:
    qs = Event.objects.visible_to(user).select_related("store", "organisation")
    f = filters or {}
    if f.get("store"):
        qs = qs.filter(store_id=f["store"])
    if f.get("type"):
        qs = qs.filter(type=f["type"])
    if f.get("q"):
        qs = qs.filter(Q(external_id__icontains=f["q"]) | Q(store__name__icontains=f["q"]))
    if f.get("occurred_after"):
        qs = qs.filter(occurred_at__gte=f["occurred_after"])
    if f.get("occurred_before"):
        qs = qs.filter(occurred_at__lte=f["occurred_before"])
    return qs
