"""Cross-retailer matching scenarios built from real events and the real engine."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

from events.models import EventPerson, EventVehicle, normalise_plate
from matching.engine import mark_stale, run_match_state
from matching.models import Suggestion
from tests.factories import EventFactory

# The same offender seen by two retailers: his name spelled differently, the same van, the same tattoo.
ACME_PERSON = {"name": "Jonah Pereira", "marks": "tattoo of a scorpion on left hand", "age_band": "25-34",
               "gender": "male", "height_cm": 181, "clothing": "grey jacket"}
ACME_PLATE = "KZP412"
BMART_PERSON = {"name": "Jona Pereyra", "marks": "scorpion tattoo left hand", "age_band": "25-34",
                "gender": "male", "height_cm": 183, "clothing": "red hoodie and cap"}
BMART_PLATE = "KZP4I2"  # as the camera read it: I for 1
# What Acme must never read about B-Mart's side unless a sharing agreement or a disclosure allows it.
SECRETS = ("Jona Pereyra", "Pereyra", "KZP4I2", "B-Mart", "BM-001", "Newmarket", "red hoodie", "razor blades")


def opt_in(*orgs, on: bool = True) -> None:
    for org in orgs:
        org.ctd_opt_in = on
        org.save(update_fields=["ctd_opt_in"])
    cache.clear()


def record(store, person: dict, plate: str = "", *, days_ago: int = 1, narrative: str = "", run: bool = True):
    """An event with one offender (and their vehicle), matched by the real engine."""
    event = EventFactory(store=store, occurred_at=timezone.now() - dt.timedelta(days=days_ago), narrative=narrative)
    p = EventPerson.objects.create(event=event, ref="p1", **person)
    if plate:
        EventVehicle.objects.create(event=event, plate=plate, plate_normalised=normalise_plate(plate), person=p)
    mark_stale(event=event)
    if run:
        run_match_state(event.pk)
    return event


def rerun(event) -> None:
    mark_stale(event=event)
    run_match_state(event.pk)


def suggestions_of(event):
    return list(Suggestion.objects.filter(person__event=event).order_by("-score"))


def cross_pair(world, *, bmart_first: bool = True):
    """Both retailers opted in; B-Mart recorded him first, then Acme: Acme's run makes the suggestion.
    Returns (acme event, bmart event, acme's suggestion)."""
    opt_in(world.acme, world.bmart)
    bmart_event = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=3,
                         narrative="Took razor blades, left in a red hoodie and cap")
    acme_event = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    [s] = [s for s in suggestions_of(acme_event) if s.other_organisation_id]
    return acme_event, bmart_event, s
