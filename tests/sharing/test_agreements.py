"""Sharing agreements between retailers: an admin proposes (optionally for some regions), the other
retailer's admin accepts, either ends it; every step audited in both chains; the access policy shows
the partner's non-sensitive events while it is in force, and stops at once when it ends."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from events.models import Event
from sharing.models import Agreement
from tests.factories import EventFactory, OrganisationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def propose(client, partner, regions=""):
    return client.post("/sharing/agreements/new/", {"partner": partner.pk, "regions": regions})


def test_propose_accept_revoke_changes_what_investigators_see(world, as_user):
    bmart_akl = EventFactory(store=world.bmart_akl)
    bmart_wlg = EventFactory(store=StoreFactory(organisation=world.bmart, code="BM-002", region="WLG"))
    bmart_sensitive = EventFactory(store=world.bmart_akl, sensitive=True)
    acme_event = EventFactory(store=world.acme_akl)
    acme, bmart = as_user(world.admin), as_user(world.other_admin)

    r = propose(acme, world.bmart, "akl, Akl")
    assert r.status_code == 302
    a = Agreement.objects.get()
    assert (a.retailer, a.partner, a.regions, a.status, a.proposed_by) == (
        world.acme, world.bmart, ["AKL"], "proposed", world.admin)
    # Proposed is not in force.
    assert not Event.objects.visible_to(world.investigator).filter(organisation=world.bmart).exists()
    page = bmart.get("/sharing/agreements/").content.decode()
    assert "Accept agreement with Acme Stores" in page
    assert "Waiting for them" not in page

    assert bmart.post(f"/sharing/agreements/{a.pk}/accept/").status_code == 302
    a.refresh_from_db()
    assert a.status == "active" and a.accepted_by == world.other_admin
    # In force: both ways, non-sensitive, in its regions only.
    assert set(Event.objects.visible_to(world.investigator).filter(organisation=world.bmart)) == {bmart_akl}
    assert set(Event.objects.visible_to(world.other_investigator).filter(organisation=world.acme)) == {acme_event}
    assert bmart_wlg not in Event.objects.visible_to(world.investigator)
    assert bmart_sensitive not in Event.objects.visible_to(world.investigator_sensitive)
    assert as_user(world.investigator).get(f"/events/{bmart_akl.pk}/").status_code == 200

    assert acme.post(f"/sharing/agreements/{a.pk}/revoke/").status_code == 302
    a.refresh_from_db()
    assert a.status == "revoked" and a.revoked_by == world.admin
    assert not Event.objects.visible_to(world.investigator).filter(organisation=world.bmart).exists()
    assert as_user(world.investigator).get(f"/events/{bmart_akl.pk}/").status_code == 404

    actions = sorted(AuditEntry.objects.filter(object_type="sharing.agreement", object_id=str(a.pk))
                     .values_list("action", "organisation_id"))
    assert actions == sorted([(act, org.pk) for act in ("agreement.propose", "agreement.accept", "agreement.revoke")
                              for org in (world.acme, world.bmart)])
    # Agreeing again later is possible; the old one stays as history.
    assert propose(bmart, world.acme).status_code == 302
    assert Agreement.objects.count() == 2 and Agreement.objects.open().get().retailer == world.bmart


def test_the_proposer_cannot_accept_and_one_open_agreement_per_pair(world, as_user):
    acme, bmart = as_user(world.admin), as_user(world.other_admin)
    propose(acme, world.bmart)
    a = Agreement.objects.get()
    r = acme.post(f"/sharing/agreements/{a.pk}/accept/")
    assert r.status_code == 400 and "waits for B-Mart" in r.content.decode()
    r = propose(bmart, world.acme)  # the other way round while one is open
    assert r.status_code == 400 and "already a proposed agreement" in str(r.context["form"].errors["partner"])
    bmart.post(f"/sharing/agreements/{a.pk}/accept/")
    r = bmart.post(f"/sharing/agreements/{a.pk}/accept/")
    assert r.status_code == 400
    bmart.post(f"/sharing/agreements/{a.pk}/revoke/")
    r = acme.post(f"/sharing/agreements/{a.pk}/revoke/")
    assert r.status_code == 400 and "already ended" in r.content.decode()
    assert Agreement.objects.count() == 1


@pytest.mark.parametrize("data,field", [
    ({"partner": ""}, "partner"),
    ({"partner": "999999"}, "partner"),
    ({"partner": "self"}, "partner"),
    ({"partner": "police"}, "partner"),
    ({"regions": "AKL, Auckland Central!"}, "regions"),
])
def test_bad_proposals_name_the_field_and_store_nothing(world, as_user, data, field):
    ids = {"self": world.acme.pk, "police": world.pol_akl.pk}
    post = {"partner": world.bmart.pk, "regions": "", **data}
    post["partner"] = ids.get(post["partner"], post["partner"])
    r = as_user(world.admin).post("/sharing/agreements/new/", post)
    assert r.status_code == 400
    assert field in r.context["form"].errors
    assert not Agreement.objects.exists()


def test_other_tenants_404_roles_403_methods_405(world, as_user):
    as_user(world.admin).post("/sharing/agreements/new/", {"partner": world.bmart.pk})
    a = Agreement.objects.get()
    third_org = OrganisationFactory(slug="cmart", name="C-Mart")
    third_admin = UserFactory(email="admin@cmart.test", organisation=third_org, role="retailer_admin")
    c = as_user(third_admin)
    assert c.post(f"/sharing/agreements/{a.pk}/accept/").status_code == 404
    assert c.post(f"/sharing/agreements/{a.pk}/revoke/").status_code == 404
    assert c.get("/sharing/agreements/").status_code == 200 and "Acme" not in c.get("/sharing/agreements/").content.decode()
    for persona in ("investigator", "other_investigator", "staff", "officer", "police_admin", "operator"):
        c = as_user(getattr(world, persona))
        assert c.get("/sharing/agreements/").status_code == 403
        assert c.get("/sharing/agreements/new/").status_code == 403
        assert c.post("/sharing/agreements/new/", {"partner": world.bmart.pk}).status_code == 403
        assert c.post(f"/sharing/agreements/{a.pk}/accept/").status_code == 403
    assert as_user(world.other_admin).get(f"/sharing/agreements/{a.pk}/accept/").status_code == 405
    a.refresh_from_db()
    assert a.status == "proposed" and Agreement.objects.count() == 1


def test_navigation_shows_sharing_to_admins_and_disclosures_to_investigators(world, as_user):
    nav = as_user(world.admin).get("/sharing/agreements/").context["nav_items"]
    assert {"Sharing", "Disclosures"} <= {i["label"] for i in nav}
    nav = as_user(world.investigator).get("/sharing/disclosures/").context["nav_items"]
    labels = {i["label"] for i in nav}
    assert "Disclosures" in labels and "Sharing" not in labels
    nav = as_user(world.staff).get("/events/").context["nav_items"]
    assert not {"Sharing", "Disclosures"} & {i["label"] for i in nav}
