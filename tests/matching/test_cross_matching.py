"""Connect the Dots across retailers: only between retailers that both opted in; both sides see the
match (each through its own engine run); opting out stops new ones and hides the open ones."""

from __future__ import annotations

import pytest

from auror.celery import app as celery_app
from matching.cross import counterparts_enqueue
from matching.engine import partner_organisations
from matching.models import MatchState, Suggestion
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


@pytest.fixture
def eager():
    """Celery's own eager mode: jobs enqueued on commit run in this process (no broker)."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


def cross_of(event):
    return [s for s in suggestions_of(event) if s.other_organisation_id]


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


def test_the_other_side_gets_its_own_suggestion_through_its_own_run(world, django_capture_on_commit_callbacks):
    opt_in(world.acme, world.bmart)
    bmart_event = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=3)
    assert MatchState.objects.get(event=bmart_event).status == MatchState.Status.DONE
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        acme_event = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    assert len(cross_of(acme_event)) == 1
    assert len(callbacks) == 1  # the job that wakes B-Mart's event, once Acme's run commits
    # B-Mart's own view: its event is due for matching again (until now it had no suggestion).
    assert cross_of(bmart_event) == []
    rerun(bmart_event)
    [mirror] = cross_of(bmart_event)
    assert (mirror.organisation_id, mirror.other_organisation_id) == (world.bmart.pk, world.acme.pk)
    assert mirror.person.event_id == bmart_event.pk and mirror.target_person.event_id == acme_event.pk
    # Each side now has its suggestion about the pair: nothing more to hand over, either way.
    assert counterparts_enqueue(event_id=acme_event.pk) == []
    assert counterparts_enqueue(event_id=bmart_event.pk) == []
    # Re-running either side keeps exactly one suggestion each (no duplicates, nothing superseded).
    rerun(acme_event)
    rerun(bmart_event)
    assert [x.pk for x in cross_of(acme_event)] == [cross_of(acme_event)[0].pk]
    assert [s.status for s in cross_of(acme_event) + cross_of(bmart_event)] == ["pending", "pending"]


def test_waking_the_other_side_runs_its_job_after_commit(world, eager, django_capture_on_commit_callbacks):
    opt_in(world.acme, world.bmart)
    bmart_event = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=3)
    with django_capture_on_commit_callbacks(execute=True):
        acme_event = record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    [mirror] = cross_of(bmart_event)
    assert mirror.target_person.event_id == acme_event.pk
    assert MatchState.objects.get(event=bmart_event).status == MatchState.Status.DONE


def test_the_other_sides_own_threshold_decides_its_queue(world):
    from matching.engine import settings_for

    acme_event, bmart_event, _ = cross_pair(world)
    conf = settings_for(world.bmart.pk)
    conf.review_threshold = 0.9999999999
    conf.save()
    rerun(bmart_event)
    assert cross_of(bmart_event) == []
    assert counterparts_enqueue(event_id=bmart_event.pk) == []  # nothing to hand back: no loop


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
