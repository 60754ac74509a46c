"""Tenants: platform operators provision organisations and their first admin, see their settings and
users, never their content."""

from __future__ import annotations

import pytest

from accounts.models import Organisation, OrgKind, Role, User
from tests.admin.conftest import audit_rows, form_errors

pytestmark = pytest.mark.django_db


def tenant_data(**over):
    data = {"name": "Kiwi Hardware", "slug": "kiwi-hardware", "kind": "retailer", "jurisdictions": "",
            "admin_email": "boss@kiwi.test", "admin_first_name": "Aroha", "admin_last_name": "Ngata",
            "admin_sign_in": "invite", "admin_password": ""}
    data.update(over)
    return data


def test_operator_lists_tenants_with_kind_and_first_admin(world, as_user):
    r = as_user(world.operator).get("/admin/tenants/")
    assert r.status_code == 200
    rows = {o.slug: o for o in r.context["object_list"]}
    assert set(rows) == {"acme", "bmart", "pol-akl", "pol-wlg", "platform"}
    assert rows["acme"].first_admin == "admin@acme.test" and rows["pol-akl"].first_admin == "padmin@police-akl.test"
    assert rows["acme"].store_count == 2 and b"Law-enforcement agency" in r.content


@pytest.mark.parametrize("persona", ["admin", "police_admin", "investigator", "staff", "officer"])
def test_tenant_pages_are_for_platform_operators_only(world, as_user, persona):
    c = as_user(getattr(world, persona))
    for url in ("/admin/tenants/", "/admin/tenants/new/", f"/admin/tenants/{world.acme.pk}/"):
        assert c.get(url).status_code == 403
    assert c.post("/admin/tenants/new/", tenant_data()).status_code == 403
    assert not Organisation.objects.filter(slug="kiwi-hardware").exists()


def test_operator_creates_a_retailer_with_its_first_admin(world, as_user, django_capture_on_commit_callbacks):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        r = as_user(world.operator).post("/admin/tenants/new/", tenant_data())
    org = Organisation.objects.get(slug="kiwi-hardware")
    assert r.status_code == 302 and r["Location"] == f"/admin/tenants/{org.pk}/"
    admin = User.objects.get(email="boss@kiwi.test")
    assert (admin.organisation, admin.role, admin.has_usable_password()) == (org, Role.RETAILER_ADMIN, False)
    assert mail.outbox and mail.outbox[0].to == ["boss@kiwi.test"]
    assert audit_rows("organisation.create", org).get().actor_id == world.operator.pk
    assert audit_rows("user.invite", admin).get().organisation_id == org.pk


def test_operator_creates_a_police_agency_with_jurisdictions_and_a_password(world, as_user):
    r = as_user(world.operator).post("/admin/tenants/new/", tenant_data(
        name="Canterbury Police", slug="pol-chc", kind="law_enforcement", jurisdictions="CHC",
        admin_email="boss@police-chc.test", admin_sign_in="password", admin_password="a-long-first-password"))
    assert r.status_code == 302
    org = Organisation.objects.get(slug="pol-chc")
    assert (org.kind, org.jurisdictions) == (OrgKind.LAW_ENFORCEMENT, ["CHC"])
    admin = User.objects.get(email="boss@police-chc.test")
    assert admin.role == Role.POLICE_ADMIN and admin.check_password("a-long-first-password")


@pytest.mark.parametrize("over,field", [
    ({"slug": "acme"}, "slug"),  # taken
    ({"slug": "Not a slug!"}, "slug"),
    ({"kind": "shop"}, "kind"),
    ({"jurisdictions": "AKL"}, "jurisdictions"),  # a retailer has none
    ({"kind": "law_enforcement", "jurisdictions": "Auckland Central!"}, "jurisdictions"),
    ({"admin_email": "admin@acme.test"}, "admin_email"),  # taken
    ({"admin_sign_in": "password", "admin_password": "short"}, "admin_password"),
])
def test_bad_tenant_input_names_the_field_and_creates_nothing(world, as_user, over, field):
    before = (Organisation.objects.count(), User.objects.count())
    r = as_user(world.operator).post("/admin/tenants/new/", tenant_data(**over))
    assert r.status_code == 400 and field in form_errors(r), form_errors(r)
    assert (Organisation.objects.count(), User.objects.count()) == before
    assert not audit_rows("organisation.create").exists()


def test_operator_sees_a_tenants_settings_stores_and_users_but_no_events(world, as_user, event_factory):
    event_factory(store=world.acme_akl)
    c = as_user(world.operator)
    r = c.get(f"/admin/tenants/{world.acme.pk}/")
    assert r.status_code == 200
    for text in (b"ACME-001", b"staff@acme.test", b"Agencies whose jurisdiction covers the store"):
        assert text in r.content
    assert c.get("/events/").status_code == 403
    assert c.get("/api/v1/events/").json()["count"] == 0


def test_operator_deactivates_a_tenant_whose_users_then_cannot_work(world, as_user):
    c = as_user(world.operator)
    r = c.post(f"/admin/tenants/{world.bmart.pk}/", {"name": "B-Mart Ltd"})  # is_active unticked
    assert r.status_code == 302
    world.bmart.refresh_from_db()
    assert world.bmart.name == "B-Mart Ltd" and not world.bmart.is_active
    changes = audit_rows("organisation.update", world.bmart).get().detail["changes"]
    assert changes["is_active"] == {"before": True, "after": False}
    assert list(as_user(world.other_investigator).get("/events/").context["object_list"]) == []


def test_operator_cannot_deactivate_their_own_organisation(world, as_user):
    r = as_user(world.operator).post(f"/admin/tenants/{world.platform.pk}/", {"name": "Auror Platform"})
    assert r.status_code == 400 and "is_active" in form_errors(r)
    world.platform.refresh_from_db()
    assert world.platform.is_active


def test_unknown_tenant_is_404_and_wrong_method_405(world, as_user):
    c = as_user(world.operator)
    assert c.get("/admin/tenants/999999/").status_code == 404
    assert c.delete(f"/admin/tenants/{world.acme.pk}/").status_code == 405
