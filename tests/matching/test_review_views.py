"""The review pages: queue, a suggestion, judging, the judgement history and undo, the settings.
For each: another tenant's record is a 404, a role that may not review a 403, the wrong method a 405,
bad input a 400 naming the field (and nothing stored); every page and action audited."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from matching.models import Judgement, MatchSettings, Suggestion
from profiles.models import ProfileMember
from tests.admin.conftest import sign_in
from tests.profiles.helpers import ANA, ANNA, JOHN, JON, record, suggestion_between

pytestmark = pytest.mark.django_db
NOT_REVIEWERS = ["staff", "officer", "police_admin", "operator"]


@pytest.fixture
def as_user(client):
    from django.test import Client

    return lambda user: sign_in(Client(), user)


@pytest.fixture
def pairs(world):
    a = record(world, days_ago=10, persons=[JON], vehicles=[{"plate": "KBO812", "person_ref": "p1"}])
    b = record(world, store=world.acme_wlg, persons=[JOHN], vehicles=[{"plate": "KB0812", "person_ref": "p1"}],
               type="robbery")
    d = record(world, days_ago=20, persons=[ANA])
    e = record(world, days_ago=2, persons=[ANNA])
    return suggestion_between(b, a), suggestion_between(e, d)


def test_the_queue_shows_both_sides_and_the_explanation(world, as_user, pairs):
    jon, ana = pairs
    r = as_user(world.investigator).get("/review/")
    assert r.status_code == 200
    assert [c["id"] for c in r.context["cards"]] == [jon.pk, ana.pk]  # by score
    html = r.content.decode()
    assert "John Smyth" in html and "Jon Smith" in html and "KB0812 = KBO812 (OCR)" in html
    assert 'class="wf-row for" data-feature="plate"' in html
    row = AuditEntry.objects.get(action="suggestion.list")
    assert row.actor_id == world.investigator.pk and row.detail["status"] == "open"


def test_the_queue_filters_by_store_and_type_and_sorts_by_harm(world, as_user, pairs):
    jon, ana = pairs
    c = as_user(world.investigator)
    assert [x["id"] for x in c.get(f"/review/?store={world.acme_akl.pk}").context["cards"]] == [ana.pk]
    assert [x["id"] for x in c.get("/review/?type=robbery").context["cards"]] == [jon.pk]
    # Ana's pair becomes part of a harmful profile: sorting by harm puts it first.
    from profiles.models import Profile

    p = Profile.objects.create(organisation=world.acme, harm_score=80)
    Suggestion.objects.filter(pk=ana.pk).update(target_profile=p)
    assert [x["id"] for x in c.get("/review/?sort=harm").context["cards"]] == [ana.pk, jon.pk]
    assert [x["id"] for x in c.get("/review/?sort=score").context["cards"]] == [jon.pk, ana.pk]
    # An unknown store is simply not a filter the form accepts: the full queue, nothing broken.
    assert c.get(f"/review/?store={world.bmart_akl.pk}").status_code == 200


def test_the_queue_is_paginated(world, as_user, pairs, monkeypatch):
    import matching.views

    monkeypatch.setattr(matching.views, "PAGE_SIZE", 1)
    c = as_user(world.investigator)
    first, second = c.get("/review/"), c.get("/review/?page=2")
    assert first.context["page_obj"].paginator.num_pages == 2
    assert [x["id"] for x in first.context["cards"]] != [x["id"] for x in second.context["cards"]]


def test_another_retailer_sees_none_of_it(world, as_user, pairs):
    jon, _ = pairs
    c = as_user(world.other_investigator)
    assert c.get("/review/").context["cards"] == []
    assert c.get(f"/review/{jon.pk}/").status_code == 404
    assert c.post(f"/review/{jon.pk}/judge/", {"decision": "accept"}).status_code == 404
    assert not Judgement.objects.exists()


@pytest.mark.parametrize("persona", NOT_REVIEWERS)
def test_roles_that_do_not_review_get_403(world, as_user, pairs, persona):
    jon, _ = pairs
    c = as_user(getattr(world, persona))
    for url in ("/review/", f"/review/{jon.pk}/", "/review/judgements/", "/review/settings/"):
        assert c.get(url).status_code == 403, url
    assert c.post(f"/review/{jon.pk}/judge/", {"decision": "accept"}).status_code == 403
    assert not Judgement.objects.exists()


def test_a_sensitive_event_is_reviewed_only_with_the_grant(world, as_user):
    a = record(world, days_ago=10, persons=[JON], sensitive=True, sensitive_reason="minor involved")
    b = record(world, persons=[JOHN])
    s = suggestion_between(b, a)
    plain = as_user(world.investigator)
    assert plain.get("/review/").context["cards"] == []
    assert plain.get(f"/review/{s.pk}/").status_code == 404
    assert plain.post(f"/review/{s.pk}/judge/", {"decision": "accept"}).status_code == 404
    granted = as_user(world.investigator_sensitive)
    assert [c["id"] for c in granted.get("/review/").context["cards"]] == [s.pk]


def test_accepting_from_the_queue_links_and_returns_to_the_queue(world, as_user, pairs):
    jon, _ = pairs
    c = as_user(world.investigator)
    r = c.post(f"/review/{jon.pk}/judge/", {"decision": "accept", "reason": "same car", "next": "/review/?sort=harm"})
    assert r.status_code == 302 and r["Location"] == "/review/?sort=harm"
    assert ProfileMember.objects.count() == 2
    assert Judgement.objects.get().reason == "same car"
    assert AuditEntry.objects.filter(action="judgement.accept").count() == 1
    # An outside `next` is not followed.
    _, ana = pairs
    r = c.post(f"/review/{ana.pk}/judge/", {"decision": "unsure", "next": "https://evil.example/"})
    assert r["Location"] == "/review/"


@pytest.mark.parametrize("data,field", [({"decision": "maybe"}, "decision"), ({}, "decision"),
                                        ({"decision": "reject", "reason": "x" * 501}, "reason")])
def test_bad_judgement_input_is_a_400_naming_the_field(world, as_user, pairs, data, field):
    jon, _ = pairs
    r = as_user(world.investigator).post(f"/review/{jon.pk}/judge/", data)
    assert r.status_code == 400 and field in r.context["judgement_form"].errors
    jon.refresh_from_db()
    assert jon.status == "pending" and not Judgement.objects.exists()


def test_judging_twice_is_a_400_and_the_page_says_why(world, as_user, pairs):
    jon, _ = pairs
    c = as_user(world.investigator)
    c.post(f"/review/{jon.pk}/judge/", {"decision": "reject"})
    r = c.post(f"/review/{jon.pk}/judge/", {"decision": "accept"})
    assert r.status_code == 400 and b"already decided" in r.content
    assert Judgement.objects.count() == 1 and not ProfileMember.objects.exists()


def test_wrong_methods_are_405(world, as_user, pairs):
    jon, _ = pairs
    c = as_user(world.investigator)
    assert c.get(f"/review/{jon.pk}/judge/").status_code == 405
    judgement = Judgement.objects.create(organisation=world.acme, suggestion=jon, person=jon.person,
                                         decision="unsure", by=world.investigator)
    assert c.get(f"/review/judgements/{judgement.pk}/undo/").status_code == 405
    assert c.delete("/review/").status_code == 405


def test_history_and_undo(world, as_user, pairs):
    jon, _ = pairs
    c = as_user(world.investigator)
    c.post(f"/review/{jon.pk}/judge/", {"decision": "accept"})
    j = Judgement.objects.get()
    page = c.get("/review/judgements/")
    assert page.status_code == 200 and j.pk in page.context["undoable"]
    assert c.get(f"/review/{jon.pk}/").context["history"] == [j]
    # Another retailer cannot undo it; store staff may not.
    assert as_user(world.other_investigator).post(f"/review/judgements/{j.pk}/undo/").status_code == 404
    assert as_user(world.staff).post(f"/review/judgements/{j.pk}/undo/").status_code == 403
    assert ProfileMember.objects.count() == 2
    r = c.post(f"/review/judgements/{j.pk}/undo/", {"next": f"/review/{jon.pk}/"})
    assert r.status_code == 302 and r["Location"] == f"/review/{jon.pk}/"
    assert not ProfileMember.objects.exists()
    jon.refresh_from_db()
    assert jon.status == "pending"
    assert AuditEntry.objects.filter(action="judgement.undo", object_id=str(j.pk)).count() == 1
    # Undoing again changes nothing and says so.
    r = c.post(f"/review/judgements/{j.pk}/undo/", follow=True)
    assert b"already undone" in r.content and AuditEntry.objects.filter(action="judgement.undo").count() == 1


def test_an_admin_sets_the_review_threshold(world, as_user):
    c = as_user(world.admin)
    assert c.get("/review/settings/").status_code == 200
    r = c.post("/review/settings/", {"review_threshold": "0.8"})
    assert r.status_code == 302
    assert MatchSettings.objects.get(organisation=world.acme).review_threshold == 0.8
    row = AuditEntry.objects.get(action="match_settings.update")
    assert row.detail["review_threshold"] == {"before": 0.5, "after": 0.8}
    assert not MatchSettings.objects.filter(organisation=world.bmart).exists()


@pytest.mark.parametrize("value", ["2", "0", "abc", ""])
def test_a_bad_threshold_is_a_400_naming_the_field(world, as_user, value):
    r = as_user(world.admin).post("/review/settings/", {"review_threshold": value})
    assert r.status_code == 400 and "review_threshold" in r.context["form"].errors
    assert not AuditEntry.objects.filter(action="match_settings.update").exists()


def test_investigators_may_not_change_the_threshold(world, as_user):
    assert as_user(world.investigator).post("/review/settings/", {"review_threshold": "0.9"}).status_code == 403
    assert not MatchSettings.objects.filter(review_threshold=0.9).exists()


def cross_suggestion(world, their_name: str) -> Suggestion:
    """Both retailers opted in; B-Mart recorded the man first (named `their_name`), Acme sees him now."""
    for org in (world.acme, world.bmart):
        org.ctd_opt_in = True
        org.save()
    record(world, user=world.other_investigator, store=world.bmart_akl, days_ago=5,
           persons=[{**JON, "name": their_name}], vehicles=[{"plate": "KBO812", "person_ref": "p1"}])
    mine = record(world, persons=[JOHN], vehicles=[{"plate": "KB0812", "person_ref": "p1"}])
    s = Suggestion.objects.filter(person__event=mine, other_organisation=world.bmart).first()
    assert s is not None
    return s


def test_a_cross_retailer_suggestion_shows_nothing_of_the_other_side(world, as_user):
    s = cross_suggestion(world, "Jonathan Smithers-Secret")
    r = as_user(world.investigator).get("/review/")
    html = r.content.decode()
    assert "held by another participant" in html
    assert "Smithers-Secret" not in html and "KBO812" not in html.replace("KB0812", "")
    # A person of another retailer cannot join this retailer's profiles.
    r = as_user(world.investigator).post(f"/review/{s.pk}/judge/", {"decision": "accept"})
    assert r.status_code == 400 and "decision" in r.context["judgement_form"].errors
    assert not ProfileMember.objects.exists()


def test_the_queue_costs_the_same_number_of_queries_however_many_cards(world, as_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.profiles.helpers import JOHNNY

    c = as_user(world.investigator)

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            r = c.get("/review/")
        return len(r.context["cards"]), len(ctx.captured_queries)

    c.get("/review/")  # the first page view starts the audit chain and the session: not a cost per card
    record(world, days_ago=10, persons=[JON])
    record(world, days_ago=5, persons=[JOHN])
    few, few_queries = queries()
    record(world, days_ago=3, persons=[JOHNNY])
    record(world, days_ago=1, persons=[{**JOHNNY, "name": "Jonny Smith"}])
    many, many_queries = queries()
    assert many > few >= 1
    assert many_queries == few_queries


def test_a_pair_linked_meanwhile_leaves_the_queue(world, as_user):
    from tests.profiles.helpers import JOHNNY

    a = record(world, days_ago=10, persons=[JON])
    b = record(world, days_ago=5, persons=[JOHN])
    c = record(world, days_ago=1, persons=[JOHNNY])
    to_a, to_b = suggestion_between(c, a), suggestion_between(c, b)
    client = as_user(world.investigator)
    client.post(f"/review/{suggestion_between(b, a).pk}/judge/", {"decision": "accept"})
    client.post(f"/review/{to_a.pk}/judge/", {"decision": "accept"})
    to_b.refresh_from_db()
    assert to_b.status == "pending"  # until the events are re-matched...
    assert to_b.pk not in [x["id"] for x in client.get("/review/").context["cards"]]  # ...but not shown


def test_the_queue_puts_what_a_reviewer_can_act_on_first_and_filters_by_retailer(world, as_user, pairs):
    """Own-retailer cards before cross-retailer ones, whatever their scores; "Your retailer's only" and
    "Other retailers' only" narrow the queue (issue 10)."""
    cross = cross_suggestion(world, "Jonathan Smithers")
    c = as_user(world.investigator)
    ids = [x["id"] for x in c.get("/review/").context["cards"]]
    own = [i for i in ids if not Suggestion.objects.get(pk=i).other_organisation_id]
    assert ids[:len(own)] == own and cross.pk in ids[len(own):]
    assert cross.pk not in [x["id"] for x in c.get("/review/?retailer=own").context["cards"]]
    only_cross = [x["id"] for x in c.get("/review/?retailer=cross").context["cards"]]
    assert cross.pk in only_cross and all(Suggestion.objects.get(pk=i).other_organisation_id for i in only_cross)
    row = AuditEntry.objects.filter(action="suggestion.list").latest("at")
    assert row.detail["retailer"] == "cross"
    # Not a choice the form knows: the whole queue, nothing broken.
    assert c.get("/review/?retailer=everything").status_code == 200


def test_obvious_misses_are_rejected_together_all_or_none(world, as_user, pairs):
    jon, ana = pairs
    c = as_user(world.investigator)
    html = c.get("/review/").content.decode()
    assert 'form="bulk-reject"' in html and f'name="ids" value="{jon.pk}"' in html
    # One already decided: nothing of the batch is stored, and the page says which.
    Suggestion.objects.filter(pk=ana.pk).update(status="rejected")
    r = c.post("/review/bulk-reject/", {"ids": [jon.pk, ana.pk], "reason": "different people"})
    assert r.status_code == 400 and f"Suggestion {ana.pk}" in r.content.decode() and 'data-field="suggestion"' in r.content.decode()
    assert not Judgement.objects.exists()
    Suggestion.objects.filter(pk=ana.pk).update(status="pending")
    r = c.post("/review/bulk-reject/", {"ids": [jon.pk, ana.pk], "reason": "different people", "next": "/review/"})
    assert r.status_code == 302 and r["Location"] == "/review/"
    assert set(Judgement.objects.values_list("suggestion_id", "decision", "reason")) == {
        (jon.pk, "reject", "different people"), (ana.pk, "reject", "different people")}
    assert AuditEntry.objects.filter(action="judgement.reject").count() == 2


@pytest.mark.parametrize("ids", [[], ["x"], list(range(1, 102))])
def test_bulk_reject_bad_input_is_a_400_naming_the_field(world, as_user, pairs, ids):
    r = as_user(world.investigator).post("/review/bulk-reject/", {"ids": ids})
    assert r.status_code == 400 and 'data-field="ids"' in r.content.decode()
    assert not Judgement.objects.exists()


def test_bulk_reject_of_another_tenants_suggestion_is_a_404_and_a_low_role_a_403(world, as_user, pairs):
    jon, _ana = pairs
    assert as_user(world.other_investigator).post("/review/bulk-reject/", {"ids": [jon.pk]}).status_code == 404
    assert as_user(world.staff).post("/review/bulk-reject/", {"ids": [jon.pk]}).status_code == 403
    assert as_user(world.investigator).get("/review/bulk-reject/").status_code == 405
    assert not Judgement.objects.exists()


def test_a_cross_retailer_pair_of_people_is_one_card_and_one_rejection(world, as_user):
    """A profile here and a person seen several times at another retailer make a row per pair of
    records (matching.cross); the queue shows one card for the two people, and rejecting it answers
    for every row of the pair (issue 10: a queue of a realistic size)."""
    from tests.profiles.helpers import JOHNNY

    for org in (world.acme, world.bmart):
        org.ctd_opt_in = True
        org.save()
    plate = [{"plate": "KBO812", "person_ref": "p1"}]
    theirs = [record(world, user=world.other_investigator, store=world.bmart_akl, days_ago=days,
                     persons=[{**JON, "name": "Jonathan Smithers"}], vehicles=plate) for days in (30, 20)]
    mine = [record(world, days_ago=days, persons=[p], vehicles=plate) for days, p in ((10, JOHN), (5, JOHNNY))]
    c = as_user(world.investigator)
    assert len(c.get("/review/?retailer=cross").context["cards"]) == 4  # no profiles yet: four pairs of people
    own = Suggestion.objects.get(person__event=mine[1], target_person__event=mine[0])
    assert c.post(f"/review/{own.pk}/judge/", {"decision": "accept"}).status_code == 302  # one profile now
    assert len(c.get("/review/?retailer=cross").context["cards"]) == 2  # my profile × each of their records
    # ...and once they linked their two records, the two people are one card.
    s = Suggestion.objects.get(person__event=theirs[1], target_person__event=theirs[0])
    assert as_user(world.other_investigator).post(f"/review/{s.pk}/judge/", {"decision": "accept"}).status_code == 302
    rows = Suggestion.objects.filter(organisation=world.acme, other_organisation=world.bmart, status="pending")
    assert rows.count() == 4
    cards = [x for x in c.get("/review/?retailer=cross").context["cards"]]
    assert len(cards) == 1
    shown = cards[0]["suggestion"]
    assert cards[0]["pair_rows"] == rows.count() and shown.score == max(rows.values_list("score", flat=True))
    assert f"One card for {rows.count()} possible matches" in c.get("/review/?retailer=cross").content.decode()
    r = c.post(f"/review/{shown.pk}/judge/", {"decision": "reject", "reason": "Different man on CCTV"})
    assert r.status_code in (200, 302)
    assert not Suggestion.objects.filter(organisation=world.acme, other_organisation=world.bmart,
                                         status__in=("pending", "unsure")).exists()
    assert c.get("/review/?retailer=cross").context["cards"] == []
    # Undo brings the pair back, whole, once the events are re-matched.
    from matching.models import Judgement
    from tests.profiles.helpers import rematch

    j = Judgement.objects.get(suggestion=shown, decision="reject")
    assert c.post(f"/review/judgements/{j.pk}/undo/").status_code in (200, 302)
    rematch(*mine)
    assert len(c.get("/review/?retailer=cross").context["cards"]) == 1


def test_a_card_stays_in_the_queue_when_only_one_side_has_a_profile(world, as_user):
    """Linking two records must not hide the cards between one of them and a third, unlinked record
    (the queue compared the two sides' profile ids, NULL for the unlinked side, which hid the card)."""
    from tests.profiles.helpers import JOHNNY

    a = record(world, days_ago=10, persons=[JON])
    c = record(world, days_ago=5, persons=[JOHNNY])
    b = record(world, days_ago=1, persons=[JOHN])
    client = as_user(world.investigator)
    assert client.post(f"/review/{suggestion_between(b, a).pk}/judge/", {"decision": "accept"}).status_code == 302
    shown = [x["id"] for x in client.get("/review/").context["cards"]]
    assert suggestion_between(b, c).pk in shown  # b is in a profile now, c is not
