"""The services behind the pages check every incoming reference against the actor's tenant
themselves, whatever a form offered (STYLE.md rule 4)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import Role, Store, User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_another_tenants_records_are_refused(world):
    with pytest.raises(PermissionDenied):
        services.user_update(actor=world.admin, user=world.other_staff, role=Role.INVESTIGATOR)
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=world.admin, user=world.other_admin)
    with pytest.raises(PermissionDenied):
        services.store_update(actor=world.admin, store=world.bmart_akl, name="Mine")
    with pytest.raises(PermissionDenied):
        services.store_create(actor=world.admin, organisation=world.bmart, code="X-1", name="X", region="AKL")
    with pytest.raises(PermissionDenied):
        services.user_create(actor=world.police_admin, organisation=world.acme, email="x@acme.test",
                             role=Role.INVESTIGATOR)
    with pytest.raises(PermissionDenied):
        services.organisation_sharing_update(actor=world.admin, organisation=world.bmart, ctd_opt_in=True)
    world.other_staff.refresh_from_db()
    world.bmart.refresh_from_db()
    assert world.other_staff.role == Role.STORE_STAFF and not world.bmart.ctd_opt_in
    assert not Store.objects.filter(code="X-1").exists() and not User.objects.filter(email="x@acme.test").exists()


def test_roles_without_the_right_are_refused(world):
    with pytest.raises(PermissionDenied):
        services.user_create(actor=world.investigator, organisation=world.acme, email="x@acme.test",
                             role=Role.STORE_STAFF, stores=[world.acme_akl])
    with pytest.raises(PermissionDenied):
        services.organisation_create(actor=world.admin, slug="new", name="New", kind="retailer")
    with pytest.raises(PermissionDenied):  # a retailer's sharing is its own admins' decision
        services.organisation_sharing_update(actor=world.operator, organisation=world.acme, ctd_opt_in=True)
    with pytest.raises(PermissionDenied):
        services.organisation_jurisdictions_update(actor=world.admin, organisation=world.pol_akl, jurisdictions=["CHC"])


def test_a_store_of_another_retailer_is_named_in_the_stores_field(world):
    with pytest.raises(ValidationError) as e:
        services.user_update(actor=world.admin, user=world.staff, stores=[world.bmart_akl])
    assert "stores" in e.value.message_dict
    assert "B-Mart" not in str(e.value)  # never says whose it is
    assert list(world.staff.stores.all()) == [world.acme_akl]


def test_a_retailer_is_not_an_agency_to_exclude(world):
    with pytest.raises(ValidationError) as e:
        services.organisation_sharing_update(actor=world.admin, organisation=world.acme,
                                             police_excluded_agencies=[world.bmart])
    assert "police_excluded_agencies" in e.value.message_dict
    assert not world.acme.police_excluded_agencies.exists()


def test_police_admins_have_no_stores(world):
    with pytest.raises(PermissionDenied):
        services.store_create(actor=world.police_admin, organisation=world.pol_akl, code="P", name="P", region="AKL")


def test_an_operator_cannot_remove_their_own_operator_role(world):
    with pytest.raises(ValidationError) as e:
        services.user_update(actor=world.operator, user=world.operator, role=Role.INVESTIGATOR)
    assert "role" in e.value.message_dict


def test_the_system_actor_is_audited_by_name(world):
    user, changes = services.user_update(actor=services.System("provision"), user=world.staff, sensitive_access=True)
    assert changes == {"sensitive_access": {"before": False, "after": True}}
    row = AuditEntry.objects.get(action="user.update")
    assert (row.actor_id, row.actor_email, row.organisation_id) == (None, "system:provision", world.acme.pk)


def test_an_update_that_changes_nothing_writes_nothing(world):
    before = AuditEntry.objects.count()
    _, changes = services.user_update(actor=world.admin, user=world.staff, role=Role.STORE_STAFF,
                                      stores=[world.acme_akl], password=world.password)
    assert changes == {} and AuditEntry.objects.count() == before
    _, changes = services.store_update(actor=world.admin, store=world.acme_akl, name="Acme Ponsonby")
    assert changes == {} and AuditEntry.objects.count() == before
