"""Reads of events, always through the access policy."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import cached_property

from accounts.models import Role
from auror import access
from events.models import Event, normalise_plate

# Letters and digits: the pieces PostgreSQL's text-search parser makes lexemes of, and nothing that
# could change the meaning of a tsquery.
_TOKEN = re.compile(r"[^\W_]+")
MAX_SEARCH_TOKENS = 8

# The search runs on expression indexes (events/migrations/0004_search.py): the functions called
# here are the ones indexed, so PostgreSQL uses the GIN indexes. Plates and SKUs are exact matches
# on their b-tree indexes. The subqueries only yield event ids; the caller's queryset has already
# applied the access policy, so they cannot widen what anyone sees.
_SEARCH_SQL = """
SELECT id FROM events_event WHERE events_event_tsv(external_id, narrative) @@ to_tsquery('simple', %s)
UNION SELECT event_id FROM events_eventperson WHERE events_person_tsv(name, aliases) @@ to_tsquery('simple', %s)
UNION SELECT event_id FROM events_eventvehicle WHERE plate_normalised = %s
UNION SELECT event_id FROM events_eventproduct WHERE sku = ANY(%s)
"""


def search_tsquery(q: str) -> str:
    """'Jon smi' → "'jon':* & 'smi':*": every word must match, words of three letters or more as
    a prefix (a name typed in part still finds it). Empty when there is nothing to search for."""
    tokens = _TOKEN.findall((q or "").lower())[:MAX_SEARCH_TOKENS]
    return " & ".join(f"'{t}':*" if len(t) >= 3 else f"'{t}'" for t in tokens)


def _search(qs: QuerySet[Event], q: str) -> QuerySet[Event]:
    tsquery = search_tsquery(q)
    if not tsquery:
        return qs
    plate = normalise_plate(q)
    skus = sorted({q.strip(), *q.split()} - {""})[:MAX_SEARCH_TOKENS]
    return qs.filter(pk__in=RawSQL(_SEARCH_SQL, [tsquery, tsquery, plate or "-", skus]))


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _moment(value: Any) -> Any:
    if not value or isinstance(value, dt.datetime):
        return value or None
    try:
        return parse_datetime(str(value)) or parse_date(str(value))
    except ValueError:
        return None


VIOLENCE = {
    "threatened": Q(threatened_violence=True),
    "used": Q(used_violence=True),
    "any": Q(threatened_violence=True) | Q(used_violence=True) | ~Q(weapon="") | Q(injury=True),
    "weapon": ~Q(weapon=""),
    "injury": Q(injury=True),
    "none": Q(threatened_violence=False, used_violence=False, weapon="", injury=False),
}


def events_visible(*, user, filters: dict | None = None) -> QuerySet[Event]:
    """The events `user` may see, narrowed by the list's filters (every value a string, as from a
    query string; a value that does not parse is ignored — the HTML list's form reports it):
    store (id), type, q (search), occurred_after/occurred_before, prevented (yes/no),
    violence (VIOLENCE), value_min/value_max."""
    qs = Event.objects.visible_to(user).select_related("store", "organisation")
    f = filters or {}
    if f.get("store") and str(f["store"]).isdigit():
        qs = qs.filter(store_id=int(f["store"]))
    if f.get("type"):
        qs = qs.filter(type=f["type"])
    if f.get("q"):
        qs = _search(qs, str(f["q"])[:200])
    if after := _moment(f.get("occurred_after")):
        qs = qs.filter(occurred_at__gte=after)
    if before := _moment(f.get("occurred_before")):
        qs = qs.filter(occurred_at__lte=before)
    prevented = str(f.get("prevented") or "").lower()
    if prevented in ("yes", "true", "1"):
        qs = qs.filter(prevented=True)
    elif prevented in ("no", "false", "0"):
        qs = qs.filter(prevented=False)
    if f.get("violence") in VIOLENCE:
        qs = qs.filter(VIOLENCE[f["violence"]])
    if (low := _decimal(f.get("value_min"))) is not None:
        qs = qs.filter(total_value__gte=low)
    if (high := _decimal(f.get("value_max"))) is not None:
        qs = qs.filter(total_value__lte=high)
    return qs


class CappedPaginator(Paginator):
    """Counting every match of a broad filter over a million events costs more than the page
    itself; past `cap` the list says "more than 1,000" and asks for narrower filters."""

    cap = 1000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def event_detail_parts(*, event: Event) -> dict[str, Any]:
    """People (with their vehicles), products with the total, vehicles: one query each."""
    persons = list(event.persons.all())
    products = list(event.products.all())
    vehicles = list(event.vehicles.select_related("person"))
    return {"persons": persons, "products": products, "vehicles": vehicles,
            "products_total": sum((p.line_value for p in products), Decimal("0"))}


HISTORY_ACTIONS = ("event.create", "event.update")


def event_history(*, user, event: Event) -> list[dict[str, Any]]:
    """Who created and changed this event, with before and after values, for the people who look
    after the retailer's events: investigators and admins who may change it (the event's own
    right, decided by the access policy). Admins see the whole audit log on its own page too."""
    from audit.models import AuditEntry

    if user.role not in (Role.INVESTIGATOR, Role.RETAILER_ADMIN) or not access.can(user, access.CHANGE, event):
        return []
    # The audit log's own rule is admins only; an event's change history is part of the event,
    # shown to whoever may change the event (checked just above).
    rows = (AuditEntry.objects.unscoped()
            .filter(organisation_id=event.organisation_id, object_type="events.event", object_id=str(event.pk),
                    action__in=HISTORY_ACTIONS)
            .order_by("-at", "-id")[:100])
    out = []
    for row in rows:
        changes = []
        if row.action == "event.update":
            for field, change in sorted((row.detail or {}).get("changes", {}).items()):
                changes.append({"field": field.replace("_", " "), "before": _short(change.get("before")),
                                "after": _short(change.get("after"))})
        out.append({"at": row.at, "who": row.actor_email or "system", "action": row.action,
                    "label": "Recorded" if row.action == "event.create" else "Changed",
                    "via": (row.detail or {}).get("via", ""), "changes": changes})
    return out


def _short(value: Any) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                parts.append(", ".join(f"{k} {v}" for k, v in item.items()
                                       if v not in (None, "", [], {}) and k not in ("ref", "profile")))
            else:
                parts.append(str(item))
        text = "; ".join(parts)
    else:
        text = str(value)
    return text if len(text) <= 300 else text[:297] + "…"


def display_timezone(user) -> zoneinfo.ZoneInfo:
    """The time zone dates are typed and shown in when no store says otherwise: the user's own
    store's, else their retailer's first store's, else UTC."""
    from accounts.models import Store

    store = (user.stores.order_by("pk").first() if user.role == Role.STORE_STAFF else None) or \
        Store.objects.visible_to(user).order_by("pk").first()
    try:
        return zoneinfo.ZoneInfo(store.timezone) if store else zoneinfo.ZoneInfo("UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
