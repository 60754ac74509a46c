"""Profiles: merge and split with history (and their undo), blocking keys in step, aggregates,
vehicles from events, offender groups from co-occurrence."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEntry
from matching.models import BlockingKey, Judgement, RejectedPair, Suggestion
from matching.services_review import judgement_record, judgement_undo
from profiles.models import OffenderGroup, Profile, ProfileMember, Vehicle
from profiles.services import offender_group_decide, profile_merge, profile_refresh, profile_split
from tests.profiles.helpers import ANA, ANNA, JOHN, JOHNNY, JON, record, suggestion_between

pytestmark = pytest.mark.django_db


def link(world, a, b):
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision="accept")
    return ProfileMember.objects.get(person__event=a).profile


def keys_of(*events) -> set:
    return set(BlockingKey.objects.filter(person__event__in=events).values_list("profile_id", flat=True))


@pytest.fixture
def two_profiles(world):
    a = record(world, days_ago=30, persons=[JON])
    b = record(world, days_ago=20, persons=[JOHN])
    d = record(world, days_ago=15, persons=[ANA])
    e = record(world, days_ago=5, persons=[ANNA])
    return (a, b, link(world, a, b)), (d, e, link(world, d, e))


def test_manual_merge_moves_people_with_history_and_undo_takes_them_back(world, two_profiles):
    (a, b, jon), (d, e, ana) = two_profiles
    j = profile_merge(actor=world.investigator, source=ana, target=jon, reason="one person, two names")
    jon.refresh_from_db()
    ana.refresh_from_db()
    assert (ana.status, ana.merged_into) == (Profile.Status.MERGED, jon)
    assert jon.event_count == 4 and keys_of(a, b, d, e) == {jon.pk}
    assert (j.decision, j.by, j.suggestion) == ("accept", world.investigator, None)
    assert [h.action for h in jon.history.all()][:1] == ["merged"] and ana.history.first().action == "merged_into"
    assert AuditEntry.objects.get(action="profile.merge").detail["source"] == ana.pk
    judgement_undo(actor=world.investigator, judgement=j)
    ana.refresh_from_db()
    assert ana.status == Profile.Status.ACTIVE and keys_of(d, e) == {ana.pk} and keys_of(a, b) == {jon.pk}
    assert set(ProfileMember.objects.filter(profile=ana).values_list("person__event_id", flat=True)) == {d.pk, e.pk}


@pytest.mark.parametrize("case", ["self", "other_tenant", "merged"])
def test_merge_refuses_bad_targets_naming_the_field(world, two_profiles, case):
    (_, _, jon), (_, _, ana) = two_profiles
    if case == "self":
        target = jon
    elif case == "other_tenant":
        target = Profile.objects.create(organisation=world.bmart)
    else:
        ana.status = Profile.Status.MERGED
        ana.save()
        target = ana
    with pytest.raises(ValidationError) as err:
        profile_merge(actor=world.investigator, source=jon, target=target)
    assert "target" in err.value.message_dict
    assert ProfileMember.objects.filter(profile=jon).count() == 2 and not Judgement.objects.filter(suggestion=None).exists()


def test_merge_by_someone_else_is_refused(world, two_profiles):
    (_, _, jon), (_, _, ana) = two_profiles
    for persona in ("other_investigator", "staff", "officer"):
        with pytest.raises(PermissionDenied):
            profile_merge(actor=getattr(world, persona), source=ana, target=jon)
    assert Profile.objects.filter(status="active").count() == 2


def test_split_makes_a_new_profile_records_the_two_sides_as_rejected_and_undo_restores(world):
    a = record(world, days_ago=30, persons=[JON])
    b = record(world, days_ago=20, persons=[JOHN])
    profile = link(world, a, b)
    c = record(world, days_ago=10, persons=[JOHNNY])
    judgement_record(actor=world.investigator, suggestion=Suggestion.objects.filter(person__event=c).first(),
                     decision="accept")
    f = record(world, days_ago=3, persons=[{**JOHNNY, "name": "Jonny Smith"}])
    judgement_record(actor=world.investigator, suggestion=Suggestion.objects.filter(person__event=f).first(),
                     decision="accept")
    assert ProfileMember.objects.filter(profile=profile).count() == 4
    pc, pf = c.persons.get().pk, f.persons.get().pk
    before = dict(ProfileMember.objects.values_list("person_id", "judgement_id"))
    split = profile_split(actor=world.investigator, profile=profile, person_ids=[pc, pf], reason="two brothers")
    new = Profile.objects.get(origin=split)
    assert set(new.members.values_list("person_id", flat=True)) == {pc, pf}
    assert keys_of(c, f) == {new.pk} and keys_of(a, b) == {profile.pk}
    assert RejectedPair.objects.filter(judgement=split).count() == 4  # each of the two against each of the other two
    assert profile.history.first().action == "split" and new.history.first().action == "split_from"
    assert AuditEntry.objects.get(action="profile.split").detail["new_profile"] == new.pk

    judgement_undo(actor=world.investigator, judgement=split)
    new.refresh_from_db()
    assert new.status == Profile.Status.DISSOLVED
    assert dict(ProfileMember.objects.values_list("person_id", "judgement_id")) == before  # the original judgements
    assert keys_of(a, b, c, f) == {profile.pk} and not RejectedPair.objects.exists()


def test_splitting_one_off_a_pair_dissolves_it_and_undo_brings_it_back(world):
    a = record(world, days_ago=30, persons=[JON])
    b = record(world, days_ago=20, persons=[JOHN])
    profile = link(world, a, b)
    split = profile_split(actor=world.investigator, profile=profile, person_ids=[b.persons.get().pk])
    profile.refresh_from_db()
    assert profile.status == Profile.Status.DISSOLVED and not ProfileMember.objects.exists()
    assert keys_of(a, b) == {None}
    judgement_undo(actor=world.investigator, judgement=split)
    profile.refresh_from_db()
    assert profile.status == Profile.Status.ACTIVE and profile.members.count() == 2 and keys_of(a, b) == {profile.pk}


@pytest.mark.parametrize("pick,message", [("none", "Tick the people"), ("all", "Leave at least one"),
                                          ("stranger", "Only people in this profile")])
def test_split_refuses_bad_choices_naming_the_field(world, two_profiles, pick, message):
    (a, b, jon), (d, _, _) = two_profiles
    ids = {"none": [], "all": [a.persons.get().pk, b.persons.get().pk], "stranger": [d.persons.get().pk]}[pick]
    with pytest.raises(ValidationError) as err:
        profile_split(actor=world.investigator, profile=jon, person_ids=ids)
    assert message in " ".join(err.value.message_dict["members"])
    assert jon.members.count() == 2 and not Profile.objects.filter(origin__decision="start").exists()


def test_refresh_counts_names_descriptors_loss_and_violence(world):
    a = record(world, days_ago=30, persons=[JON], products=[{"sku": "X", "unit_value": Decimal("100")}],
               used_violence=True)
    b = record(world, store=world.acme_wlg, days_ago=2, persons=[{**JON, "aliases": ["Jonno"]}],
               products=[{"sku": "Y", "unit_value": Decimal("40")}], prevented=True, weapon="knife")
    profile = link(world, a, b)
    profile_refresh(profile=profile)
    s = profile.summary
    assert s["names"] == [["Jon Smith", 2]] and s["aliases"] == [["Jonno", 1]]
    assert s["descriptors"]["Marks"] == [["tattoo of a star on left hand", 2]]
    assert s["descriptors"]["Age"] == [["25-34", 2]]
    assert profile.total_loss == Decimal("100.00")  # the prevented event lost nothing
    assert (profile.violence_count, profile.threat_count, profile.store_count) == (1, 1, 2)
    assert [x["code"] for x in s["stores"]] == ["ACME-001", "ACME-002"]


def test_vehicles_are_kept_from_events_on_submit_and_update(world):
    from events.services import event_update

    record(world, days_ago=5, persons=[JON], vehicles=[{"plate": "abc-123", "make": "Mazda", "colour": "red"}])
    e = record(world, days_ago=1, persons=[JOHN], vehicles=[{"plate": "ABC 123"}])
    v = Vehicle.objects.get(organisation=world.acme)
    assert (v.plate_normalised, v.event_count, v.make, v.colour) == ("ABC123", 2, "Mazda", "red")
    assert v.last_seen == e.occurred_at
    event_update(actor=world.investigator, event=e, data={
        "store": world.acme_akl, "persons": [{"ref": "p1", **JOHN}], "vehicles": [{"plate": "ZZZ999"}]})
    assert set(Vehicle.objects.values_list("plate_normalised", flat=True)) == {"ABC123", "ZZZ999"}
    record(world, user=world.other_investigator, store=world.bmart_akl, persons=[ANA], vehicles=[{"plate": "ABC123"}])
    assert Vehicle.objects.filter(plate_normalised="ABC123").count() == 2  # one per retailer


def _together(world, days_ago):
    return record(world, days_ago=days_ago, persons=[JON, ANA])


def test_people_seen_together_twice_are_suggested_as_a_group_and_a_human_decides(world):
    first, second = _together(world, 20), _together(world, 5)
    for ref in ("p1", "p2"):
        s = Suggestion.objects.get(person__event=second, person__ref=ref, target_person__event=first)
        judgement_record(actor=world.investigator, suggestion=s, decision="accept")
    group = OffenderGroup.objects.get()
    assert group.status == "suggested" and group.co_occurrences == 2 and group.members.count() == 2
    offender_group_decide(actor=world.investigator, group=group, decision="confirmed", name="Smith and Lopez")
    group.refresh_from_db()
    assert (group.status, group.name, group.decided_by) == ("confirmed", "Smith and Lopez", world.investigator)
    assert AuditEntry.objects.get(action="offender_group.confirm").object_id == str(group.pk)
    with pytest.raises(ValidationError) as err:
        offender_group_decide(actor=world.investigator, group=group, decision="maybe")
    assert "decision" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        offender_group_decide(actor=world.other_investigator, group=group, decision="rejected")


def test_a_rejected_group_is_not_suggested_again_and_a_suggestion_without_basis_goes(world):
    first, second = _together(world, 20), _together(world, 5)
    judgements = []
    for ref in ("p1", "p2"):
        s = Suggestion.objects.get(person__event=second, person__ref=ref, target_person__event=first)
        judgements.append(judgement_record(actor=world.investigator, suggestion=s, decision="accept"))
    group = OffenderGroup.objects.get()
    offender_group_decide(actor=world.investigator, group=group, decision="rejected")
    third = _together(world, 1)
    for ref in ("p1", "p2"):
        s = Suggestion.objects.filter(person__event=third, person__ref=ref).order_by("-score").first()
        judgement_record(actor=world.investigator, suggestion=s, decision="accept")
    assert list(OffenderGroup.objects.values_list("status", flat=True)) == ["rejected"]
    # A suggested group whose basis an undo removes is dropped.
    group.delete()
    from profiles.services import offender_groups_suggest

    offender_groups_suggest(organisation_id=world.acme.pk, profile_ids=Profile.objects.values_list("pk", flat=True))
    assert OffenderGroup.objects.get().status == "suggested"
    judgement_undo(actor=world.investigator, judgement=Judgement.objects.filter(person__event=third).order_by("-id")[0])
    judgement_undo(actor=world.investigator, judgement=judgements[1])
    assert not OffenderGroup.objects.exists()


def test_split_refuses_a_person_the_actor_may_not_see(world):
    """A person from a sensitive event stays hidden from an investigator without the grant: naming
    them in a split is refused like a stranger, and nothing changes."""
    a = record(world, days_ago=30, persons=[JON])
    b = record(world, days_ago=20, persons=[JOHN])
    c = record(world, days_ago=10, persons=[JOHNNY])
    profile = link(world, a, b)
    judgement_record(actor=world.investigator, suggestion=suggestion_between(c, a), decision="accept")
    type(c).objects.unscoped().filter(pk=c.pk).update(sensitive=True, sensitive_reason="a minor involved")
    assert profile.members.count() == 3
    with pytest.raises(ValidationError) as err:
        profile_split(actor=world.investigator, profile=profile, person_ids=[c.persons.get().pk])
    assert "Only people in this profile" in " ".join(err.value.message_dict["members"])
    assert profile.members.count() == 3 and not Profile.objects.filter(origin__decision="start").exists()
    split = profile_split(actor=world.investigator_sensitive, profile=profile, person_ids=[c.persons.get().pk])
    assert split.decision == "start" and profile.members.count() == 2
