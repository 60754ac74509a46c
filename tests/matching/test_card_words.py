"""What a suggestion card says, in words a reviewer reads (issue 10, "The explanation's numbers"):
the total is named as log-odds beside the probability; days apart are counted right; the other
side is called earlier or later by when it happened; a common value is said plainly, never as a
key code, for suggestions stored before and after the wording changed."""

from __future__ import annotations

import pytest

from matching.engine import hub_words
from matching.scoring import days_apart
from matching.selectors_review import waterfall
from tests.admin.conftest import sign_in
from tests.profiles.helpers import ANA, ANNA, record, suggestion_between

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("days", "said"), [(0.2, "the same day"), (1.1, "1 day apart"), (2, "2 days apart"),
                                            (40.4, "40 days apart")])
def test_days_apart_are_counted_right(days, said):
    assert days_apart(days) == said


@pytest.mark.parametrize(("kind", "value", "near", "said"), [
    ("mark", "scar@chin", 16, "A scar on the chin is common (more people have it than the matcher compares): "
                              "only the 16 records nearest in time that share it were compared"),
    ("mark", "tattoo:star", 16, "A star tattoo is common"),
    ("name_token", "f:SM0", 16, "This family name is common"),
    ("plate", "HRE555", 16, "Plate HRE555 is common"),
    ("desc", "male|25-34|17|heavy|AKL", 0, "This description (gender, age band, height, build) is shared by too many "
                                           "people to narrow the search, so it was not used to find matches"),
    ("sku", "RAZOR-5@12/a2001", 0, "Product RAZOR-5 at this store in the same fortnight is shared"),
])
def test_a_common_value_is_said_in_words(kind, value, near, said):
    assert hub_words(kind, value, near=near).startswith(said)


def test_notes_of_suggestions_stored_before_the_wording_are_said_in_words_too():
    old = [{"feature": "prior", "weight": -8.0},
           {"feature": "hub", "weight": 0.0,
            "detail": "mark value 'scar@chin' is shared by too many people: only the 16 records nearest in time were compared"},
           {"feature": "hub", "weight": 0.0, "detail": "desc value 'female|18-24|16|slim|AKL' is shared by too many "
                                                       "people and was not used"}]
    notes = waterfall(old).notes
    assert notes[0].startswith("A scar on the chin is common") and "scar@chin" not in notes[0]
    assert notes[1].startswith("This description") and "|" not in notes[1]


def test_the_card_names_the_total_as_log_odds_and_the_other_side_by_its_time(world, client):
    earlier = record(world, days_ago=20, persons=[ANA])
    later = record(world, days_ago=2, persons=[ANNA])
    s = suggestion_between(later, earlier)
    html = sign_in(client, world.investigator).get(f"/review/{s.pk}/").content.decode()
    assert "Earlier event" in html and "Later event" not in html
    assert "Match probability" not in html and "log-odds" in html and "match probability <strong>" in html
    assert "18 days apart" in html

    # The same pair suggested the other way round (as a rematch or a correction can leave it).
    s.person, s.target_person = s.target_person, s.person
    s.save(update_fields=["person", "target_person"])
    html = client.get(f"/review/{s.pk}/").content.decode()
    assert "Later event" in html and "Earlier event" not in html


def test_history_and_audit_name_the_people_and_their_events(world, client):
    """"Not the same person: Ana Lopez and unnamed offender (female, 35-44)", with each event's
    reference in the history; never "Offender p1" or a user id."""
    from audit.models import AuditEntry
    from matching.services_review import judgement_record

    first = record(world, days_ago=20, persons=[ANA])
    unnamed = {k: v for k, v in ANNA.items() if k != "name"} | {"clothing": "green puffer jacket, jeans"}
    second = record(world, days_ago=2, persons=[{**unnamed, "marks": "scar on left cheek"}])
    s = suggestion_between(second, first)
    judgement_record(actor=world.investigator, suggestion=s, decision="reject")
    row = AuditEntry.objects.get(action="judgement.reject")
    assert row.object_repr == ("Not the same person: unnamed offender (female, 35-44, green puffer jacket, "
                               "scar on left cheek) and Ana Lopez")
    html = sign_in(client, world.investigator).get("/review/judgements/").content.decode()
    assert "Ana Lopez" in html and "unnamed offender (female, 35-44" in html
    assert first.reference in html and second.reference in html and "Offender p1" not in html
