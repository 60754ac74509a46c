"""Reading the audit log: the page's paginator, the CSV export (streamed), a row's integrity.

Every function takes rows the caller may see (`AuditEntry.objects.visible_to(user)`), never the
whole table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from audit.models import AuditEntry

CSV_COLUMNS = (
    "id", "chain", "seq", "at", "organisation_id", "actor_id", "actor_email", "token_id", "action",
    "object_type", "object_id", "object_repr", "ip", "user_agent", "purpose", "detail", "prev_hash", "hash",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 2000


class CappedPaginator(Paginator):
    """Counting every row of a large organisation's log costs more than showing a page; past `cap`
    the page says "more than 10,000" and suggests narrower filters."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def audit_recent_values(*, rows: QuerySet, field: str, sample: int = 2000) -> list[str]:
    """The distinct values of `field` among the newest `sample` rows (suggestions for the filter
    boxes; a bounded query whatever the size of the log)."""
    newest = rows.order_by("-at", "-id").values_list("pk", flat=True)[:sample]
    values = rows.filter(pk__in=newest).order_by().values_list(field, flat=True).distinct()
    return sorted(v for v in values if v)


def csv_safe(value) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cells(entry: AuditEntry, tz=None) -> list[str]:
    values = {f: getattr(entry, f) for f in CSV_COLUMNS}
    # In the viewer's zone with its offset (+13:00), as the pages show it: the file says which.
    values["at"] = (entry.at.astimezone(tz) if tz is not None else entry.at).isoformat(timespec="microseconds")
    values["detail"] = json.dumps(entry.detail, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return [csv_safe(values[f]) for f in CSV_COLUMNS]


class _Line:
    """csv.writer writes into this and hands the line straight back (nothing accumulates)."""

    def write(self, value: str) -> str:
        return value


def audit_csv_lines(*, rows: QuerySet, tz=None) -> Iterator[str]:
    """The rows as CSV, one line at a time, read from the database in chunks: a log of millions of
    rows streams through in constant memory. Times in `tz` (the viewer's zone), offset included."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for entry in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow(_cells(entry, tz))


@dataclass(frozen=True)
class Integrity:
    hash_matches: bool  # the stored hash is the hash of the row's content
    previous: AuditEntry | None  # the row before it in the same chain
    linked: bool  # prev_hash is the previous row's hash (or the genesis hash for the first row)


def audit_entry_integrity(*, rows: QuerySet, entry: AuditEntry) -> Integrity:
    """Whether this one row is intact and linked to the one before it (audit_verify checks them all)."""
    from audit.models import GENESIS_HASH

    previous = rows.filter(chain=entry.chain, seq=entry.seq - 1).first() if entry.seq > 1 else None
    if entry.seq <= 1:
        linked = entry.prev_hash == GENESIS_HASH
    else:
        linked = previous is not None and previous.hash == entry.prev_hash
    return Integrity(hash_matches=entry.compute_hash() == entry.hash, previous=previous, linked=linked)


def changes_table(detail: dict) -> list[tuple[str, object, object]]:
    """(field, before, after) for a row whose detail records changes, as the services write them."""
    changes = detail.get("changes") if isinstance(detail, dict) else None
    if not isinstance(changes, dict):
        return []
    out = []
    for field, change in changes.items():
        if isinstance(change, dict) and ("before" in change or "after" in change):
            out.append((field, change.get("before"), change.get("after")))
    return out


def export_filename(*, organisation_slug: str, stamp: str) -> str:
    return f"audit-{organisation_slug or 'log'}-{stamp}.csv"

