"""Reads of events, always through the access policy."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import Expression, RawSQL
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Role
from auror import access
from events.models import Event, normalise_plate

# Letters and digits: the pieces PostgreSQL's text-search parser makes lexemes of, and nothing that
# could change the meaning of a tsquery.
_TOKEN = re.compile(r"[^\W_]+")
MAX_SEARCH_TOKENS = 8

# The search reads the stored `search_doc` columns of events and people (GIN-indexed, computed by
# PostgreSQL from the row's own text: events/migrations/0004_search.py). Plates and SKUs are exact
# matches on their b-tree indexes. The subqueries only yield event ids; the caller's queryset has
# already applied the access policy, so they cannot widen what anyone sees.
# The two text branches go through functions (events migration 0008): under row-level security
# the match operator could not use its index otherwise. Their second parameter bounds the rows.
_BRANCH_EVENT = "SELECT id FROM events_search_event_ids(%s, %s) AS id"
_BRANCH_PERSON = "SELECT id FROM events_search_person_event_ids(%s, %s) AS id"
_BRANCH_PLATE = "SELECT event_id FROM events_eventvehicle WHERE plate_normalised = %s"
_BRANCH_SKU = "SELECT event_id FROM events_eventproduct WHERE sku = ANY(%s)"


class _OwnSearchDoc(Expression):
    """`<the event row>.search_doc @@ tsquery`, for whatever alias the events table has in the
    query being compiled (a branch is a subquery inside the list's query)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, tsquery: str):
        super().__init__()
        self.tsquery = tsquery

    def as_sql(self, compiler, connection):
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{alias}.search_doc @@ to_tsquery('simple', %s)", [self.tsquery]


def search_tsquery(q: str) -> str:
    """'Jon smi' → "'jon' & 'smi':*": every word must match; the last, when it has three letters
    or more, as a prefix (a name typed in part still finds it). Only the last: a prefix is looked
    up as a range of the index, costly for a common one, while whole words let PostgreSQL skip
    through the others' entries. Empty when there is nothing to search for."""
    tokens = _TOKEN.findall((q or "").lower())[:MAX_SEARCH_TOKENS]
    return " & ".join(f"'{t}':*" if i == len(tokens) - 1 and len(t) >= 3 else f"'{t}'"
                      for i, t in enumerate(tokens))


def _search_branches(q: str) -> list[tuple[str, list]]:
    """One subquery of event ids per place a match can be: the event's reference and narrative,
    its people's names and aliases, its plates, its SKUs."""
    tsquery = search_tsquery(q)
    if not tsquery:
        return []
    branches = [(_BRANCH_EVENT, [tsquery, None]), (_BRANCH_PERSON, [tsquery, None])]
    plate = normalise_plate(q)
    if 2 <= len(plate) <= 12:
        branches.append((_BRANCH_PLATE, [plate]))
    skus = sorted({q.strip(), *q.split()} - {""})[:MAX_SEARCH_TOKENS]
    branches.append((_BRANCH_SKU, [skus]))
    return branches


# A branch with at most this many matches in the whole database is "rare": its event ids are
# fetched through its index and the page is made of those. A more common one is walked from the
# newest events, where its matches are dense enough to fill a page quickly.
RARE_MATCHES = 2000


def _branch_ids(sql: str, params: list) -> list[int] | None:
    """The branch's event ids when it is rare, else None (one bounded query through its index).

    Through its index, always: with a LIMIT and a common word PostgreSQL would rather read the
    table until it has enough rows, which for a word of middling frequency reads a large part of it."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        if sql in (_BRANCH_EVENT, _BRANCH_PERSON):
            params = [params[0], RARE_MATCHES + 1]
        cur.execute(f"{sql} LIMIT {RARE_MATCHES + 1}", params)
        rows = cur.fetchall()
    if len(rows) > RARE_MATCHES:
        return None
    return sorted({r[0] for r in rows})


def _search(qs: QuerySet[Event], q: str, limit: int | None) -> QuerySet[Event]:
    """Events of `qs` matching `q` in any branch.

    With `limit` (the list page: offset + page size + 1), each branch is its own query for its
    newest `limit` matches, made the way that suits it: a rare branch (a plate, a surname seen a
    few times) from the ids its index gives; a common one (a common surname, a best-selling SKU)
    by walking the newest events. One query over the union of the branches would have to collect
    every match of a common name first. The newest `limit` of the union are among the branches'
    newest `limit`, so the page is exact. Without `limit` (exports), every match."""
    branches = _search_branches(q)
    if not branches:
        return qs
    if limit is None:
        match = Q()
        for sql, params in branches:
            match |= Q(pk__in=RawSQL(sql, params))  # nosec B611  # sql is one of the _BRANCH_* constants
        return qs.filter(match)
    base = qs.select_related(None).order_by()
    parts = []
    for sql, params in branches:
        ids = _branch_ids(sql, params)
        if ids == []:
            continue
        if ids is not None:
            match = Q(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
        elif sql is _BRANCH_EVENT:
            match = _OwnSearchDoc(params[0])
        else:
            match = Q(pk__in=RawSQL(sql, params))  # nosec B611  # sql is one of the _BRANCH_* constants
        parts.append(base.filter(match).order_by("-occurred_at", "-id").values("pk")[:limit])
    if not parts:
        return qs.none()
    return qs.filter(pk__in=parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0])


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


def events_visible(*, user, filters: dict | None = None, search_limit: int | None = None) -> QuerySet[Event]:
    """The events `user` may see, narrowed by the list's filters (every value a string, as from a
    query string; a value that does not parse is ignored — the HTML list's form reports it):
    store (id), type, q (search), occurred_after/occurred_before, prevented (yes/no),
    violence (VIOLENCE), value_min/value_max. `search_limit`: a list page needs only the newest
    that many matches of `q` (see _search); the default is every match."""
    qs = Event.objects.visible_to(user).select_related("store", "organisation")
    if user.role == Role.STORE_STAFF:
        # The policy already keeps a store worker to their stores; naming them as values (not as
        # the policy's subquery) lets PostgreSQL walk that store's newest events by its index.
        qs = qs.filter(store_id__in=list(user.stores.values_list("pk", flat=True)))
    f = filters or {}
    if f.get("store") and str(f["store"]).isdigit():
        qs = qs.filter(store_id=int(f["store"]))
    if f.get("type"):
        qs = qs.filter(type=f["type"])
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
    if f.get("q"):
        qs = _search(qs, str(f["q"])[:200], search_limit)
    return qs


@dataclass
class ListPage:
    """A page of the event list that never counts every match: counting a broad filter over a
    million events costs more than the page itself. It fetches one row more than it shows to know
    whether there is a next page; the total is known only when the list ends on this page."""

    object_list: list
    number: int
    page_size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.object_list)

    @property
    def total(self) -> int | None:
        return None if self.has_next else self.end_index


MAX_PAGE = 200


def list_page_number(value: Any) -> int:
    try:
        return max(1, min(MAX_PAGE, int(value)))
    except (TypeError, ValueError):
        return 1


def list_page(queryset: QuerySet[Event], *, number: int, page_size: int) -> ListPage:
    offset = (number - 1) * page_size
    rows = list(queryset[offset: offset + page_size + 1])
    return ListPage(object_list=rows[:page_size], number=number, page_size=page_size, has_next=len(rows) > page_size)


def event_detail_parts(*, event: Event) -> dict[str, Any]:
    """People (with their vehicles), products with the total, vehicles: one query each."""
    persons = list(event.persons.all())
    products = list(event.products.all())
    vehicles = list(event.vehicles.select_related("person"))
    return {"persons": persons, "products": products, "vehicles": vehicles,
            "products_total": sum((p.line_value for p in products), Decimal("0"))}


def event_history(*, user, event: Event) -> list[dict[str, Any]]:
    """Who created and changed this event, with before and after values, for the people who look
    after the retailer's events: investigators and admins who may change it. Who may read it is the
    access policy's (access.event_history_entries); admins see the whole audit log on its own page too."""
    rows = access.event_history_entries(user, event).order_by("-at", "-id")[:100]
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
    """The time zone dates are typed in when no store says otherwise: store staff's own store's,
    else the viewer's organisation's (auror.timezones: the zone every other time is shown in)."""
    from auror.timezones import organisation_timezone

    store = user.stores.order_by("pk").first() if user.role == Role.STORE_STAFF else None
    try:
        return zoneinfo.ZoneInfo(store.timezone if store else organisation_timezone(user.organisation_id))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
