"""Matching that generalises (issue 9): the repeats an independent world showed missed — a nickname
and its name, a mark written another way, a plate in two formats with no name, an identical name
with a descriptor missing — each get a card a reviewer can read; a prolific offender's own plate is
evidence, not a hub; near misses are shown as possible cards, after the likely ones.

Events are recorded through event_submit and matched by the engine, as on a live system, among a
crowd of other people (so that the prior is a real one, not that of a database of three records)."""

from __future__ import annotations

import pytest

from matching.models import HubKey, MatchSettings, Suggestion
from tests.admin.conftest import sign_in
from tests.matching.conftest import AGES
from tests.profiles.helpers import record, rematch

pytestmark = pytest.mark.django_db


def cards(event) -> list[Suggestion]:
    return list(Suggestion.objects.filter(person__event=event).order_by("-score"))


def card_to(event, other) -> Suggestion:
    [s] = [s for s in cards(event) if s.target_person.event_id == other.pk]
    return s


def reason(s: Suggestion, feature: str) -> dict:
    return next(r for r in s.reasons if r["feature"] == feature)


def likely(s: Suggestion) -> bool:
    return s.score >= MatchSettings._meta.get_field("review_threshold").default


@pytest.mark.parametrize(("before", "after", "said"), [
    ("Shelly Ngata", "Michelle Ngata", "Michelle Ngata ~ Shelly Ngata (Michelle ~ Shelly, nickname)"),
    ("Jess Tamihana", "JESSICA TAMIHANA", "Jessica Tamihana ~ Jess Tamihana (Jessica ~ Jess, nickname)"),
    ("Jamie Walker", "James Walker", "James Walker ~ Jamie Walker (James ~ Jamie, nickname)"),
    ("Dazza Hohaia", "Darren Hohaia", "Darren Hohaia ~ Dazza Hohaia (Darren ~ Dazza, nickname)"),  # local form
])
def test_a_nickname_and_the_full_name_get_a_likely_card(world, crowd, before, after, said):
    first = record(world, days_ago=30, persons=[{"name": before, "gender": "female"}])
    second = record(world, persons=[{"name": after, "gender": "female"}])
    s = card_to(second, first)
    assert likely(s)
    assert reason(s, "name")["level"] == "nickname" and reason(s, "name")["detail"] == said


def test_a_name_that_is_no_nickname_of_the_other_is_no_likely_card(world, crowd):
    first = record(world, days_ago=30, persons=[{"name": "Shelly Ngata", "gender": "female"}])
    second = record(world, store=world.acme_wlg, persons=[{"name": "Margaret Ngata", "gender": "female"}])
    assert not any(likely(s) for s in cards(second))
    assert all(reason(s, "name")["level"] == "family" for s in cards(second) if s.target_person.event_id == first.pk)


@pytest.mark.parametrize(("before", "after", "said"), [
    ("star tattoo left hand", "tattoo of a star on left hand", "star tattoo, left hand = star tattoo, left hand"),
    ("neck tattoo (snake)", "snake tattoo on neck", "snake tattoo, neck = snake tattoo, neck"),
    ("tattoo of a snake, neck", "neck tattoo (snake)", "snake tattoo, neck = snake tattoo, neck"),
])
def test_a_mark_written_another_way_gets_a_likely_card(world, crowd, before, after, said):
    person = {"gender": "male", "age_band": "25-34"}
    first = record(world, days_ago=20, persons=[{**person, "marks": before}])
    second = record(world, persons=[{**person, "marks": after}])
    s = card_to(second, first)
    assert likely(s)
    assert reason(s, "mark")["level"] == "strong" and reason(s, "mark")["detail"] == said


def test_the_same_mark_on_the_other_side_counts_for_less(world, crowd):
    person = {"gender": "male", "age_band": "25-34"}
    left = record(world, days_ago=20, persons=[{**person, "marks": "star tattoo left hand"}])
    again = record(world, days_ago=10, persons=[{**person, "marks": "tattoo of a star on his left hand"}])
    other_side = record(world, persons=[{**person, "marks": "star tattoo on right hand"}])
    same = card_to(again, left)
    other = [s for s in cards(other_side) if s.target_person.event_id == left.pk]
    assert all(reason(s, "mark")["level"] == "some" and "other side" in reason(s, "mark")["detail"] for s in other)
    assert all(s.score < same.score for s in other)


def test_a_plate_in_two_formats_with_no_name_gets_a_likely_card(world, crowd):
    first = record(world, days_ago=15, persons=[{"gender": "male"}], vehicles=[{"plate": "rux246"}])
    second = record(world, store=world.acme_wlg, persons=[{"gender": "male"}], vehicles=[{"plate": "RUX 246"}])
    s = card_to(second, first)
    assert likely(s)
    assert reason(s, "plate") == {**reason(s, "plate"), "level": "exact", "detail": "RUX246 = RUX246"}
    assert {r["feature"] for r in s.reasons} >= {"prior", "plate", "gender", "place", "time"}


def test_identical_full_names_with_an_age_band_missing_get_a_likely_card(world, crowd):
    first = record(world, days_ago=40, persons=[{"name": "Aroha Tipene", "gender": "female", "age_band": "25-34"}])
    second = record(world, persons=[{"name": "Aroha Tipene", "gender": "female"}])
    s = card_to(second, first)
    assert likely(s) and reason(s, "name")["level"] == "exact"
    assert "age" not in {r["feature"] for r in s.reasons}  # unknown: no row, no weight


def test_a_missing_descriptor_does_not_count_against(world, crowd):
    """A descriptor missing on one side weighs nothing: the pair scores what the pair with it
    disagreeing scores, less that disagreement (both computed among the same records)."""
    base = {"name": "Rawiri Potae", "gender": "male", "height_cm": 178}
    first = record(world, days_ago=40, persons=[{**base, "age_band": "25-34", "build": "slim"}])
    missing = record(world, days_ago=20, persons=[{**base, "age_band": "25-34"}])  # no build
    disagrees = record(world, days_ago=20, persons=[{**base, "age_band": "25-34", "build": "heavy"}])
    rematch(missing, disagrees)
    a, b = card_to(missing, first), card_to(disagrees, first)
    assert "build" not in {r["feature"] for r in a.reasons}
    assert reason(b, "build")["weight"] < 0
    assert a.weight == pytest.approx(b.weight - reason(b, "build")["weight"], abs=1e-3)
    assert likely(a)


def test_a_prolific_offenders_own_plate_is_the_strongest_evidence_not_a_hub(world, crowd):
    """A plate seen in ninety events of one unlinked person (no profile yet: each event is a record)
    is not a hub — the records agree on who they are, so they count as one person — while a hire
    plate seen with sixty different people is one. The new sighting gets a likely card on the plate
    alone, and the plate weighs far more than the hire plate does."""
    from matching.services import rematch_organisation

    for i in range(90):  # the same man, his age band estimated two ways, never named, the car his alone
        record(world, days_ago=100 + i, match=False, persons=[{"gender": "male", "age_band": AGES[1 + i % 2]}],
               vehicles=[{"plate": "ZKT901"}])
    for i in range(60):  # a hire car: a different named driver each time
        record(world, days_ago=100 + i, match=False, persons=[{"name": f"{GIVEN[i % 12]} {FAMILY[i // 12]}",
                                                                  "gender": "female"}], vehicles=[{"plate": "HRE555"}])
    rematch_organisation(organisation_id=world.acme.pk)
    assert not HubKey.objects.filter(kind="plate", value="2KT901").exists()
    assert HubKey.objects.filter(kind="plate", value="HRE555").exists()

    seen = record(world, persons=[{"gender": "male", "age_band": "25-34"}], vehicles=[{"plate": "zkt 901"}])
    top = cards(seen)[0]
    assert likely(top) and top.target_person.event.vehicles.get().plate_normalised == "ZKT901"
    assert reason(top, "plate")["detail"] == "ZKT901 = ZKT901"
    assert not any(r["feature"] == "hub" for r in top.reasons)
    hired = record(world, persons=[{"name": "Kim Lee", "gender": "female"}], vehicles=[{"plate": "HRE555"}])
    assert not any(likely(s) for s in cards(hired))
    hire_plate = [reason(s, "plate")["weight"] for s in cards(hired)]
    assert all(w < reason(top, "plate")["weight"] - 4 for w in hire_plate)


GIVEN = ["Ana", "Mele", "Sione", "Tui", "Kiri", "Lani", "Nina", "Rose", "Ella", "Mia", "Zoe", "Ivy"]
FAMILY = ["Fale", "Moana", "Pere", "Rangi", "Toa"]


def test_possible_cards_follow_the_likely_ones_and_say_so(world, crowd, client):
    """A near miss (the same family name, given names that conflict, a description that agrees) is a
    possible card: kept, ranked after the likely one, labelled possible in the queue."""
    person = {"gender": "male", "age_band": "25-34", "height_cm": 181, "build": "heavy", "hair": "shaved",
              "clothing": "black hoodie, blue jeans"}
    same = record(world, days_ago=6, persons=[{**person, "name": "Tama Rewiti"}],
                  vehicles=[{"plate": "QWE123", "person_ref": "p1"}])
    brother = record(world, days_ago=5, persons=[{**person, "name": "Hemi Rewiti"}])
    new = record(world, persons=[{**person, "name": "Tama Rewiti"}], vehicles=[{"plate": "QWE123", "person_ref": "p1"}])
    first, second = cards(new)[:2]
    assert first.target_person.event_id == same.pk and likely(first)
    assert second.target_person.event_id == brother.pk and not likely(second) and second.score >= 0.1
    assert reason(second, "identity")["detail"] == "no name, plate or mark agrees: at most a possible match"
    assert sum(r["weight"] for r in second.reasons) == pytest.approx(second.weight, abs=0.01)  # still adds up

    html = sign_in(client, world.investigator).get("/review/").content.decode()
    likely_at, possible_at = html.index(f'id="suggestion-{first.pk}"'), html.index(f'id="suggestion-{second.pk}"')
    assert likely_at < possible_at
    card = html[possible_at:html.index("</article>", possible_at)]
    assert 'data-strength="possible"' in card and "Possible match" in card and "A near miss" in card
    assert "Likely match" in html[likely_at:html.index("</article>", likely_at)]


def test_a_possible_level_set_at_the_review_threshold_keeps_only_likely_cards(world, crowd):
    MatchSettings.objects.create(organisation=world.acme, possible_threshold=0.5)
    person = {"gender": "male", "age_band": "25-34", "height_cm": 181, "build": "heavy", "hair": "shaved"}
    record(world, days_ago=5, persons=[{**person, "name": "Hemi Rewiti"}])
    new = record(world, persons=[{**person, "name": "Tama Rewiti"}])
    assert cards(new) == []

