"""Deleting an event (self-remediation) keeps profiles and vehicles right."""

from __future__ import annotations

from decimal import Decimal

from events.services import event_delete
from matching.services_review import judgement_record
from profiles.models import Profile, Vehicle
from tests.profiles.helpers import ANA, ANNA, JOHN, JOHNNY, JON, record, suggestion_between


def test_deleting_an_event_dissolves_a_two_person_profile(world):
    a = record(world, days_ago=5, persons=[ANA])
    b = record(world, persons=[ANNA])
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision="accept")
    profile = Profile.objects.get(status=Profile.Status.ACTIVE)
    assert profile.event_count == 2
    event_delete(actor=world.admin, event=b)
    profile.refresh_from_db()
    assert profile.status == Profile.Status.DISSOLVED
    assert not profile.members.exists()


def test_deleting_one_of_three_events_refreshes_the_profile(world):
    a = record(world, days_ago=9, persons=[JON], products=[{"unit_value": Decimal("100")}])
    b = record(world, days_ago=5, persons=[JOHN], products=[{"unit_value": Decimal("50")}])
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision="accept")
    c = record(world, persons=[JOHNNY], products=[{"unit_value": Decimal("20")}])
    from matching.models import Suggestion

    s = Suggestion.objects.filter(person__event=c).order_by("-score").first()
    judgement_record(actor=world.investigator, suggestion=s, decision="accept")
    profile = Profile.objects.get(status=Profile.Status.ACTIVE)
    assert profile.event_count == 3
    event_delete(actor=world.admin, event=a)
    profile.refresh_from_db()
    assert profile.status == Profile.Status.ACTIVE
    assert profile.event_count == 2
    assert profile.total_loss == 70


def test_vehicles_count_events_and_keep_the_latest_description(world):
    record(world, days_ago=9, persons=[ANA], vehicles=[{"plate": "abc 123", "make": "Toyota", "colour": "silver"}], match=False)
    record(world, days_ago=1, persons=[ANNA], vehicles=[{"plate": "ABC-123", "colour": "grey"}], match=False)
    v = Vehicle.objects.get(organisation=world.acme, plate_normalised="ABC123")
    assert (v.event_count, v.make, v.colour) == (2, "Toyota", "grey")
