"""Home pages by role (issue 10): the work waiting for each, not the menu again; every panel read
through the one access policy (another retailer's events, queue and users never appear)."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from events.models import EventDraft
from tests.admin.conftest import sign_in
from tests.profiles.helpers import ANA, ANNA, JOHN, JON, record

pytestmark = pytest.mark.django_db


def home(user) -> str:
    r = sign_in(Client(), user).get("/")
    assert r.status_code == 200
    return r.content.decode()


@pytest.fixture
def work(world):
    mine = record(world, days_ago=3, persons=[ANA])
    record(world, days_ago=1, persons=[ANNA])  # a suggestion at Ponsonby (AKL)
    record(world, store=world.acme_wlg, days_ago=5, persons=[JON], vehicles=[{"plate": "KBO812", "person_ref": "p1"}])
    record(world, store=world.acme_wlg, days_ago=2, persons=[JOHN], vehicles=[{"plate": "KB0812", "person_ref": "p1"}])
    theirs = record(world, store=world.bmart_akl, user=world.other_investigator, persons=[{"name": "Bea Other"}])
    EventDraft.objects.create(organisation=world.acme, user=world.staff, data={"narrative": "half typed"})
    return mine, theirs


def test_store_staff_see_their_stores_recent_events_and_their_drafts(world, work):
    mine, theirs = work
    html = home(world.staff)
    assert "Recent at your stores" in html and mine.reference in html
    assert theirs.reference not in html and "ACME-002" not in html  # not their store, not their retailer
    assert "Your drafts" in html and "Draft saved" in html
    assert "Waiting for review" not in html and "Your organisation" not in html
    assert "<ul><li><a href=\"/events/new/\">Record event</a></li>" not in html  # no menu as a list


def test_investigators_see_the_queue_by_store_and_the_profiles(world, work):
    html = home(world.investigator)
    assert "Waiting for review" in html and "ACME-001 Acme Ponsonby" in html and "ACME-002 Acme Cuba St" in html
    assert "Most harm" in html and "New this week" in html
    assert "Bea Other" not in html and "BM-001" not in html
    assert "Your organisation" not in html


def test_admins_see_invitations_sharing_and_audit_highlights(world, work):
    from accounts.models import Role
    from tests.factories import UserFactory

    UserFactory(email="new.person@acme.test", organisation=world.acme, role=Role.INVESTIGATOR, last_login=None)
    UserFactory(email="new.person@bmart.test", organisation=world.bmart, role=Role.INVESTIGATOR, last_login=None)
    sign_in(Client(), world.staff).get("/review/")  # a refusal, audited
    html = home(world.admin)
    assert "Invited, not yet signed in" in html and "new.person@acme.test" in html
    assert "new.person@bmart.test" not in html
    assert "Police see:" in html and "Connect the Dots:" in html
    assert "permission.denied" in html and "staff@acme.test" in html
    assert "Waiting for review" in html


def test_police_see_their_own_recent_searches_only(world, work):
    c = sign_in(Client(), world.officer)
    c.get("/events/", {"purpose": "investigation", "case_reference": "CASE-2026-1", "q": "ana"})
    sign_in(Client(), world.officer_wlg).get("/events/", {"purpose": "welfare", "case_reference": "CASE-9"})
    r = c.get("/")
    html = r.content.decode()
    assert "Your recent searches" in html and "investigation" in html
    assert "welfare" not in html  # another officer's search
    assert AuditEntry.objects.filter(action="event.search").count() == 2
    assert "Waiting for review" not in html and "Recent at your stores" not in html


def test_platform_operators_see_the_platforms_health_and_its_tenants(world, work):
    html = home(world.operator)
    assert "The platform" in html and "Tenants" in html
    assert "Acme Stores" in html and "B-Mart" in html and "Auckland" in html  # every tenant, with its kind
    assert "Database, broker and worker are up." in html or "Down:" in html
    assert "Waiting for review" not in html and "Recent at your stores" not in html  # no tenant's data
    assert "Bea Other" not in html
