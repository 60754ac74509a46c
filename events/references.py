"""Human event references: every event gets one at creation from its retailer's own sequence,
whatever the channel (the web form, the API, an import), something staff can quote to police.

A PostgreSQL sequence per retailer (`events_reference_<organisation id>`), not a counter row: taking
a number never waits for another transaction, so concurrent submissions at one retailer don't queue
behind each other (a rolled-back submission leaves a gap, as an invoice book does). The database
function `events_take_references` (migration events 0007) makes the sequence on a retailer's first
event and takes all of a batch's numbers in one statement."""

from __future__ import annotations

import re

from django.db import connection


def reference_prefix(slug: str) -> str:
    """The retailer's part of a reference: its slug's letters and digits, upper case, at most 8
    (the same rule as migration events 0007's SQL)."""
    return re.sub(r"[^A-Z0-9]", "", slug.upper())[:8] or "EV"


def take_references(organisation, n: int) -> list[str]:
    """`n` new references of this retailer, in order."""
    if n <= 0:
        return []
    with connection.cursor() as cur:
        cur.execute("SELECT events_take_references(%s, %s)", [organisation.pk, n])
        numbers = [row[0] for row in cur.fetchall()]
    prefix = reference_prefix(organisation.slug)
    return [f"{prefix}-{number:06d}" for number in numbers]
