"""Row-level security, the database's backstop behind the access policy (auror.rls; issue 11).

Queries here deliberately bypass the policy (raw SQL, `unscoped()`) inside a request of one
retailer, and the database still hides another retailer's rows. The application role the app runs
as can neither switch the backstop off nor touch the audit log."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from auror import rls
from events.models import Event, EventPerson
from profiles.models import Profile
from tests.profiles.helpers import ANA, ANNA, JON, record, suggestion_between

pytestmark = pytest.mark.django_db

# Tables with an organisation_id that are not behind the backstop, and why (a new table must be
# put in auror.rls.TABLES or here).
EXEMPT = {
    "accounts_store": "stores are named on shared events and cards; their rows hold no person's details",
    "accounts_user": "sign-in reads users before anyone is known; the access policy scopes every page",
    "accounts_oidcprovider": "SSO sign-in reads it before anyone is known; its secret is sealed",
    "events_product": "a catalogue: SKUs and prices, no person",
    "events_descriptorsynonym": "vocabulary, no person",
    "guardrails_lexiconentry": "vocabulary, no person",
    "evidence_datakey": "wrapped under the master key, read by evidence.crypto for whoever may read the item",
    "matching_blockingkey": "the engine's index, read by jobs only",
    "matching_matchrecord": "the engine's index, read by jobs only",
    "matching_hubkey": "the engine's index, read by jobs only",
    "matching_featureweight": "model weights, no person",
    "matching_matchsettings": "a threshold",
    "matching_matchstate": "job bookkeeping: event ids and versions",
}


def in_request(user, fn):
    """Run fn() inside a request of `user`, as the middleware sets it up; return what it returned."""
    out = {}

    def view(request):
        out["value"] = fn()
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    request.user = user
    rls.RowLevelSecurityMiddleware(view)(request)
    return out["value"]


def raw_count(sql: str, params=()) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, list(params))
        return cur.fetchone()[0]


@pytest.fixture
def two_retailers(world):
    mine = record(world, days_ago=3, persons=[ANA])
    record(world, days_ago=1, persons=[ANNA])
    theirs = record(world, user=world.other_investigator, store=world.bmart_akl, persons=[JON])
    return mine, theirs


def test_every_tenant_table_is_behind_the_backstop_or_exempt_with_a_reason():
    with connection.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
                    " AND column_name = 'organisation_id'")
        with_org = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT relname FROM pg_class WHERE relrowsecurity AND relkind = 'r'")
        protected = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT tablename, count(*) FROM pg_policies WHERE policyname LIKE 'auror_%' GROUP BY 1")
        policies = dict(cur.fetchall())
    assert with_org - set(rls.TABLES) - set(EXEMPT) == set()
    assert set(rls.TABLES) <= protected
    assert all(policies.get(t) == 4 for t in rls.TABLES), policies


def test_a_query_that_bypasses_the_policy_still_sees_only_its_own_retailer(world, two_retailers):
    mine, theirs = two_retailers

    def look():
        return {
            "raw theirs": raw_count("SELECT count(*) FROM events_event WHERE organisation_id = %s", [world.bmart.pk]),
            "raw mine": raw_count("SELECT count(*) FROM events_event WHERE organisation_id = %s", [world.acme.pk]),
            "unscoped theirs": Event.objects.unscoped().filter(pk=theirs.pk).count(),
            "their people": EventPerson.objects.filter(event_id=theirs.pk).count(),
            "their audit": raw_count("SELECT count(*) FROM audit_auditentry WHERE organisation_id = %s", [world.bmart.pk]),
        }

    seen = in_request(world.investigator, look)
    assert seen == {"raw theirs": 0, "raw mine": 2, "unscoped theirs": 0, "their people": 0, "their audit": 0}
    # Outside a request (a command, this test) everything is there: the policy's business.
    assert Event.objects.unscoped().filter(pk=theirs.pk).count() == 1


def test_police_read_events_but_never_a_retailers_profiles_or_suggestions(world, two_retailers):
    mine, _ = two_retailers
    from matching.services_review import judgement_record

    later = Event.objects.unscoped().filter(organisation=world.acme).order_by("-occurred_at").first()
    judgement_record(actor=world.investigator, suggestion=suggestion_between(later, mine), decision="accept")
    assert Profile.objects.unscoped().count() == 1

    def look():
        return (raw_count("SELECT count(*) FROM events_event"), raw_count("SELECT count(*) FROM profiles_profile"),
                raw_count("SELECT count(*) FROM matching_suggestion"), raw_count("SELECT count(*) FROM matching_judgement"))

    events, profiles, suggestions, judgements = in_request(world.officer, look)
    assert events == 3  # the policy then filters by sharing, jurisdiction and sensitivity
    assert (profiles, suggestions, judgements) == (0, 0, 0)


def test_an_anonymous_request_sees_no_tenant_row(world, two_retailers):
    from django.contrib.auth.models import AnonymousUser

    assert in_request(AnonymousUser(), lambda: raw_count("SELECT count(*) FROM events_event")) == 0


def test_the_scope_is_reset_after_the_request(world, two_retailers):
    in_request(world.investigator, lambda: None)
    role, scope, *_ = rls.current()
    assert scope == "" and role == "none"
    assert raw_count("SELECT count(*) FROM events_event") == 3


def test_a_job_runs_as_the_application_role_in_system_scope(world, two_retailers):
    rls._job_started()
    try:
        role, scope, *_ = rls.current()
        assert (role, scope) == ("auror_app", "system")
        assert raw_count("SELECT count(*) FROM events_event") == 3
    finally:
        rls._job_finished()
    assert rls.current()[:2] == ("none", "")


def test_system_is_an_explicit_narrow_exception(world, two_retailers):
    def look():
        with rls.system():
            inside = raw_count("SELECT count(*) FROM events_event")
        after = raw_count("SELECT count(*) FROM events_event")
        return inside, after

    assert in_request(world.investigator, look) == (3, 2)


def test_with_the_backstop_off_nothing_is_switched(world, two_retailers, settings):
    settings.AUROR_RLS = False
    assert in_request(world.investigator, lambda: raw_count("SELECT count(*) FROM events_event")) == 3


@pytest.mark.parametrize("statement", [
    "ALTER TABLE audit_auditentry DISABLE TRIGGER ALL",
    "ALTER TABLE events_event DISABLE ROW LEVEL SECURITY",
    "DROP POLICY auror_read ON events_event",
    "UPDATE audit_auditentry SET action = 'x'",
    "DELETE FROM audit_auditentry",
    "TRUNCATE audit_auditentry",
    "CREATE TABLE evil (id int)",
])
def test_the_application_role_can_switch_off_neither_the_backstop_nor_the_audit_log(world, two_retailers, statement):
    """The role requests and jobs run as owns nothing: what a superuser connection could do to the
    policies and the append-only audit log, it cannot (issue 11, probe finding 10)."""
    from audit.services import audit_record

    audit_record(action="test.row", actor=world.investigator)

    def attempt():
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(statement)
        except DatabaseError as exc:
            return str(exc).splitlines()[0]
        return None

    error = in_request(world.investigator, attempt)
    assert error is not None and ("permission denied" in error or "must be owner" in error
                                  or "append-only" in error), error


@pytest.mark.parametrize("rows", [3, 250])
def test_bulk_writes_work_for_a_session_held_to_the_policies(world, two_retailers, rows):
    """PostgreSQL refuses COPY into a table with policies from a session held to them: a few rows go
    by one INSERT, many through a temporary table (events.bulk)."""
    from decimal import Decimal

    from events.bulk import copy_insert
    from events.models import EventProduct

    mine, _ = two_retailers
    before = EventProduct.objects.filter(event=mine).count()
    rls._job_started()
    try:
        assert rls.current()[0] == "auror_app"
        copy_insert(EventProduct, [EventProduct(event=mine, sku=f"S{i}", description="Item", quantity=1,
                                                unit_value=Decimal("1.50")) for i in range(rows)])
    finally:
        rls._job_finished()
    assert EventProduct.objects.filter(event=mine).count() == before + rows
