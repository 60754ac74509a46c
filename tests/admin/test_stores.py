"""Stores: a retailer's admins (and platform operators) add, edit and close them."""

from __future__ import annotations

import pytest

from accounts.models import Store
from audit.models import AuditEntry
from tests.admin.conftest import audit_rows, form_errors

pytestmark = pytest.mark.django_db


def store_data(**over):
    data = {"code": "ACME-017", "name": "Acme Ponsonby Central", "address": "1 Ponsonby Rd", "region": "akl",
            "timezone": "Pacific/Auckland", "latitude": "-36.857000", "longitude": "174.746000"}
    data.update(over)
    return data


def test_admin_lists_only_their_stores(world, as_user):
    r = as_user(world.admin).get("/admin/stores/")
    assert r.status_code == 200
    assert [s.code for s in r.context["object_list"]] == ["ACME-001", "ACME-002"]


def test_operator_lists_every_retailers_stores(world, as_user):
    r = as_user(world.operator).get("/admin/stores/")
    assert {s.code for s in r.context["object_list"]} == {"ACME-001", "ACME-002", "BM-001"}


@pytest.mark.parametrize("persona", ["staff", "investigator", "police_admin", "officer"])
def test_store_pages_refuse_other_roles(world, as_user, persona):
    c = as_user(getattr(world, persona))
    for url in ("/admin/stores/", "/admin/stores/new/", f"/admin/stores/{world.acme_akl.pk}/"):
        assert c.get(url).status_code == 403
    assert c.post("/admin/stores/new/", store_data()).status_code == 403
    assert c.post(f"/admin/stores/{world.acme_akl.pk}/deactivate/").status_code == 403
    assert not Store.objects.filter(code="ACME-017").exists()
    world.acme_akl.refresh_from_db()
    assert world.acme_akl.is_active


def test_admin_adds_a_store_audited(world, as_user):
    r = as_user(world.admin).post("/admin/stores/new/", store_data())
    assert r.status_code == 302
    store = Store.objects.get(code="ACME-017")
    assert (store.organisation, store.region, str(store.latitude)) == (world.acme, "AKL", "-36.857000")
    row = audit_rows("store.create", store).get()
    assert row.actor_id == world.admin.pk and row.detail["after"]["name"] == "Acme Ponsonby Central"


@pytest.mark.parametrize("over,field", [
    ({"code": "ACME-001"}, "code"),  # taken in this retailer
    ({"name": ""}, "name"),
    ({"region": "Auckland Central!"}, "region"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"latitude": "123"}, "latitude"),
])
def test_bad_store_input_names_the_field_and_stores_nothing(world, as_user, over, field):
    before = (Store.objects.count(), AuditEntry.objects.filter(action="store.create").count())
    r = as_user(world.admin).post("/admin/stores/new/", store_data(**over))
    assert r.status_code == 400 and field in form_errors(r), form_errors(r)
    assert (Store.objects.count(), AuditEntry.objects.filter(action="store.create").count()) == before


def test_the_same_code_at_another_retailer_is_fine(world, as_user):
    r = as_user(world.admin).post("/admin/stores/new/", store_data(code="BM-001"))
    assert r.status_code == 302 and Store.objects.filter(code="BM-001").count() == 2


def test_admin_edits_a_store_with_before_and_after_audited(world, as_user):
    c = as_user(world.admin)
    url = f"/admin/stores/{world.acme_akl.pk}/"
    page = c.get(url)
    assert page.status_code == 200 and b"staff@acme.test" in page.content  # who is scoped to it
    r = c.post(url, store_data(code="IGNORED", name="Acme Ponsonby (new)", region="AKL"))
    assert r.status_code == 302
    world.acme_akl.refresh_from_db()
    assert world.acme_akl.name == "Acme Ponsonby (new)" and world.acme_akl.code == "ACME-001"  # code stays
    changes = audit_rows("store.update", world.acme_akl).get().detail["changes"]
    assert changes["name"] == {"before": "Acme Ponsonby", "after": "Acme Ponsonby (new)"}
    # Saving again unchanged writes no audit row.
    c.post(url, store_data(name="Acme Ponsonby (new)", region="AKL"))
    assert audit_rows("store.update", world.acme_akl).count() == 1


def test_edit_bad_input_changes_nothing(world, as_user):
    r = as_user(world.admin).post(f"/admin/stores/{world.acme_akl.pk}/", store_data(region=""))
    assert r.status_code == 400 and "region" in form_errors(r)
    world.acme_akl.refresh_from_db()
    assert world.acme_akl.region == "AKL" and not audit_rows("store.update").exists()


def test_another_retailers_store_is_404(world, as_user):
    c = as_user(world.admin)
    url = f"/admin/stores/{world.bmart_akl.pk}/"
    assert c.get(url).status_code == 404
    assert c.post(url, store_data(name="Mine now")).status_code == 404
    assert c.post(f"{url}deactivate/").status_code == 404
    world.bmart_akl.refresh_from_db()
    assert world.bmart_akl.name == "B-Mart Newmarket" and world.bmart_akl.is_active


def test_admin_closes_and_reopens_a_store(world, as_user):
    c = as_user(world.admin)
    assert c.get(f"/admin/stores/{world.acme_wlg.pk}/deactivate/").status_code == 405
    assert c.post(f"/admin/stores/{world.acme_wlg.pk}/deactivate/").status_code == 302
    world.acme_wlg.refresh_from_db()
    assert not world.acme_wlg.is_active and audit_rows("store.deactivate", world.acme_wlg).exists()
    # A closed store is no longer offered for a user's store scope.
    form = c.get("/admin/users/new/").context["form"]
    assert list(form.fields["stores"].queryset) == [world.acme_akl]
    assert c.post(f"/admin/stores/{world.acme_wlg.pk}/reactivate/").status_code == 302
    world.acme_wlg.refresh_from_db()
    assert world.acme_wlg.is_active


def test_operator_adds_a_store_to_a_chosen_retailer_only(world, as_user):
    c = as_user(world.operator)
    assert b"Which organisation" in c.get("/admin/stores/new/").content
    assert c.get(f"/admin/stores/new/?organisation={world.pol_akl.pk}").status_code == 404  # not a retailer
    r = c.post(f"/admin/stores/new/?organisation={world.bmart.pk}", store_data(code="BM-002"))
    assert r.status_code == 302
    assert Store.objects.get(code="BM-002").organisation == world.bmart
