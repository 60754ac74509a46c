"""Connect the Dots across retailers: only between retailers that both opted in; both sides see the
match or neither does (each side scoring the pair with its own weights and threshold, both rows
written by the run that found it); opting out stops new ones and hides the open ones."""

from __future__ import annotations

import pytest

from matching.cross import cross_match_id
from matching.engine import partner_organisations, settings_for
from matching.models import FeatureWeight, Judgement, Suggestion
from tests.sharing.helpers import (
    ACME_PERSON,
    ACME_PLATE,
    BMART_PERSON,
    BMART_PLATE,
    cross_pair,
    opt_in,
    record,
    rerun,
    suggestions_of,
)

pytestmark = pytest.mark.django_db


def cross_of(event):
    return [s for s in suggestions_of(event) if s.other_organisation_id]


def pairs_by_side() -> dict[str, list[tuple[int, int, int]]]:
    """Every cross-retailer row, any status, by its pair: (organisation, person, target person)."""
    out: dict[str, list[tuple[int, int, int]]] = {}
    for s in Suggestion.objects.unscoped().filter(other_organisation__isnull=False):
        out.setdefault(cross_match_id(s.person_id, s.target_person_id), []).append(
            (s.organisation_id, s.person_id, s.target_person_id))
    return out


def assert_every_row_has_one_counterpart():
    for rows in pairs_by_side().values():
        assert len(rows) == 2, rows
        (org_a, p, q), (org_b, q2, p2) = sorted(rows)
        assert org_a != org_b and (p, q) == (p2, q2)


def test_partner_organisations_needs_both_opt_ins(world):
    assert partner_organisations(world.acme.pk) == [world.acme.pk]
    opt_in(world.acme)
    assert partner_organisations(world.acme.pk) == [world.acme.pk]  # nobody else opted in
    assert partner_organisations(world.bmart.pk) == [world.bmart.pk]  # B-Mart did not opt in
    opt_in(world.bmart)
    assert partner_organisations(world.acme.pk) == [world.acme.pk, world.bmart.pk]
    assert partner_organisations(world.bmart.pk) == [world.bmart.pk, world.acme.pk]
    world.bmart.is_active = False
    world.bmart.save(update_fields=["is_active"])
    assert partner_organisations(world.acme.pk) == [world.acme.pk]


@pytest.mark.parametrize("opted", ["acme", "bmart", "neither"])
def test_no_cross_suggestions_unless_both_opted_in(world, opted):
    if opted != "neither":
        opt_in(world.orgs[opted])
    # Either order of recording: B-Mart first then Acme, and then another B-Mart event after Acme's.
    b1 = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=5)
    a = record(world.acme_akl, ACME_PERSON, ACME_PLATE, days_ago=3)
    b2 = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=1)
    assert cross_of(a) == [] and cross_of(b1) == [] and cross_of(b2) == []
    assert not Suggestion.objects.filter(other_organisation__isnull=False).exists()
    # Same-retailer matching goes on as before.
    assert [s.target_person.event_id for s in suggestions_of(b2)] == [b1.pk]


def test_both_opted_in_the_side_whose_run_found_it_gets_the_suggestion(world):
    acme_event, bmart_event, s = cross_pair(world)
    assert (s.organisation_id, s.other_organisation_id) == (world.acme.pk, world.bmart.pk)
    assert s.person.event_id == acme_event.pk and s.target_person.event_id == bmart_event.pk
    assert s.score > 0.9
    assert {r["feature"] for r in s.reasons} >= {"name", "plate", "mark"}


def test_the_other_side_gets_its_own_suggestion_in_the_same_run(world, django_capture_on_commit_callbacks):
    opt_in(world.acme, world.bmart)
    bmart_event = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=3)
    assert cross_of(bmart_event) == []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        acme_event = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    [s] = cross_of(acme_event)
    # B-Mart's own suggestion about the pair is there at once, written by Acme's run: no job to wait for.
    [mirror] = cross_of(bmart_event)
    assert callbacks == []
    assert (mirror.organisation_id, mirror.other_organisation_id) == (world.bmart.pk, world.acme.pk)
    assert mirror.person.event_id == bmart_event.pk and mirror.target_person_id == s.person_id
    assert s.target_person_id == mirror.person_id and s.target_profile_id is None and mirror.target_profile_id is None
    assert mirror.status == "pending" and mirror.score >= settings_for(world.bmart.pk).review_threshold
    assert {r["feature"] for r in mirror.reasons} >= {"name", "plate", "mark"}
    assert_every_row_has_one_counterpart()
    # Re-running either side keeps exactly one suggestion each (no duplicates, nothing superseded).
    rerun(acme_event)
    rerun(bmart_event)
    assert [x.pk for x in cross_of(acme_event)] == [s.pk]
    assert [x.pk for x in cross_of(bmart_event)] == [mirror.pk]
    assert [x.status for x in cross_of(acme_event) + cross_of(bmart_event)] == ["pending", "pending"]
    assert_every_row_has_one_counterpart()


def test_the_other_side_scores_the_pair_with_its_own_weights(world):
    opt_in(world.acme, world.bmart)
    # B-Mart's reviewers have taught its engine that a plate read one character off is weak evidence.
    FeatureWeight.objects.create(organisation=world.bmart, feature="plate", level="ocr", m=0.05, u=0.01,
                                 source="judgements")
    bmart_event = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=3)
    acme_event = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    [s], [mirror] = cross_of(acme_event), cross_of(bmart_event)
    weight = {x.organisation_id: next(r["weight"] for r in x.reasons if r["feature"] == "plate") for x in (s, mirror)}
    assert weight[world.bmart.pk] < weight[world.acme.pk]
    assert mirror.score < s.score


def test_a_pair_the_other_side_would_not_keep_reaches_neither_queue(world):
    opt_in(world.acme, world.bmart)
    conf = settings_for(world.bmart.pk)
    conf.review_threshold = 0.9999999999
    conf.save()
    bmart_event = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=3)
    acme_event = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    assert cross_of(acme_event) == [] and cross_of(bmart_event) == []
    # Acme's own threshold is untouched: the pair would have been kept had B-Mart kept it too.
    conf.review_threshold = 0.5
    conf.save()
    rerun(acme_event)
    assert len(cross_of(acme_event)) == len(cross_of(bmart_event)) == 1
    assert_every_row_has_one_counterpart()


def test_a_pair_found_by_both_sides_at_once_keeps_one_row_each(world):
    """Two runs of the two retailers finding each other at once (neither sees the other's rows until
    it commits) leave a duplicate behind the first; the second, serialised by the pair's lock, drops it."""
    acme_event, bmart_event, s = cross_pair(world)
    [mirror] = cross_of(bmart_event)
    duplicate = Suggestion.objects.create(
        organisation=world.bmart, person_id=mirror.person_id, target_person_id=mirror.target_person_id,
        other_organisation=world.acme, score=mirror.score, weight=mirror.weight, reasons=mirror.reasons)
    rerun(acme_event)
    assert [x.pk for x in cross_of(bmart_event)] == [mirror.pk]
    assert not Suggestion.objects.filter(pk=duplicate.pk).exists()
    assert_every_row_has_one_counterpart()


def test_a_counterpart_in_a_profile_is_still_a_pair_of_people(world):
    """B-Mart has linked two of its events of the man into a profile; Acme's run ranks the profile,
    through its best member. Both rows are about that member and Acme's person, whatever B-Mart's
    later runs of either member make of it."""
    from matching.services_review import judgement_record

    opt_in(world.acme, world.bmart)
    b1 = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=9)
    b2 = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=6)
    [own] = suggestions_of(b2)
    judgement_record(actor=world.other_investigator, suggestion=own, decision=Judgement.Decision.ACCEPT)
    acme_event = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    [s] = cross_of(acme_event)
    assert s.target_profile_id is None and s.target_person.event_id in (b1.pk, b2.pk)
    assert_every_row_has_one_counterpart()
    rerun(b1)
    rerun(b2)
    rerun(acme_event)
    assert_every_row_has_one_counterpart()
    assert Suggestion.objects.filter(organisation=world.bmart, other_organisation=world.acme,
                                     target_person_id=s.person_id).exclude(status="superseded").exists()


def test_opting_out_stops_new_cross_suggestions_and_hides_open_ones(world):
    acme_event, bmart_event, s = cross_pair(world)
    rerun(bmart_event)
    [mirror] = cross_of(bmart_event)
    inv, other_inv = world.investigator, world.other_investigator
    assert list(Suggestion.objects.visible_to(inv)) == [s]
    assert list(Suggestion.objects.visible_to(other_inv)) == [mirror]

    opt_in(world.bmart, on=False)
    # Hidden at once from both retailers' investigators and admins (the rows stay, decided ones too).
    assert not Suggestion.objects.visible_to(inv).exists()
    assert not Suggestion.objects.visible_to(world.admin).exists()
    assert not Suggestion.objects.visible_to(other_inv).exists()
    # No new ones: the next Acme event of the same man finds no B-Mart candidate.
    later = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    assert cross_of(later) == []
    rerun(acme_event)  # a rematch supersedes the one B-Mart's opt-out made stale
    assert Suggestion.objects.get(pk=s.pk).status == Suggestion.Status.SUPERSEDED

    # Opting in again: matching finds the pair again.
    opt_in(world.bmart)
    rerun(acme_event)
    assert [x.pk for x in cross_of(acme_event)] == [s.pk]
    assert Suggestion.objects.visible_to(inv).filter(pk=s.pk).exists()


def test_a_decided_cross_suggestion_stays_visible_after_opting_out(world):
    _, _, s = cross_pair(world)
    Suggestion.objects.filter(pk=s.pk).update(status=Suggestion.Status.REJECTED)
    opt_in(world.acme, on=False)
    assert Suggestion.objects.visible_to(world.investigator).filter(pk=s.pk).exists()


def test_other_roles_and_tenants_never_see_cross_suggestions(world):
    _, _, s = cross_pair(world)
    for user in (world.staff, world.officer, world.police_admin, world.operator, world.other_investigator,
                 world.other_admin):
        assert not Suggestion.objects.visible_to(user).filter(pk=s.pk).exists()
