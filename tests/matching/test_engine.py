"""Suggestions from blocking keys and Fellegi–Sunter scores."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from events.interchange import EventInput
from events.services import event_submit
from matching.engine import run_match_state
from matching.models import BlockingKey, MatchSettings, RejectedPair, Suggestion
from matching.normalise import mark_tokens, ocr_fold_plate


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def record(world, *, store="ACME-001", days_ago=1, persons=(), vehicles=(), products=(), user=None):
    data = {
        "store": store, "type": "theft",
        "occurred_at": (timezone.now() - dt.timedelta(days=days_ago)).isoformat(),
        "persons": list(persons), "vehicles": list(vehicles), "products": list(products),
    }
    s = EventInput(data=data, context={"organisation": world.acme})
    s.is_valid(raise_exception=True)
    event, _ = event_submit(actor=user or world.investigator, data=s.validated_data)
    run_match_state(event.pk)
    return event


def suggestions_for(event):
    return list(Suggestion.objects.filter(person__event=event).order_by("-score"))


def test_plate_folding_and_mark_tokens():
    assert ocr_fold_plate("KBO-812") == ocr_fold_plate("kb0 812")
    assert ocr_fold_plate("5ZB") == ocr_fold_plate("SZ8")
    assert "tattoo:star" in mark_tokens("Tattoo of a star on his left hand")
    assert {"tattoo:star", "tattoo@hand"} <= mark_tokens("star tattoo, left hand")


def test_same_offender_spelled_differently_is_suggested_with_reasons(world):
    first = record(world, days_ago=10, persons=[{"name": "Jon Smith", "marks": "tattoo of a star on left hand",
                                                "age_band": "25-34", "gender": "male", "height_cm": 180}],
                   vehicles=[{"plate": "KBO812", "person_ref": "p1"}])
    assert suggestions_for(first) == []
    second = record(world, store="ACME-002", persons=[{"name": "John Smyth", "marks": "star tattoo left hand",
                                                      "age_band": "25-34", "gender": "male", "height_cm": 182}],
                    vehicles=[{"plate": "KB0812", "person_ref": "p1"}])
    [s] = suggestions_for(second)
    assert s.target_person.event_id == first.pk
    assert s.score > 0.9
    features = {r["feature"]: r for r in s.reasons}
    assert features["plate"]["detail"] == "KB0812 = KBO812 (OCR)"  # the new event's plate first
    assert features["name"]["level"] in ("phonetic", "fuzzy")
    assert features["mark"]["weight"] > 0
    # The explanation adds up to the score's log-odds.
    assert abs(sum(r["weight"] for r in s.reasons) - s.weight) < 0.01


def test_unrelated_people_are_not_suggested(world):
    record(world, days_ago=30, persons=[{"name": "Mary Jones", "age_band": "45-54", "gender": "female"}])
    e = record(world, persons=[{"name": "Tom Baker", "age_band": "18-24", "gender": "male"}])
    assert suggestions_for(e) == []


def test_rejected_pair_is_never_suggested_again(world):
    from matching.models import Judgement

    a = record(world, days_ago=5, persons=[{"name": "Ana Lopez", "marks": "scar on left cheek"}])
    b = record(world, persons=[{"name": "Ana Lopes", "marks": "scar left cheek"}])
    [s] = suggestions_for(b)
    j = Judgement.objects.create(organisation=world.acme, suggestion=s, person=s.person, target_person=s.target_person,
                                 decision=Judgement.Decision.REJECT, by=world.investigator)
    low, high = sorted([s.person_id, s.target_person_id])
    RejectedPair.objects.create(person_low_id=low, person_high_id=high, judgement=j)
    s.status = Suggestion.Status.REJECTED
    s.save()
    from matching.models import MatchState
    from matching.services import rematch_organisation

    MatchState.objects.filter(event_id=b.pk).update(status="pending", version=5)
    rematch_organisation(organisation_id=world.acme.pk)
    assert Suggestion.objects.filter(person__event=b).count() == 1  # the rejected one only, still rejected
    assert Suggestion.objects.get(person__event=b).status == Suggestion.Status.REJECTED
    del a


def test_hub_values_are_capped(world):
    MatchSettings.objects.create(organisation=world.acme, hub_cap=5)
    for i in range(8):  # a hire-company plate seen with eight different people
        record(world, days_ago=20 + i, persons=[{"name": f"Person{i} Unrelated{i}", "gender": "male"}],
               vehicles=[{"plate": "HIRE01"}])
    e = record(world, persons=[{"name": "Kim Lee"}], vehicles=[{"plate": "HIRE01"}])
    # No likely match: at most possible ones (a shared hire plate, names that differ), saying why.
    assert [s for s in suggestions_for(e) if s.score >= 0.5] == []
    for s in suggestions_for(e):
        assert any(r["feature"] == "hub" and "H1RE01" in r["detail"] for r in s.reasons)
        assert {r["feature"]: r.get("level") for r in s.reasons}["name"] == "else"
    assert BlockingKey.objects.filter(kind="plate", value="H1RE01").count() == 9


def test_a_hub_met_is_stored_with_its_counts_and_a_refresh_makes_them_exact(world):
    from matching.engine import refresh_hubs
    from matching.models import HubKey

    MatchSettings.objects.create(organisation=world.acme, hub_cap=5)
    for i in range(8):
        record(world, days_ago=20 + i, persons=[{"name": f"Person{i} Unrelated{i}", "gender": "male"}],
               vehicles=[{"plate": "HIRE01"}])
    hub = HubKey.objects.get(organisation=world.acme, kind="plate", value="H1RE01")
    assert (hub.rows, hub.entities) == (7, 7)  # met by the seventh record: more than cap + 1 sharing it
    record(world, persons=[{"name": "Kim Lee"}], vehicles=[{"plate": "HIRE01"}])
    assert refresh_hubs(world.acme.pk) >= 1
    hub.refresh_from_db()
    assert (hub.rows, hub.entities) == (9, 9)
    # Once fewer people share it (events deleted by retention), the next count forgets it.
    BlockingKey.objects.filter(kind="plate", value="H1RE01").exclude(
        person__event__occurred_at__gte=timezone.now() - dt.timedelta(days=23)).delete()
    from matching.tasks import refresh_hubs as nightly

    nightly()  # every retailer in one pass
    assert not HubKey.objects.filter(kind="plate", value="H1RE01").exists()


def test_hubs_met_twice_in_one_batch_are_stored_once_with_the_larger_count(world):
    from matching.engine import remember_hubs
    from matching.models import HubKey

    org = world.acme.pk
    remember_hubs([(org, "desc", "male|25-34|17|slim|AKL", 300, 300), (org, "desc", "male|25-34|17|slim|AKL", 310, 305)])
    remember_hubs([(org, "desc", "male|25-34|17|slim|AKL", 200, 200)])  # counts met later never shrink it
    hub = HubKey.objects.get(organisation_id=org, kind="desc")
    assert (hub.rows, hub.entities) == (310, 305)


def test_a_counted_hub_is_not_read_and_finds_no_candidates(world):
    """A value the nightly count found shared by many is skipped without reading its rows: two people
    sharing only a product at a store (a weak key) are not compared once that key is a counted hub."""
    from matching.keys import keys_for
    from matching.models import HubKey
    from matching.records import load_records

    persons = [{"name": "", "age_band": "25-34", "gender": "female", "height_cm": 165, "build": "slim"}]
    products = [{"sku": "RAZOR-5", "description": "razor blades", "quantity": 1, "unit_value": "30.00"}]
    record(world, days_ago=2, persons=persons, products=products)
    e = record(world, persons=persons, products=products)
    [s] = suggestions_for(e)  # compared through the shared keys
    rec = load_records([s.person_id])[s.person_id]
    for kind, value in keys_for(rec):
        HubKey.objects.create(organisation=world.acme, kind=kind, value=value, rows=5000, entities=5000,
                              counted_at=timezone.now())
    again = record(world, persons=persons, products=products)
    assert suggestions_for(again) == []


def test_a_compact_record_reads_as_the_event_tables_do(world):
    """What a search reads of a candidate (matching_matchrecord, written with the keys) is the record
    the event tables give: plates linked to the person, or unlinked with a sole offender; SKUs; the
    profile; and rewritten when the event changes."""
    from events.services import event_update
    from matching.models import MatchRecord
    from matching.records import load_match_records, load_records

    a = record(world, days_ago=3, persons=[{"name": "Rewi Parata", "aliases": ["Rew"], "marks": "moko kauae tattoo chin",
                                            "age_band": "25-34", "gender": "male", "height_cm": 180, "build": "heavy",
                                            "hair": "black curly", "clothing": "red hoodie"}],
               vehicles=[{"plate": "XYZ999"}], products=[{"sku": "RAZOR-5", "description": "razors", "quantity": 2,
                                                          "unit_value": "10.00"}])
    b = record(world, days_ago=2, persons=[{"name": "Ana Lopez"}, {"ref": "p2", "name": "Tom Baker", "role": "accomplice"}],
               vehicles=[{"plate": "ABC123", "person_ref": "p2"}, {"plate": "UNL1NK"}])
    ids = list(MatchRecord.objects.filter(event_id__in=[a.pk, b.pk]).values_list("person_id", flat=True))
    assert len(ids) == 3
    compact, live = load_match_records(ids), load_records(ids)
    assert compact == live
    assert {tuple(r.plates.values()) for r in live.values()} == {("XYZ999",), ("ABC123",), ()}  # unlinked: two offenders
    assert live[min(ids)].skus == {"RAZOR-5"}
    s = EventInput(data={"store": "ACME-002", "type": "theft", "occurred_at": a.occurred_at.isoformat(),
                         "persons": [{"ref": "p1", "name": "Rewi Parata", "hair": "grey"}]},
                   context={"organisation": world.acme})
    s.is_valid(raise_exception=True)
    event_update(actor=world.investigator, event=a, data=s.validated_data)
    run_match_state(a.pk)
    [pid] = MatchRecord.objects.filter(event_id=a.pk).values_list("person_id", flat=True)
    assert load_match_records([pid]) == load_records([pid])
    assert load_match_records([pid])[pid].plates == {}
    # A person whose keys predate compact records is read from the event tables.
    MatchRecord.objects.filter(pk=pid).delete()
    assert load_match_records([pid]) == load_records([pid])


def test_suggestions_follow_an_event_update(world):
    from events.services import event_update

    record(world, days_ago=3, persons=[{"name": "Rewi Parata", "marks": "moko kauae tattoo chin"}],
           vehicles=[{"plate": "XYZ999", "person_ref": "p1"}])
    e = record(world, persons=[{"name": "Unknown"}])
    assert suggestions_for(e) == []
    s = EventInput(data={"store": "ACME-001", "type": "theft", "occurred_at": e.occurred_at.isoformat(),
                         "persons": [{"ref": "p1", "name": "Rewi Parata"}], "vehicles": [{"plate": "XYZ 999", "person_ref": "p1"}]},
                   context={"organisation": world.acme})
    s.is_valid(raise_exception=True)
    event_update(actor=world.investigator, event=e, data=s.validated_data)
    run_match_state(e.pk)
    assert len(suggestions_for(e)) == 1


def test_an_offender_corrected_to_a_witness_is_forgotten_by_matching(world):
    """An edit that makes an offender a witness removes what matching kept of them: no search finds
    them again, and the pending suggestions about them are superseded."""
    from events.services import event_update
    from matching.models import MatchRecord

    person = {"name": "Rewi Parata", "marks": "moko kauae tattoo chin", "age_band": "25-34", "gender": "male"}
    a = record(world, days_ago=5, persons=[person])
    b = record(world, days_ago=3, persons=[person])
    [s] = suggestions_for(b)
    assert s.target_person.event_id == a.pk
    data = EventInput(data={"store": "ACME-001", "type": "theft", "occurred_at": a.occurred_at.isoformat(),
                            "persons": [{**person, "ref": "p1", "role": "witness"}]}, context={"organisation": world.acme})
    data.is_valid(raise_exception=True)
    event_update(actor=world.investigator, event=a, data=data.validated_data)
    run_match_state(a.pk)
    witness = a.persons.get()
    assert not BlockingKey.objects.filter(person=witness).exists()
    assert not MatchRecord.objects.filter(person=witness).exists()
    s.refresh_from_db()
    assert s.status == Suggestion.Status.SUPERSEDED
    c = record(world, persons=[person])
    assert [x.target_person.event_id for x in suggestions_for(c)] == [b.pk]


@pytest.mark.parametrize("role", ["victim", "witness"])
def test_victims_and_witnesses_are_not_matched(world, role):
    record(world, days_ago=3, persons=[{"name": "Sione Taufa", "role": role}])
    e = record(world, persons=[{"name": "Sione Taufa", "role": role}])
    assert suggestions_for(e) == []
