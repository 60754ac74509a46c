"""Users: retailer admins manage their retailer's users, police admins their agency's, platform
operators anyone's. Other tenant → 404, too-low role → 403, bad input → 400 naming the field."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Role, User
from audit.models import AuditEntry
from tests.admin.conftest import audit_rows, form_errors

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-first-password"


def new_staff(world, **over):
    data = {"email": "new@acme.test", "first_name": "Nia", "last_name": "Rewi", "role": "store_staff",
            "stores": [world.acme_akl.pk], "sign_in": "password", "password": NEW_PASSWORD}
    data.update(over)
    return data


# --- list ---------------------------------------------------------------------------------------


def test_admin_lists_only_their_own_organisations_users(world, as_user):
    r = as_user(world.admin).get("/admin/users/")
    assert r.status_code == 200
    emails = {u.email for u in r.context["object_list"]}
    assert emails == {"staff@acme.test", "staff2@acme.test", "inv@acme.test", "inv-s@acme.test", "admin@acme.test"}
    assert b"ACME-001" in r.content  # store scope shown


def test_police_admin_lists_their_agencys_users(world, as_user):
    r = as_user(world.police_admin).get("/admin/users/")
    assert {u.email for u in r.context["object_list"]} == {"officer@police-akl.test", "padmin@police-akl.test"}


def test_operator_lists_every_tenants_users_and_filters_by_organisation(world, as_user):
    c = as_user(world.operator)
    assert c.get("/admin/users/").context["paginator"].count == User.objects.count()
    r = c.get(f"/admin/users/?organisation={world.bmart.pk}&role=retailer_admin")
    assert [u.email for u in r.context["object_list"]] == ["admin@bmart.test"]


@pytest.mark.parametrize("persona", ["staff", "investigator", "officer"])
def test_users_pages_refuse_roles_that_do_not_manage_users(world, as_user, persona):
    c = as_user(getattr(world, persona))
    for url in ("/admin/users/", "/admin/users/new/", f"/admin/users/{world.staff.pk}/"):
        assert c.get(url).status_code == 403
    assert c.post(f"/admin/users/{world.staff.pk}/deactivate/").status_code == 403
    assert AuditEntry.objects.filter(action="permission.denied", actor_id=getattr(world, persona).pk).exists()
    world.staff.refresh_from_db()
    assert world.staff.is_active


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    r = client.get("/admin/users/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


# --- create -------------------------------------------------------------------------------------


def test_admin_adds_store_staff_scoped_to_one_store(world, as_user, client):
    r = as_user(world.admin).post("/admin/users/new/", new_staff(world))
    user = User.objects.get(email="new@acme.test")
    assert r.status_code == 302 and r["Location"] == f"/admin/users/{user.pk}/"
    assert (user.organisation, user.role, list(user.stores.all())) == (world.acme, Role.STORE_STAFF, [world.acme_akl])
    row = audit_rows("user.create", user).get()
    assert row.actor_id == world.admin.pk and row.organisation_id == world.acme.pk
    assert row.detail["after"]["stores"] == ["ACME-001"] and row.detail["after"]["role"] == "store_staff"
    assert NEW_PASSWORD not in str(row.detail)
    # They can sign in with the first password.
    assert client.post("/accounts/login/", {"email": "new@acme.test", "password": NEW_PASSWORD}).status_code == 302


def test_admin_invites_a_user_who_chooses_a_password_through_the_emailed_link(
    world, as_user, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the email goes once the user is committed
        r = as_user(world.admin).post("/admin/users/new/", new_staff(world, role="investigator", stores=[],
                                                                     sign_in="invite", password=""))
    assert r.status_code == 302
    user = User.objects.get(email="new@acme.test")
    assert not user.has_usable_password() and audit_rows("user.invite", user).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@acme.test"]
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    # When the link stops working, in the organisation's time with the zone named (one clock rule).
    until = re.search(r"until (\d+ \w+ \d{4}, \d\d:\d\d) (NZDT|NZST)\)", mail.outbox[0].body)
    assert until is not None, mail.outbox[0].body
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200 and b"new@acme.test" in page.content
    bad = client.post("/" + path, {"password": "short", "password_again": "short"})
    assert bad.status_code == 400 and "password" in form_errors(bad)
    ok = client.post("/" + path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert ok.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and audit_rows("user.invite_accept", user).exists()
    # The link works once.
    assert client.get("/" + path).status_code == 404


def test_a_tampered_invitation_link_is_refused(world, client):
    assert client.get("/admin/invite/MQ/abc-123/").status_code == 404
    assert client.get("/admin/invite/!!!/abc-123/").status_code == 404


@pytest.mark.parametrize("over,field", [
    ({"email": "not an email"}, "email"),
    ({"email": "staff@bmart.test"}, "email"),  # taken, even by another tenant's user
    ({"role": "police_officer"}, "role"),  # does not fit a retailer
    ({"role": "chief"}, "role"),
    ({"stores": []}, "stores"),  # store staff need a store
    ({"sign_in": "password", "password": ""}, "password"),
    ({"password": "password1"}, "password"),  # common
])
def test_bad_input_names_the_field_and_stores_nothing(world, as_user, over, field):
    before = (User.objects.count(), AuditEntry.objects.filter(action="user.create").count())
    r = as_user(world.admin).post("/admin/users/new/", new_staff(world, **over))
    assert r.status_code == 400
    assert field in form_errors(r)
    assert f'id="id_{field}_error"'.encode() in r.content  # shown next to the field
    assert (User.objects.count(), AuditEntry.objects.filter(action="user.create").count()) == before


def test_another_retailers_store_cannot_be_given(world, as_user):
    r = as_user(world.admin).post("/admin/users/new/", new_staff(world, stores=[world.bmart_akl.pk]))
    assert r.status_code == 400 and "stores" in form_errors(r)
    assert not User.objects.filter(email="new@acme.test").exists()


def test_police_admin_adds_an_officer_but_no_retailer_role(world, as_user):
    c = as_user(world.police_admin)
    data = {"email": "new@police-akl.test", "role": "police_officer", "sign_in": "password", "password": NEW_PASSWORD}
    r = c.post("/admin/users/new/", {**data, "role": "store_staff"})
    assert r.status_code == 400 and "role" in form_errors(r)
    r = c.post("/admin/users/new/", data)
    assert r.status_code == 302
    assert User.objects.get(email="new@police-akl.test").organisation == world.pol_akl


def test_operator_picks_the_organisation_then_adds_its_user(world, as_user):
    c = as_user(world.operator)
    pick = c.get("/admin/users/new/")
    assert pick.status_code == 200 and b"Which organisation" in pick.content
    url = f"/admin/users/new/?organisation={world.bmart.pk}"
    assert c.get(url).status_code == 200
    r = c.post(url, {"email": "inv2@bmart.test", "role": "investigator", "sign_in": "invite"})
    assert r.status_code == 302
    user = User.objects.get(email="inv2@bmart.test")
    assert user.organisation == world.bmart
    row = audit_rows("user.invite", user).get()
    assert row.actor_id == world.operator.pk and row.organisation_id == world.bmart.pk
    assert c.get("/admin/users/new/?organisation=999999").status_code == 404


# --- edit ---------------------------------------------------------------------------------------


def test_admin_changes_role_store_scope_and_sensitive_grant_audited(world, as_user):
    c = as_user(world.admin)
    url = f"/admin/users/{world.staff.pk}/"
    assert c.get(url).status_code == 200
    r = c.post(url, {"first_name": "Sam", "last_name": "", "role": "store_staff",
                     "stores": [world.acme_wlg.pk], "sensitive_access": "on"})
    assert r.status_code == 302
    world.staff.refresh_from_db()
    assert list(world.staff.stores.all()) == [world.acme_wlg] and world.staff.sensitive_access
    changes = audit_rows("user.update", world.staff).get().detail["changes"]
    assert changes["stores"] == {"before": ["ACME-001"], "after": ["ACME-002"]}
    assert changes["sensitive_access"] == {"before": False, "after": True}


def test_changing_a_store_staff_member_to_investigator_clears_their_store_scope(world, as_user):
    r = as_user(world.admin).post(f"/admin/users/{world.staff.pk}/", {"role": "investigator",
                                                                       "stores": [world.acme_akl.pk]})
    assert r.status_code == 302
    world.staff.refresh_from_db()
    assert world.staff.role == Role.INVESTIGATOR and not world.staff.stores.exists()


def test_another_tenants_user_is_404(world, as_user):
    c = as_user(world.admin)
    for other in (world.other_staff, world.officer, world.operator):
        assert c.get(f"/admin/users/{other.pk}/").status_code == 404
        assert c.post(f"/admin/users/{other.pk}/", {"role": "store_staff"}).status_code == 404
        assert c.post(f"/admin/users/{other.pk}/deactivate/").status_code == 404
    assert as_user(world.police_admin).get(f"/admin/users/{world.staff.pk}/").status_code == 404
    assert c.get("/admin/users/999999/").status_code == 404


def test_edit_bad_input_names_the_field_and_changes_nothing(world, as_user):
    c = as_user(world.admin)
    url = f"/admin/users/{world.staff.pk}/"
    for data, field in [({"role": "store_staff", "stores": []}, "stores"),
                        ({"role": "store_staff", "stores": [world.bmart_akl.pk]}, "stores"),
                        ({"role": "police_admin", "stores": [world.acme_akl.pk]}, "role"),
                        ({"role": "store_staff", "stores": [world.acme_akl.pk], "new_password": "abc"}, "new_password")]:
        r = c.post(url, data)
        assert r.status_code == 400 and field in form_errors(r), (data, form_errors(r))
    world.staff.refresh_from_db()
    assert world.staff.role == Role.STORE_STAFF and list(world.staff.stores.all()) == [world.acme_akl]
    assert not audit_rows("user.update", world.staff).exists()


def test_an_admin_cannot_remove_their_own_admin_role(world, as_user):
    r = as_user(world.admin).post(f"/admin/users/{world.admin.pk}/", {"role": "investigator"})
    assert r.status_code == 400
    assert "cannot remove your own admin role" in " ".join(form_errors(r)["role"])
    world.admin.refresh_from_db()
    assert world.admin.role == Role.RETAILER_ADMIN


def test_wrong_methods_are_405(world, as_user):
    c = as_user(world.admin)
    assert c.get(f"/admin/users/{world.staff.pk}/deactivate/").status_code == 405
    assert c.put(f"/admin/users/{world.staff.pk}/").status_code == 405
    assert c.delete("/admin/users/").status_code == 405


# --- deactivate ---------------------------------------------------------------------------------


def test_deactivated_user_cannot_sign_in_and_can_be_reactivated(world, as_user, client):
    c = as_user(world.admin)
    r = c.post(f"/admin/users/{world.staff.pk}/deactivate/")
    assert r.status_code == 302
    world.staff.refresh_from_db()
    assert not world.staff.is_active and audit_rows("user.deactivate", world.staff).exists()
    r = client.post("/accounts/login/", {"email": world.staff.email, "password": world.password})
    assert r.status_code != 302 or client.get("/events/").status_code != 200
    assert c.post(f"/admin/users/{world.staff.pk}/reactivate/").status_code == 302
    world.staff.refresh_from_db()
    assert world.staff.is_active and audit_rows("user.reactivate", world.staff).exists()


def test_an_admin_cannot_deactivate_themselves(world, as_user):
    c = as_user(world.admin)
    r = c.post(f"/admin/users/{world.admin.pk}/deactivate/", follow=True)
    assert b"cannot deactivate yourself" in r.content
    world.admin.refresh_from_db()
    assert world.admin.is_active and not audit_rows("user.deactivate").exists()
