"""The admin's own organisation: a retailer's sharing and opt-ins, a police agency's jurisdiction."""

from __future__ import annotations

import pytest

from accounts.models import PoliceSharing
from tests.admin.conftest import audit_rows, form_errors

pytestmark = pytest.mark.django_db

URL = "/admin/organisation/"


def test_retailer_admin_sets_sharing_exclusions_and_opt_ins(world, as_user, event_factory):
    event = event_factory(store=world.acme_akl)
    c = as_user(world.admin)
    page = c.get(URL)
    assert page.status_code == 200 and b"Wellington Police" in page.content
    r = c.post(URL, {"police_sharing_default": "all", "police_excluded_agencies": [world.pol_wlg.pk],
                     "ctd_opt_in": "on", "image_matching_opt_in": "on"})
    assert r.status_code == 302
    world.acme.refresh_from_db()
    assert world.acme.police_sharing_default == PoliceSharing.ALL
    assert list(world.acme.police_excluded_agencies.all()) == [world.pol_wlg]
    assert world.acme.ctd_opt_in and world.acme.image_matching_opt_in
    changes = audit_rows("organisation.sharing_update", world.acme).get().detail["changes"]
    assert changes["police_sharing_default"] == {"before": "jurisdiction", "after": "all"}
    assert changes["police_excluded_agencies"] == {"before": [], "after": ["pol-wlg"]}
    # What police see follows at once: Wellington is excluded, Auckland sees the event.
    from events.models import Event

    assert not Event.objects.visible_to(world.officer_wlg).exists()
    assert list(Event.objects.visible_to(world.officer)) == [event]


@pytest.mark.parametrize("data,field", [
    ({"police_sharing_default": "everyone"}, "police_sharing_default"),
    ({"police_sharing_default": "all", "police_excluded_agencies": ["ACME"]}, "police_excluded_agencies"),
    ({"police_sharing_default": "all", "image_matching_opt_in": "on"}, "image_matching_opt_in"),
])
def test_bad_settings_name_the_field_and_change_nothing(world, as_user, data, field):
    r = as_user(world.admin).post(URL, data)
    assert r.status_code == 400 and field in form_errors(r)
    world.acme.refresh_from_db()
    assert world.acme.police_sharing_default == PoliceSharing.JURISDICTION
    assert not audit_rows("organisation.sharing_update").exists()


def test_a_retailer_cannot_be_excluded_as_an_agency(world, as_user):
    # The id of another tenant (a retailer) is not one of the choices: refused, nothing stored.
    r = as_user(world.admin).post(URL, {"police_sharing_default": "all", "police_excluded_agencies": [world.bmart.pk]})
    assert r.status_code == 400 and "police_excluded_agencies" in form_errors(r)
    assert not world.acme.police_excluded_agencies.exists()


def test_police_admin_sets_jurisdictions(world, as_user):
    c = as_user(world.police_admin)
    assert b"AKL" in c.get(URL).content
    r = c.post(URL, {"jurisdictions": "akl, WLG ,wlg"})
    assert r.status_code == 302
    world.pol_akl.refresh_from_db()
    assert world.pol_akl.jurisdictions == ["AKL", "WLG"]
    assert audit_rows("organisation.jurisdictions_update", world.pol_akl).get().detail["changes"]["jurisdictions"] == {
        "before": ["AKL"], "after": ["AKL", "WLG"]}
    bad = c.post(URL, {"jurisdictions": "AKL, Auckland Central!"})
    assert bad.status_code == 400 and "jurisdictions" in form_errors(bad)
    world.pol_akl.refresh_from_db()
    assert world.pol_akl.jurisdictions == ["AKL", "WLG"]


@pytest.mark.parametrize("persona", ["staff", "investigator", "officer", "operator"])
def test_other_roles_are_refused(world, as_user, persona):
    c = as_user(getattr(world, persona))
    assert c.get(URL).status_code == 403
    assert c.post(URL, {"police_sharing_default": "internal", "jurisdictions": "CHC"}).status_code == 403
    world.acme.refresh_from_db()
    assert world.acme.police_sharing_default == PoliceSharing.JURISDICTION


def test_each_admin_sees_only_their_own_organisation(world, as_user):
    r = as_user(world.other_admin).post(URL, {"police_sharing_default": "internal"})
    assert r.status_code == 302
    world.acme.refresh_from_db()
    world.bmart.refresh_from_db()
    assert world.bmart.police_sharing_default == PoliceSharing.INTERNAL
    assert world.acme.police_sharing_default == PoliceSharing.JURISDICTION


def test_an_admin_sets_the_organisations_time_zone_and_pages_follow(world, as_user):
    """Issue 10: the zone every time but an event's is shown in; audited; a bad one is a 400 naming
    the field and changes nothing; an investigator may not."""
    c = as_user(world.admin)
    r = c.post(URL, {"police_sharing_default": "jurisdiction", "timezone": "Australia/Sydney"})
    assert r.status_code == 302
    world.acme.refresh_from_db()
    assert world.acme.timezone == "Australia/Sydney"
    changes = audit_rows("organisation.timezone_update", world.acme).get().detail["changes"]
    assert changes["timezone"] == {"before": "Pacific/Auckland", "after": "Australia/Sydney"}
    assert 'data-timezone="Australia/Sydney"' in c.get("/").content.decode()
    r = c.post(URL, {"police_sharing_default": "jurisdiction", "timezone": "Mars/Olympus"})
    assert r.status_code == 400 and "timezone" in form_errors(r)
    world.acme.refresh_from_db()
    assert world.acme.timezone == "Australia/Sydney"
    assert as_user(world.investigator).post(URL, {"timezone": "UTC"}).status_code == 403


def test_a_police_admin_sets_the_agencys_time_zone(world, as_user):
    r = as_user(world.police_admin).post(URL, {"jurisdictions": "AKL", "timezone": "Pacific/Chatham"})
    assert r.status_code == 302
    world.pol_akl.refresh_from_db()
    assert world.pol_akl.timezone == "Pacific/Chatham"
