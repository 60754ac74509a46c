"""Judgements: accept links (creating, extending or merging profiles), reject never again, unsure stays
flagged, undo reverses exactly what one judgement did. Suggestions are real: events recorded through
event_submit and matched by the engine."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEntry
from matching.models import BlockingKey, Judgement, MatchState, RejectedPair, Suggestion
from matching.services_review import judgement_record, judgement_undo
from profiles.models import Profile, ProfileHistory, ProfileMember
from tests.profiles.helpers import ANA, ANNA, JOHN, JOHNNY, JON, record, rematch, suggestion_between

pytestmark = pytest.mark.django_db

ACCEPT, REJECT, UNSURE = "accept", "reject", "unsure"


def person(event):
    return event.persons.get()


def profile_of(event):
    m = ProfileMember.objects.filter(person__event=event).select_related("profile").first()
    return m.profile if m else None


def keys_profile(event) -> set:
    return set(BlockingKey.objects.filter(person__event=event).values_list("profile_id", flat=True))


@pytest.fixture
def jon_pair(world):
    a = record(world, days_ago=10, persons=[JON], vehicles=[{"plate": "KBO812", "person_ref": "p1"}])
    b = record(world, store=world.acme_wlg, persons=[JOHN], vehicles=[{"plate": "KB0812", "person_ref": "p1"}])
    return a, b


def test_accepting_two_unlinked_people_creates_a_profile_of_both(world, jon_pair):
    a, b = jon_pair
    s = suggestion_between(b, a)
    MatchState.objects.update(status="done")
    j = judgement_record(actor=world.investigator, suggestion=s, decision=ACCEPT, reason="same tattoo and plate")
    profile = profile_of(a)
    assert profile is not None and profile == profile_of(b) and profile.origin == j
    assert set(profile.members.values_list("judgement_id", flat=True)) == {j.pk}
    assert (profile.event_count, profile.store_count, profile.label) == (2, 2, "John Smyth")  # a tie goes to the most recent name
    s.refresh_from_db()
    assert s.status == Suggestion.Status.ACCEPTED
    assert (j.by, j.decision, j.reason) == (world.investigator, ACCEPT, "same tattoo and plate")
    # Keys carry the profile, both events are re-matched, and the link is audited with who and why.
    assert keys_profile(a) == keys_profile(b) == {profile.pk}
    assert set(MatchState.objects.filter(event__in=[a, b]).values_list("status", flat=True)) == {"pending"}
    row = AuditEntry.objects.get(action="judgement.accept")
    assert row.actor_id == world.investigator.pk and row.detail["reason"] == "same tattoo and plate"
    assert ProfileHistory.objects.get(profile=profile).action == "created"


def test_accepting_a_profile_suggestion_extends_it(world, jon_pair):
    a, b = jon_pair
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision=ACCEPT)
    rematch(a, b)
    c = record(world, days_ago=3, persons=[JOHNNY])
    profile = profile_of(a)
    s = Suggestion.objects.get(person__event=c)
    assert s.target_profile == profile  # the engine now proposes the profile, not one of its events
    j = judgement_record(actor=world.investigator, suggestion=s, decision=ACCEPT)
    profile.refresh_from_db()
    assert profile.event_count == 3 and profile_of(c) == profile
    assert ProfileMember.objects.get(person__event=c).judgement == j
    assert keys_profile(c) == {profile.pk}
    assert list(profile.history.values_list("action", flat=True)) == ["extended", "created"]


def test_accepting_between_two_profiles_merges_them_with_history_and_undo_splits_them_back(world):
    a = record(world, days_ago=30, persons=[JON])
    b = record(world, days_ago=20, persons=[JOHN])
    c = record(world, days_ago=10, persons=[JOHNNY])
    d = record(world, days_ago=5, persons=[{**JOHNNY, "name": "Jonny Smith"}])
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision=ACCEPT)
    judgement_record(actor=world.investigator, suggestion=suggestion_between(d, c), decision=ACCEPT)
    first, second = profile_of(a), profile_of(c)
    assert first != second
    merge = judgement_record(actor=world.investigator, suggestion=suggestion_between(c, a), decision=ACCEPT)
    first.refresh_from_db()
    second.refresh_from_db()
    assert {profile_of(x) for x in (a, b, c, d)} == {first}
    assert (second.status, second.merged_into) == (Profile.Status.MERGED, first)
    assert first.event_count == 4
    assert keys_profile(c) == keys_profile(d) == {first.pk}
    assert first.history.first().action == "merged" and first.history.first().detail["source"] == second.pk
    # Members keep the judgements that linked them.
    assert ProfileMember.objects.get(person__event=d).judgement.decision == ACCEPT
    assert not ProfileMember.objects.filter(judgement=merge).exists()

    judgement_undo(actor=world.investigator, judgement=merge)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.status == Profile.Status.ACTIVE and second.merged_into is None
    assert {profile_of(a), profile_of(b)} == {first} and {profile_of(c), profile_of(d)} == {second}
    assert keys_profile(c) == {second.pk} and keys_profile(a) == {first.pk}
    assert (first.event_count, second.event_count) == (2, 2)
    assert suggestion_between(c, a).status == Suggestion.Status.PENDING


def test_rejected_pair_is_recorded_and_never_comes_back(world):
    from django.core.management import call_command

    d = record(world, days_ago=20, persons=[ANA])
    e = record(world, days_ago=2, persons=[ANNA])
    s = suggestion_between(e, d)
    j = judgement_record(actor=world.investigator, suggestion=s, decision=REJECT, reason="different people on CCTV")
    low, high = sorted([person(d).pk, person(e).pk])
    assert RejectedPair.objects.filter(person_low_id=low, person_high_id=high, judgement=j).exists()
    assert not ProfileMember.objects.exists()
    # Both events re-matched from scratch: the pair is not suggested again, either way round.
    MatchState.objects.update(status="pending", version=9)
    call_command("rematch", "--org", "acme")
    assert list(Suggestion.objects.values_list("pk", "status")) == [(s.pk, "rejected")]
    assert AuditEntry.objects.filter(action="judgement.reject", object_id=str(j.pk)).exists()


def test_rejecting_a_profile_records_pairs_with_its_members_and_new_members_inherit_them(world, jon_pair):
    a, b = jon_pair
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision=ACCEPT)
    rematch(a, b)
    c = record(world, days_ago=3, persons=[{**JOHNNY, "marks": "", "aliases": []}])
    s = Suggestion.objects.get(person__event=c)
    assert s.target_profile == profile_of(a)
    rejection = judgement_record(actor=world.investigator, suggestion=s, decision=REJECT)
    pairs = set(RejectedPair.objects.filter(judgement=rejection).values_list("person_low_id", "person_high_id"))
    pc = person(c).pk
    assert pairs == {tuple(sorted([pc, person(a).pk])), tuple(sorted([pc, person(b).pk]))}
    # A later member of the profile is rejected against c too, and only as long as it is a member.
    f = record(world, days_ago=1, persons=[{**JON, "clothing": "black hoodie"}])
    join = judgement_record(actor=world.investigator, suggestion=Suggestion.objects.filter(
        person__event=f, target_profile=profile_of(a)).get(), decision=ACCEPT)
    pf = person(f).pk
    inherited = RejectedPair.objects.get(person_low_id=min(pc, pf), person_high_id=max(pc, pf))
    assert inherited.judgement == rejection
    rematch(c, f)
    assert not Suggestion.objects.filter(person__event=f, target_person__event=c,
                                         status__in=["pending", "unsure"]).exists()
    judgement_undo(actor=world.investigator, judgement=join)
    assert not RejectedPair.objects.filter(pk=inherited.pk).exists()
    assert RejectedPair.objects.filter(judgement=rejection).count() == 2


def test_unsure_keeps_the_suggestion_flagged_and_it_can_still_be_decided(world, jon_pair):
    a, b = jon_pair
    s = suggestion_between(b, a)
    judgement_record(actor=world.investigator, suggestion=s, decision=UNSURE, reason="need CCTV")
    s.refresh_from_db()
    assert s.status == Suggestion.Status.UNSURE and not ProfileMember.objects.exists()
    rematch(a, b)
    s.refresh_from_db()
    assert s.status == Suggestion.Status.UNSURE  # recomputing does not clear the flag
    judgement_record(actor=world.admin, suggestion=s, decision=ACCEPT)
    assert profile_of(a) == profile_of(b)


def test_a_decided_suggestion_cannot_be_decided_again(world, jon_pair):
    a, b = jon_pair
    s = suggestion_between(b, a)
    judgement_record(actor=world.investigator, suggestion=s, decision=REJECT)
    with pytest.raises(ValidationError) as err:
        judgement_record(actor=world.investigator, suggestion=s, decision=ACCEPT)
    assert "suggestion" in err.value.message_dict
    assert not ProfileMember.objects.exists() and Judgement.objects.count() == 1


@pytest.mark.parametrize("decision,reason,field", [("maybe", "", "decision"), ("accept", "x" * 501, "reason")])
def test_bad_input_names_the_field_and_changes_nothing(world, jon_pair, decision, reason, field):
    a, b = jon_pair
    s = suggestion_between(b, a)
    with pytest.raises(ValidationError) as err:
        judgement_record(actor=world.investigator, suggestion=s, decision=decision, reason=reason)
    assert field in err.value.message_dict
    s.refresh_from_db()
    assert s.status == "pending" and not Judgement.objects.exists() and not ProfileMember.objects.exists()


@pytest.mark.parametrize("persona", ["other_investigator", "other_admin", "staff", "officer", "operator"])
def test_only_the_retailers_investigators_judge(world, jon_pair, persona):
    a, b = jon_pair
    s = suggestion_between(b, a)
    with pytest.raises(PermissionDenied):
        judgement_record(actor=getattr(world, persona), suggestion=s, decision=ACCEPT)
    assert not Judgement.objects.exists() and not ProfileMember.objects.exists()


def test_a_sensitive_event_is_judged_only_with_the_grant(world):
    a = record(world, days_ago=10, persons=[JON], sensitive=True, sensitive_reason="minor involved")
    b = record(world, persons=[JOHN])
    s = suggestion_between(b, a)
    with pytest.raises(PermissionDenied):
        judgement_record(actor=world.investigator, suggestion=s, decision=ACCEPT)
    judgement_record(actor=world.investigator_sensitive, suggestion=s, decision=ACCEPT)
    assert profile_of(a) == profile_of(b)


def test_undoing_an_accept_unlinks_and_reopens(world, jon_pair):
    a, b = jon_pair
    s = suggestion_between(b, a)
    j = judgement_record(actor=world.investigator, suggestion=s, decision=ACCEPT)
    profile = profile_of(a)
    MatchState.objects.update(status="done")
    judgement_undo(actor=world.admin, judgement=j)
    j.refresh_from_db()
    profile.refresh_from_db()
    s.refresh_from_db()
    assert (j.undone_by, s.status, profile.status) == (world.admin, "pending", Profile.Status.DISSOLVED)
    assert not ProfileMember.objects.exists()
    assert keys_profile(a) == keys_profile(b) == {None}
    assert set(MatchState.objects.filter(event__in=[a, b]).values_list("status", flat=True)) == {"pending"}
    assert AuditEntry.objects.filter(action="judgement.undo", object_id=str(j.pk)).exists()
    with pytest.raises(ValidationError):
        judgement_undo(actor=world.admin, judgement=j)
    # The reopened suggestion can be decided again.
    judgement_record(actor=world.investigator, suggestion=s, decision=ACCEPT)
    assert profile_of(a) == profile_of(b)


def test_undoing_a_later_member_leaves_the_rest(world, jon_pair):
    a, b = jon_pair
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision=ACCEPT)
    rematch(a, b)
    c = record(world, days_ago=3, persons=[JOHNNY])
    extend = judgement_record(actor=world.investigator, suggestion=Suggestion.objects.get(person__event=c),
                              decision=ACCEPT)
    judgement_undo(actor=world.investigator, judgement=extend)
    profile = profile_of(a)
    assert profile_of(c) is None and profile_of(b) == profile
    profile.refresh_from_db()
    assert profile.status == Profile.Status.ACTIVE and profile.event_count == 2


def test_undoing_the_founding_judgement_dissolves_the_profile_and_reopens_what_depended_on_it(world, jon_pair):
    a, b = jon_pair
    found = judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision=ACCEPT)
    rematch(a, b)
    c = record(world, days_ago=3, persons=[JOHNNY])
    later = Suggestion.objects.get(person__event=c)
    extend = judgement_record(actor=world.investigator, suggestion=later, decision=ACCEPT)
    profile = profile_of(a)
    judgement_undo(actor=world.investigator, judgement=found)
    profile.refresh_from_db()
    extend.refresh_from_db()
    later.refresh_from_db()
    assert profile.status == Profile.Status.DISSOLVED and not ProfileMember.objects.exists()
    assert extend.undone_at is not None and later.status == "pending"
    detail = AuditEntry.objects.get(action="judgement.undo").detail
    assert detail["cascaded"] == [extend.pk] and detail["dissolved"] == [profile.pk]


def test_only_the_latest_judgement_on_a_suggestion_is_undone(world, jon_pair):
    a, b = jon_pair
    s = suggestion_between(b, a)
    unsure = judgement_record(actor=world.investigator, suggestion=s, decision=UNSURE)
    accept = judgement_record(actor=world.investigator, suggestion=s, decision=ACCEPT)
    with pytest.raises(ValidationError) as err:
        judgement_undo(actor=world.investigator, judgement=unsure)
    assert "judgement" in err.value.message_dict
    judgement_undo(actor=world.investigator, judgement=accept)
    judgement_undo(actor=world.investigator, judgement=unsure)
    s.refresh_from_db()
    assert s.status == "pending"


def test_undoing_a_reject_lets_the_pair_be_suggested_again(world):
    d = record(world, days_ago=20, persons=[ANA])
    e = record(world, days_ago=2, persons=[ANNA])
    s = suggestion_between(e, d)
    j = judgement_record(actor=world.investigator, suggestion=s, decision=REJECT)
    judgement_undo(actor=world.investigator, judgement=j)
    assert not RejectedPair.objects.exists()
    s.refresh_from_db()
    assert s.status == "pending"


def test_other_tenant_cannot_undo(world, jon_pair):
    a, b = jon_pair
    j = judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision=ACCEPT)
    for persona in ("other_investigator", "staff"):
        with pytest.raises(PermissionDenied):
            judgement_undo(actor=getattr(world, persona), judgement=j)
    assert ProfileMember.objects.count() == 2
