"""manage.py seed_demo: demo tenants, a user per role, realistic events; idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, QUEUE_WORKED_UNTIL
from accounts.models import Organisation, OrgKind, Role, Store, User
from audit.models import AuditEntry
from events.models import Event, EventPerson, Product
from matching.models import Judgement, Suggestion
from profiles.models import OffenderGroup, Profile

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

    # A catalogue and store coordinates (so a profile's map has places).
    for slug in ("freshco", "harbour"):
        assert Product.objects.filter(organisation__slug=slug).count() >= 30
    assert not Store.objects.filter(organisation__kind=OrgKind.RETAILER, latitude__isnull=True).exists()
    # Distinct events per retailer: no event at one retailer repeats another's time, value and story.
    def fingerprint(e):
        return (e.occurred_at, e.total_value, e.narrative)
    fc = {fingerprint(e) for e in events.filter(organisation__slug="freshco")}
    hp = {fingerprint(e) for e in events.filter(organisation__slug="harbour")}
    assert not fc & hp
    # Recorded like real ones: after the event, mostly within hours, not all at one moment.
    delays = [(e.created_at - e.occurred_at).total_seconds() / 3600 for e in events]
    assert all(d >= 0 for d in delays) and len({e.created_at.replace(second=0, microsecond=0) for e in events}) > 300
    assert sorted(delays)[len(delays) // 2] < 8
    # Profiles and a confirmed offender group, decided by the demo investigator through the review
    # service (judgements and audit rows in their name), and a queue of the last few days' cards.
    ira = User.objects.get(email="investigator@freshco.test")
    profiles = Profile.objects.filter(organisation__slug="freshco", status=Profile.Status.ACTIVE)
    assert profiles.count() >= 5 and not profiles.filter(event_count__lt=2).exists()
    assert Judgement.objects.filter(by=ira, decision="accept").count() >= profiles.count()
    assert AuditEntry.objects.filter(actor_id=ira.pk, action="judgement.accept").exists()
    group = OffenderGroup.objects.get(organisation__slug="freshco", status=OffenderGroup.Status.CONFIRMED)
    assert group.decided_by == ira and group.name and group.members.count() >= 2
    assert AuditEntry.objects.filter(actor_id=ira.pk, action="offender_group.confirm").count() == 1
    own = Suggestion.objects.filter(organisation__slug="freshco", status="pending", other_organisation__isnull=True)
    assert 10 <= own.count() <= 150
    worked = now - QUEUE_WORKED_UNTIL - dt.timedelta(hours=1)
    assert not own.filter(person__event__occurred_at__lt=worked, target_person__event__occurred_at__lt=worked,
                          target_person__isnull=False).exists()

    # The logins it prints work: a store-staff user signs in with the printed password and sees only
    # their store's events.
    assert "staff@freshco.test" in second.out and DEMO_PASSWORD in second.out and "MFA" in second.out
    r = client.post("/accounts/login/", {"email": "staff@freshco.test", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    staff = User.objects.get(email="staff@freshco.test")
    visible = Event.objects.visible_to(staff)
    assert visible.exists() and set(visible.values_list("store__code", flat=True)) == {"FC-001"}
