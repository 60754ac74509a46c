"""Building real suggestions for review tests: events recorded through event_submit, matched by the
engine (matching.engine.run_match_state), exactly as on a live system."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone

from events.models import Event
from events.services import event_submit
from matching.engine import run_match_state
from matching.models import Suggestion


def record(world, *, store=None, days_ago: float = 1, persons=(), vehicles=(), products=(), user=None,
           match: bool = True, **scalars) -> Event:
    """Record an event as `user` (an investigator by default) and run its matching job."""
    persons = [{"ref": f"p{i + 1}", "role": "offender", **p} for i, p in enumerate(persons)]
    data = {
        "store": store or world.acme_akl, "type": scalars.pop("type", "theft"),
        "occurred_at": timezone.now() - dt.timedelta(days=days_ago),
        "persons": persons, "vehicles": list(vehicles),
        "products": [{"quantity": 1, "unit_value": Decimal("10"), "description": "Item", **p} for p in products],
        **scalars,
    }
    event, _ = event_submit(actor=user or world.investigator, data=data)
    if match:
        cache.clear()
        run_match_state(event.pk)
    return event


def rematch(*events: Event) -> None:
    """Mark these events stale and run their matching jobs again (as the queue would)."""
    from matching.engine import mark_stale

    cache.clear()
    for e in events:
        mark_stale(event=e)
        run_match_state(e.pk)


def suggestion_between(event: Event, other: Event) -> Suggestion:
    return Suggestion.objects.get(person__event=event, target_person__event=other)


JON = {"name": "Jon Smith", "marks": "tattoo of a star on left hand", "age_band": "25-34", "gender": "male",
       "height_cm": 180, "build": "slim", "hair": "short brown", "clothing": "black hoodie, grey trackpants"}
JOHN = {"name": "John Smyth", "marks": "star tattoo left hand", "age_band": "25-34", "gender": "male",
        "height_cm": 182, "build": "slim", "hair": "brown short", "clothing": "black hoodie"}
JOHNNY = {"name": "Johnny Smith", "aliases": ["Jonno"], "marks": "star tattoo on left hand", "age_band": "25-34",
          "gender": "male", "height_cm": 181, "clothing": "red cap, black hoodie"}
ANA = {"name": "Ana Lopez", "marks": "scar on left cheek", "age_band": "35-44", "gender": "female", "height_cm": 165}
ANNA = {"name": "Anna Lopes", "marks": "scar left cheek", "age_band": "35-44", "gender": "female", "height_cm": 166}
