"""The one access policy, rule by rule (DESIGN.md rules 1-2)."""

from __future__ import annotations

import pytest

from accounts.models import PoliceSharing
from auror import access
from events.models import Event
from sharing.models import Agreement


def visible(user):
    return set(Event.objects.visible_to(user).values_list("pk", flat=True))


@pytest.fixture
def events(world, event_factory):
    e = {}
    e["akl"] = event_factory(store=world.acme_akl)  # acme default: jurisdiction
    e["wlg"] = event_factory(store=world.acme_wlg)
    e["akl_internal"] = event_factory(store=world.acme_akl, police_sharing=PoliceSharing.INTERNAL)
    e["wlg_all"] = event_factory(store=world.acme_wlg, police_sharing=PoliceSharing.ALL)
    e["akl_sensitive"] = event_factory(store=world.acme_akl, sensitive=True, sensitive_reason="minor")
    e["bmart"] = event_factory(store=world.bmart_akl)  # bmart default: all
    return {k: v.pk for k, v in e.items()}


def test_store_staff_see_only_their_stores_and_no_sensitive(world, events):
    assert visible(world.staff) == {events["akl"], events["akl_internal"]}
    assert visible(world.staff_wlg) == {events["wlg"], events["wlg_all"]}


def test_investigators_see_the_whole_retailer_sensitive_only_with_grant(world, events):
    acme = {events[k] for k in ("akl", "wlg", "akl_internal", "wlg_all")}
    assert visible(world.investigator) == acme
    assert visible(world.investigator_sensitive) == acme | {events["akl_sensitive"]}


def test_police_see_by_sharing_choice_and_jurisdiction(world, events):
    # Auckland: acme's jurisdiction default covers AKL; wlg_all is shared with all; bmart shares all.
    assert visible(world.officer) == {events["akl"], events["wlg_all"], events["bmart"]}
    assert visible(world.officer_wlg) == {events["wlg"], events["wlg_all"], events["bmart"]}


def test_excluded_agency_sees_nothing_of_that_retailer(world, events):
    world.acme.police_excluded_agencies.add(world.pol_akl)
    assert visible(world.officer) == {events["bmart"]}


def test_retailer_default_change_applies_to_events_without_their_own_choice(world, events):
    world.acme.police_sharing_default = PoliceSharing.INTERNAL
    world.acme.save()
    world.officer.organisation.refresh_from_db()
    assert visible(world.officer) == {events["wlg_all"], events["bmart"]}


def test_police_admin_and_operator_see_no_events(world, events):
    assert visible(world.police_admin) == set()
    assert visible(world.operator) == set()


def test_other_retailer_sees_nothing_without_agreement(world, events):
    assert visible(world.other_investigator) == {events["bmart"]}
    Agreement.objects.create(retailer=world.bmart, partner=world.acme)  # not accepted
    assert visible(world.other_investigator) == {events["bmart"]}


def test_agreement_shares_non_sensitive_events_in_its_regions(world, events):
    from django.utils import timezone

    Agreement.objects.create(retailer=world.bmart, partner=world.acme, regions=["AKL"], accepted_at=timezone.now())
    assert visible(world.other_investigator) == {events["bmart"], events["akl"], events["akl_internal"]}
    assert events["bmart"] in visible(world.investigator)
    assert visible(world.other_staff) == {events["bmart"]}  # store staff never see partners' events


def test_change_and_delete_rights(world, events, event_factory):
    own = event_factory(store=world.acme_akl, created_by=world.staff)
    assert set(Event.objects.visible_to(world.staff, "change").values_list("pk", flat=True)) == {own.pk}
    assert Event.objects.visible_to(world.investigator, "delete").count() == 0
    assert Event.objects.visible_to(world.admin, "delete").count() == 5
    assert Event.objects.visible_to(world.officer, "change").count() == 0


def test_inactive_user_or_organisation_sees_nothing(world, events):
    world.investigator.is_active = False
    assert visible(world.investigator) == set()
    world.acme.is_active = False
    world.acme.save()
    world.admin.refresh_from_db()
    assert visible(world.admin) == set()


def test_explanation_uses_the_same_policy(world, events):
    event = Event.objects.get(pk=events["akl"])
    who = [a.who for a in access.explain_event_audience(event)]
    assert any("Auckland Police" in w for w in who)
    assert not any("Wellington Police" in w for w in who)
    world.acme.police_excluded_agencies.add(world.pol_akl)
    who = [a.who for a in access.explain_event_audience(event)]
    assert not any("Auckland Police" in w for w in who)


def test_can_record_event_at(world):
    assert access.can_record_event_at(world.staff, world.acme_akl)
    assert not access.can_record_event_at(world.staff, world.acme_wlg)
    assert access.can_record_event_at(world.investigator, world.acme_wlg)
    assert not access.can_record_event_at(world.other_admin, world.acme_akl)
    assert not access.can_record_event_at(world.officer, world.acme_akl)


def test_no_events_recorded_at_a_closed_store(world):
    world.acme_akl.is_active = False
    world.acme_akl.save()
    assert not access.can_record_event_at(world.staff, world.acme_akl)
    assert not access.can_record_event_at(world.admin, world.acme_akl)


def test_views_by_another_organisation_are_audited_in_the_holders_chain(world, event_factory, client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.models import AuditEntry

    e = event_factory(store=world.acme_akl)  # acme's default shares it with Auckland Police
    device = TOTPDevice.objects.create(user=world.officer, confirmed=True)
    client.force_login(world.officer)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    r = client.get(f"/events/{e.pk}/?purpose=inquiry&case_reference=C-9")
    assert r.status_code == 200
    assert "Who can see this event" not in r.content.decode()
    chains = set(AuditEntry.objects.filter(action="event.view", object_id=str(e.pk)).values_list("chain", flat=True))
    assert chains == {world.pol_akl.pk, world.acme.pk}
