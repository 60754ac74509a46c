"""Shared fixtures: named personas per role and tenant.

`world` builds two retailers (acme, bmart) with stores in two regions, two police agencies (one
whose jurisdiction covers Auckland, one Wellington), the platform operator, and a user per role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest  # noqa: E402

# Browser fixtures for every folder: a module importing them itself would start a second Playwright.
pytest_plugins = ["tests.browser.fixtures"]

from tests.factories import PASSWORD, EventFactory, OrganisationFactory, StoreFactory, UserFactory  # noqa: E402


@dataclass
class World:
    orgs: dict = field(default_factory=dict)
    stores: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    password: str = PASSWORD

    def __getattr__(self, name):
        for d in ("users", "orgs", "stores"):
            bucket = self.__dict__.get(d, {})
            if name in bucket:
                return bucket[name]
        raise AttributeError(name)


def build_world() -> World:
    from accounts.models import OrgKind, PoliceSharing, Role

    w = World()
    w.orgs["acme"] = OrganisationFactory(slug="acme", name="Acme Stores", kind=OrgKind.RETAILER,
                                         police_sharing_default=PoliceSharing.JURISDICTION)
    w.orgs["bmart"] = OrganisationFactory(slug="bmart", name="B-Mart", kind=OrgKind.RETAILER,
                                          police_sharing_default=PoliceSharing.ALL)
    w.orgs["pol_akl"] = OrganisationFactory(slug="pol-akl", name="Auckland Police", kind=OrgKind.LAW_ENFORCEMENT,
                                            jurisdictions=["AKL"])
    w.orgs["pol_wlg"] = OrganisationFactory(slug="pol-wlg", name="Wellington Police", kind=OrgKind.LAW_ENFORCEMENT,
                                            jurisdictions=["WLG"])
    w.orgs["platform"] = OrganisationFactory(slug="platform", name="Auror Platform", kind=OrgKind.PLATFORM)
    w.stores["acme_akl"] = StoreFactory(organisation=w.acme, code="ACME-001", name="Acme Ponsonby", region="AKL")
    w.stores["acme_wlg"] = StoreFactory(organisation=w.acme, code="ACME-002", name="Acme Cuba St", region="WLG")
    w.stores["bmart_akl"] = StoreFactory(organisation=w.bmart, code="BM-001", name="B-Mart Newmarket", region="AKL")
    u = w.users
    u["staff"] = UserFactory(email="staff@acme.test", organisation=w.acme, role=Role.STORE_STAFF, stores=[w.acme_akl])
    u["staff_wlg"] = UserFactory(email="staff2@acme.test", organisation=w.acme, role=Role.STORE_STAFF, stores=[w.acme_wlg])
    u["investigator"] = UserFactory(email="inv@acme.test", organisation=w.acme, role=Role.INVESTIGATOR)
    u["investigator_sensitive"] = UserFactory(email="inv-s@acme.test", organisation=w.acme,
                                              role=Role.INVESTIGATOR, sensitive_access=True)
    u["admin"] = UserFactory(email="admin@acme.test", organisation=w.acme, role=Role.RETAILER_ADMIN)
    u["other_staff"] = UserFactory(email="staff@bmart.test", organisation=w.bmart, role=Role.STORE_STAFF, stores=[w.bmart_akl])
    u["other_investigator"] = UserFactory(email="inv@bmart.test", organisation=w.bmart, role=Role.INVESTIGATOR)
    u["other_admin"] = UserFactory(email="admin@bmart.test", organisation=w.bmart, role=Role.RETAILER_ADMIN)
    u["officer"] = UserFactory(email="officer@police-akl.test", organisation=w.pol_akl, role=Role.POLICE_OFFICER)
    u["police_admin"] = UserFactory(email="padmin@police-akl.test", organisation=w.pol_akl, role=Role.POLICE_ADMIN)
    u["officer_wlg"] = UserFactory(email="officer@police-wlg.test", organisation=w.pol_wlg, role=Role.POLICE_OFFICER)
    u["operator"] = UserFactory(email="ops@auror.test", organisation=w.platform, role=Role.PLATFORM_OPERATOR)
    return w


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def event_factory():
    return EventFactory
