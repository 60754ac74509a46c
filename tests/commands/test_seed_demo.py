"""manage.py seed_demo: demo tenants, a user per role, realistic events; idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organisation, OrgKind, Role, Store, User
from audit.models import AuditEntry
from events.models import Event, EventPerson

pytestmark = pytest.mark.django_db


def counts():
    return {m.__name__: m.objects.count() for m in (Organisation, Store, User, Event, EventPerson, AuditEntry)}


def test_seed_demo_builds_the_demo_and_a_second_run_creates_nothing(run, client):
    first = run("seed_demo")
    assert first.error is None, first.err
    after_first = counts()
    second = run("seed_demo")
    assert second.error is None, second.err
    assert counts() == after_first
    assert "already there" in second.out and "0 created, 0 updated" in second.out

    # Two retailers with stores in several regions, two police agencies elsewhere, the platform.
    kinds = list(Organisation.objects.values_list("kind", flat=True))
    assert kinds.count(OrgKind.RETAILER) == 2 and kinds.count(OrgKind.LAW_ENFORCEMENT) == 2
    assert kinds.count(OrgKind.PLATFORM) == 1
    assert {"AKL", "WLG", "CHC"} <= set(Store.objects.values_list("region", flat=True))
    jurisdictions = sorted(tuple(o.jurisdictions) for o in Organisation.objects.filter(kind=OrgKind.LAW_ENFORCEMENT))
    assert jurisdictions == [("AKL",), ("WLG",)]
    # A user per role.
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)

    # A few hundred events over the last 90 days, at every retailer, a few sensitive.
    events = Event.objects.all()
    assert 300 <= events.count() <= 500
    assert set(events.values_list("organisation__slug", flat=True)) == {"freshco", "harbour"}
    oldest, newest = min(e.occurred_at for e in events), max(e.occurred_at for e in events)
    now = timezone.now()
    assert newest <= now and now - oldest <= dt.timedelta(days=91)
    assert 0 < events.filter(sensitive=True).count() < events.count() // 4
    assert EventPerson.objects.filter(event__organisation__slug="freshco").exclude(name="").exists()

    # The logins it prints work: a store-staff user signs in with the printed password and sees only
    # their store's events.
    assert "staff@freshco.test" in second.out and DEMO_PASSWORD in second.out and "MFA" in second.out
    r = client.post("/accounts/login/", {"email": "staff@freshco.test", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    staff = User.objects.get(email="staff@freshco.test")
    visible = Event.objects.visible_to(staff)
    assert visible.exists() and set(visible.values_list("store__code", flat=True)) == {"FC-001"}
