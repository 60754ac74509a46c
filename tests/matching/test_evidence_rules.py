"""Evidence the model reads beyond the pair's own fields (issue 9, "Matching that generalises"):

- a first name already says the gender, so agreeing on it is not counted twice;
- a co-offender seen with both records (an offender group) is evidence of its own;
- a card that a likelier card of the same person rules out is held to what both could be;
- a mark's place or a family name shared by too many people still finds a repeat months away,
  through the compound key of it with gender, age band and region.

Events are recorded through event_submit and matched by the engine, as on a live system."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from matching import engine
from matching.keys import keys_for
from matching.models import HubKey, Suggestion
from matching.records import load_records, record_from_values
from matching.scoring import Params, Scored, compare
from tests.matching.test_generalises import card_to, likely, reason
from tests.profiles.helpers import record

pytestmark = pytest.mark.django_db


def _record(**fields):
    values = {"id": fields.pop("id"), "event_id": fields.pop("event_id"), "role": "offender", "name": "", "aliases": [],
              "age_band": "", "gender": "", "height_cm": None, "build": "", "hair": "", "clothing": "", "marks": "",
              "event__organisation_id": 1, "event__store_id": 1, "event__store__region": "AKL",
              "event__occurred_at": timezone.now() - dt.timedelta(days=fields.pop("days_ago", 0))}
    values.update(fields)
    return record_from_values(values)


def levels_of(a, b) -> dict[str, str]:
    return {lv.feature: lv.level for lv in compare(a, b)}


def test_a_shared_first_name_says_the_gender_so_it_is_not_counted_again():
    a = _record(id=1, event_id=1, name="Aroha Smith", gender="female")
    b = _record(id=2, event_id=2, name="Aroha Smith", gender="female")
    c = _record(id=3, event_id=3, name="Mere Smith", gender="female")
    d = _record(id=4, event_id=4, name="Aroha Smith", gender="male")
    assert levels_of(a, b)["gender"] == "null"  # the name has said it
    assert levels_of(a, c)["gender"] == "same"  # other first names: the gender is evidence
    assert levels_of(a, d)["gender"] == "else"  # a disagreement still counts against


def test_a_card_on_a_shared_first_name_lists_no_gender(world, crowd):
    first = record(world, days_ago=10, persons=[{"name": "Aroha Tipoki", "gender": "female", "age_band": "25-34"}])
    second = record(world, persons=[{"name": "Aroha Tipoki", "gender": "female", "age_band": "25-34"}])
    s = card_to(second, first)
    assert likely(s)
    assert not any(r["feature"] == "gender" for r in s.reasons)
    assert sum(r["weight"] for r in s.reasons) == pytest.approx(s.weight, abs=0.01)


def test_a_co_offender_seen_with_both_is_evidence(world, crowd):
    """Two unnamed men described alike, each with Rawiri Tane: the card between them says so and
    weighs more than the same pair would with different co-offenders."""
    man = {"gender": "male", "age_band": "25-34", "build": "slim", "marks": "scar on chin"}
    first = record(world, days_ago=40, persons=[man, {"name": "Rawiri Tane", "role": "accomplice"}])
    second = record(world, persons=[man, {"name": "RAWIRI TANE", "role": "accomplice"}])
    [mine] = [p for p in second.persons.all() if not p.name]
    [theirs] = [p for p in first.persons.all() if not p.name]
    s = Suggestion.objects.get(person=mine, target_person=theirs)
    r = reason(s, "companion")
    assert r["level"] == "same" and r["weight"] > 2 and r["detail"] == "the same co-offender (by name) was with both"

    other = record(world, days_ago=41, persons=[man, {"name": "Nikau Walker", "role": "accomplice"}])
    [stranger] = [p for p in other.persons.all() if not p.name]
    t = Suggestion.objects.filter(person=mine, target_person=stranger).first()
    assert t is None or (reason(t, "companion")["level"] == "else" and t.score < s.score)

    records = load_records([mine.pk, theirs.pk])
    assert records[mine.pk].companions == records[theirs.pk].companions  # "RAWIRI TANE" = "Rawiri Tane"


def test_a_co_offender_who_leaves_the_event_leaves_the_evidence(world, crowd):
    """Corrected to a witness, Rawiri Tane no longer counts as the man's co-offender: the man's
    record, rewritten with the event, says so (and the card between the two men loses the reason)."""
    from events.interchange import EventInput
    from events.services import event_update
    from matching.engine import run_match_state
    from matching.records import load_match_records

    man = {"gender": "male", "age_band": "25-34", "marks": "scar on chin"}
    first = record(world, days_ago=40, persons=[man, {"name": "Rawiri Tane", "role": "accomplice"}])
    second = record(world, persons=[man, {"name": "Rawiri Tane", "role": "accomplice"}])
    s = EventInput(data={"store": "ACME-001", "type": "theft", "occurred_at": second.occurred_at.isoformat(),
                         "persons": [{"ref": "p1", **man}, {"ref": "p2", "name": "Rawiri Tane", "role": "witness"}]},
                   context={"organisation": world.acme})
    s.is_valid(raise_exception=True)
    event_update(actor=world.investigator, event=second, data=s.validated_data)
    run_match_state(second.pk)
    mine = second.persons.get(ref="p1")
    assert load_records([mine.pk])[mine.pk].companions == frozenset()
    assert load_match_records([mine.pk])[mine.pk].companions == frozenset()
    theirs = first.persons.get(ref="p1")
    card = Suggestion.objects.filter(person=mine, target_person=theirs).exclude(status="superseded").first()
    assert card is None or not any(r["feature"] == "companion" for r in card.reasons)


def test_a_card_a_likelier_card_rules_out_is_held_below_likely():
    """P(this = Y) ≤ P(this ≠ X) + P(X = Y): with X at 0.99 and X plainly not Y, Y is no likely card."""
    params = Params.default()
    x = _record(id=2, event_id=2, name="Aroha Smith", gender="female", age_band="25-34", height_cm=165, build="slim")
    y = _record(id=3, event_id=3, name="Hemi Brown", gender="male", age_band="55-64", height_cm=190, build="heavy")
    x_card = engine.Candidate(2, None, Scored(weight=6.6, probability=0.99, reasons=[]), x)
    y_scored = Scored(weight=1.2, probability=0.7, reasons=[{"feature": "prior", "weight": 1.2}])
    held = engine._contradicted(y, y_scored, [x_card], params=params, partner=None, tf={}, likely=0.5,
                                sku_window_days=14)
    assert held.probability < 0.5
    r = held.reasons[-1]
    assert r["feature"] == "contradiction" and "Aroha Smith" in r["detail"]
    assert sum(x["weight"] for x in held.reasons) == pytest.approx(held.weight, abs=0.01)

    alike = _record(id=4, event_id=4, name="Aroha Smith", gender="female", age_band="25-34", height_cm=166, build="slim")
    kept = engine._contradicted(alike, y_scored, [x_card], params=params, partner=None, tf={}, likely=0.5,
                                sku_window_days=14)
    assert kept is y_scored  # X and this one may well be the same person: nothing to hold
    unsure = engine.Candidate(2, None, Scored(weight=-1, probability=0.33, reasons=[]), x)
    assert engine._contradicted(y, y_scored, [unsure], params=params, partner=None, tf={}, likely=0.5,
                                sku_window_days=14) is y_scored  # only a likely card rules others out


def test_a_common_mark_place_still_finds_a_repeat_months_away(world, crowd):
    """"Scar on forehead" is a hub (over fifty people have one), so only its records nearest in time
    are compared; the man who had one 300 days ago is found through scar@forehead with his gender,
    age band and region, and gets a card."""
    from matching.services import rematch_organisation

    old = record(world, days_ago=300, match=False, persons=[{"gender": "male", "age_band": "45-54",
                                                             "marks": "scar on forehead"}])
    for i in range(70):  # strangers with one too, nearer in time, none a man of 45-54
        record(world, days_ago=100 + i, match=False, persons=[{
            "gender": "female" if i % 3 else "male", "age_band": ["18-24", "25-34", "35-44"][i % 3],
            "marks": "scar on forehead"}])
    rematch_organisation(organisation_id=world.acme.pk)
    assert HubKey.objects.filter(kind="mark", value="scar@forehead").exists()

    person = {"gender": "male", "age_band": "45-54", "marks": "scar on forehead"}
    new = record(world, match=False, persons=[person])
    [rec] = load_records([new.persons.get().pk]).values()
    keys = {(str(k), v) for k, v in keys_for(rec)}
    assert ("mark", "scar@forehead&m45-54AKL") in keys
    orgs = engine.partner_organisations(world.acme.pk)
    old_person = old.persons.get().pk
    engine.store_keys([rec], sku_window_days=14)
    found, _tf, hubs = engine.find_candidates(rec, keys, organisation_ids=orgs, hub_cap=50)
    assert ("mark", "scar@forehead") in {(str(k), v) for k, v in hubs} and old_person in found
    plain = {k for k in keys if "&" not in k[1]}
    found, _tf, _hubs = engine.find_candidates(rec, plain, organisation_ids=orgs, hub_cap=50)
    assert old_person not in found  # without it, only the records nearest in time: strangers

    engine.run_match_state(new.pk)
    notes = [r["detail"] for s in Suggestion.objects.filter(person__event=new) for r in s.reasons if r["feature"] == "hub"]
    assert not any("&" in d for d in notes)  # the compound key is blocking's own: never shown
