"""Row-level security: the database's backstop behind the access policy (issue 11).

The access policy (auror.access) decides what each user may see; every query goes through it. This
module makes PostgreSQL refuse the one leak that must never happen even if a query forgets the
policy: one retailer reading another's rows. It does not copy the sharing rules: a row of a
tenant-owned table (TABLES) is visible to a session when any of these holds:

- its organisation is the session's organisation;
- the session is a law-enforcement agency's and the row is an event, a part of one or its evidence
  (the policy then filters further: sharing choices, jurisdiction, sensitivity);
- it is an event (or part, or evidence) covered by a recorded agreement between the two
  organisations or an approved disclosure to the session's organisation;
- an audit row the session's user is the actor of (rows written for another organisation: a police
  officer viewing a retailer's event);
- the session is a system job (Celery jobs, management commands, migrations).

Not in TABLES, on purpose: evidence data keys (wrapped under the master key, useless without it,
read by evidence.crypto for whoever may read the item; the access policy gives them to no one);
the matching engine's own index (blocking keys, compact records, hubs, weights, states), which only
jobs read; sharing agreements and disclosure requests, which belong to two organisations at once.

The session is described by three settings of the database session (`auror.scope`: "system",
"org" or "none"; `auror.org_id`; `auror.org_kind`, plus `auror.user_id`), set per request by
`RowLevelSecurityMiddleware` (and again by token authentication, which happens in the view), per
job by the Celery signals below, and reset after each. A session that set nothing is a system
job: management commands and the shell see everything, as they must; a web request always sets
its scope first, so one that forgot anything sees no tenant row (scope "none").

PostgreSQL does not apply row-level security to superusers or to a table's owner. Requests and
jobs therefore switch to the application role (settings.AUROR_DB_APP_ROLE, "auror_app", created
and granted by accounts migration 0005) for their duration: a role that owns nothing, may not
change or delete audit rows, and so can disable neither the policies nor the audit triggers. In
production the app logs in as that role (README, docker-compose.yml); the switch then changes
nothing. AUROR_RLS=off turns the switch and the settings off (the policies stay in the database,
unused by a superuser connection), to measure what the backstop costs.

Code that must read across tenants on purpose (token authentication before the organisation is
known; the pairs a rejection covers on the other side of a cross-retailer card) says so with
`with rls.system():`, which is as visible in review as `unscoped()`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, connection

# Tenant-owned tables and how a row finds its organisation: "org" (its organisation_id), "event"
# (its event's visibility), "item" (its evidence item's), "profile" (its profile's), "group" (its
# offender group's). The event-like ones ("event_read": also police, agreements, disclosures).
TABLES: dict[str, str] = {
    "events_event": "event_read",
    "events_eventperson": "event",
    "events_eventproduct": "event",
    "events_eventvehicle": "event",
    "events_eventdraft": "org",
    "events_importjob": "org",
    "evidence_evidenceitem": "item_read",
    "evidence_custodyentry": "item",
    "evidence_witnessstatement": "item",
    "profiles_profile": "org",
    "profiles_profilemember": "profile",
    "profiles_profilehistory": "profile",
    "profiles_vehicle": "org",
    "profiles_offendergroup": "org",
    "profiles_offendergroup_members": "group",
    "matching_suggestion": "org",
    "matching_judgement": "org",
    "accounts_apitoken": "org",
    "audit_auditentry": "audit",
}

SYSTEM, ORG, NONE = "system", "org", "none"


def enabled() -> bool:
    return bool(getattr(settings, "AUROR_RLS", True)) and connection.vendor == "postgresql"


SET_SQL = ("SELECT set_config('role', %s, false), set_config('auror.scope', %s, false),"
           " set_config('auror.org_id', %s, false), set_config('auror.org_kind', %s, false),"
           " set_config('auror.user_id', %s, false)")


def _params(*, scope: str, org_id: int | None = None, kind: str = "", user_id: int | None = None,
            role: str | None = None) -> list[str]:
    return [role or "none", scope, str(org_id or ""), kind, str(user_id or "")]


def _set(**scope) -> None:
    """One statement: the role and the four settings (for the session, not the transaction: a
    request's or job's statements run in many transactions)."""
    with connection.cursor() as cur:
        cur.execute(SET_SQL, _params(**scope))


def app_role() -> str:
    return getattr(settings, "AUROR_DB_APP_ROLE", "") or "none"


# The scope this thread's request or job wants: applied now, and again to a connection opened later
# in it (a reconnect after the database came back), so that a new connection never starts as a
# system job inside a request.
_wanted: contextvars.ContextVar[dict | None] = contextvars.ContextVar("auror_rls_scope", default=None)


def _want(scope: dict | None) -> None:
    if scope is not None and scope == _wanted.get() and connection.connection is not None:
        return  # already so (DRF's authentication after the middleware's): no round trip
    _wanted.set(scope)
    if scope is None:
        if connection.connection is None:
            return
        scope = {"scope": ""}
    try:
        _set(**scope)
    except DatabaseError:
        connection.close()  # the database is down or the connection broken: the next use reconnects
        # (and is given the scope by _on_connect) or fails as any other query would


def _on_connect(sender, connection, **kwargs) -> None:
    scope = _wanted.get()
    if scope is not None and enabled():
        with connection.cursor() as cur:  # the new connection, not the module's proxy
            cur.execute(SET_SQL, _params(**scope))


def enter_user(user) -> None:
    """The scope of a request by `user` (anonymous: no tenant row at all)."""
    if not enabled():
        return
    org = getattr(user, "organisation", None) if getattr(user, "is_authenticated", False) else None
    if org is None:
        _want({"scope": NONE, "role": app_role()})
        return
    _want({"scope": ORG, "org_id": org.pk, "kind": str(org.kind), "user_id": getattr(user, "pk", None) or None,
           "role": app_role()})


def enter_system() -> None:
    """The scope of a background job: every row, as the application role."""
    if enabled():
        _want({"scope": SYSTEM, "role": app_role()})


def leave() -> None:
    """Back to what the connection was before the request or job (its login role, no scope)."""
    if enabled():
        _want(None)


def current() -> tuple[str, str, str, str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('role'), coalesce(current_setting('auror.scope', true), ''),"
                    " coalesce(current_setting('auror.org_id', true), ''),"
                    " coalesce(current_setting('auror.org_kind', true), ''),"
                    " coalesce(current_setting('auror.user_id', true), '')")
        return cur.fetchone()


@contextlib.contextmanager
def system() -> Iterator[None]:
    """Read or write across tenants on purpose, for the statements inside; then back to the scope
    the request had. Keep what runs inside small, and never return its rows to a page."""
    if not enabled():
        yield
        return
    role, scope, org_id, kind, user_id = current()
    if scope in ("", SYSTEM):
        yield
        return
    _set(scope=SYSTEM, role=role)
    try:
        yield
    finally:
        _set(scope=scope, org_id=int(org_id) if org_id else None, kind=kind,
             user_id=int(user_id) if user_id else None, role=role)


class RowLevelSecurityMiddleware:
    """Sets the request's scope from the signed-in user (after AuthenticationMiddleware), and resets
    the connection when the response is ready."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        enter_user(request.user)
        try:
            return self.get_response(request)
        finally:
            leave()


def _job_started(**kwargs) -> None:
    enter_system()


def _job_finished(**kwargs) -> None:
    leave()


def connect_job_signals() -> None:
    from celery.signals import task_postrun, task_prerun
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_connect, dispatch_uid="auror.rls.connect")
    task_prerun.connect(_job_started, weak=False, dispatch_uid="auror.rls.prerun")
    task_postrun.connect(_job_finished, weak=False, dispatch_uid="auror.rls.postrun")


# --- The policies (accounts migration 0005 installs them; tests check every table has them) ------

FUNCTIONS = """
CREATE OR REPLACE FUNCTION auror_rls_system() RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT coalesce(nullif(current_setting('auror.scope', true), ''), 'system') = 'system' $$;
CREATE OR REPLACE FUNCTION auror_rls_org() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN current_setting('auror.scope', true) = 'org'
               THEN nullif(current_setting('auror.org_id', true), '')::bigint END $$;
CREATE OR REPLACE FUNCTION auror_rls_user() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN current_setting('auror.scope', true) = 'org'
               THEN nullif(current_setting('auror.user_id', true), '')::bigint END $$;
CREATE OR REPLACE FUNCTION auror_rls_police() RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT current_setting('auror.scope', true) = 'org'
          AND current_setting('auror.org_kind', true) = 'law_enforcement' $$;
-- An event of another retailer covered by an accepted, unrevoked agreement between the two, or
-- disclosed to the session's organisation by an approved, unexpired request (the sharing rules
-- themselves, regions and sensitivity, stay with the access policy).
CREATE OR REPLACE FUNCTION auror_rls_covered(event_org bigint, event bigint) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT EXISTS (SELECT 1 FROM sharing_agreement a
                  WHERE a.accepted_at IS NOT NULL AND a.revoked_at IS NULL
                    AND ((a.retailer_id = auror_rls_org() AND a.partner_id = event_org)
                         OR (a.partner_id = auror_rls_org() AND a.retailer_id = event_org)))
       OR EXISTS (SELECT 1 FROM sharing_disclosurerequest d
                  WHERE d.event_id = event AND d.requesting_organisation_id = auror_rls_org()
                    AND d.status = 'approved' AND d.expires_at > now()) $$;
"""

_READ = {
    "org": "organisation_id = auror_rls_org()",
    "event_read": "organisation_id = auror_rls_org() OR auror_rls_police() OR auror_rls_covered(organisation_id, id)",
    "event": "EXISTS (SELECT 1 FROM events_event e WHERE e.id = event_id)",
    "item_read": "EXISTS (SELECT 1 FROM events_event e WHERE e.id = event_id)",
    "item": "EXISTS (SELECT 1 FROM evidence_evidenceitem i WHERE i.id = item_id)",
    "profile": "EXISTS (SELECT 1 FROM profiles_profile p WHERE p.id = profile_id)",
    "group": "EXISTS (SELECT 1 FROM profiles_offendergroup g WHERE g.id = offendergroup_id)",
    "audit": "organisation_id = auror_rls_org() OR actor_id = auror_rls_user()",
}
# Changing or deleting: the organisation's own rows only (police and partners only read).
_WRITE = {
    **_READ,
    "event_read": "organisation_id = auror_rls_org()",
    "item_read": "organisation_id = auror_rls_org()",
    "audit": "false",  # append-only: the grants and triggers refuse it too
}


def policies_sql(table: str, kind: str) -> str:
    read, write = _READ[kind], _WRITE[kind]
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS auror_read ON {table};
DROP POLICY IF EXISTS auror_insert ON {table};
DROP POLICY IF EXISTS auror_update ON {table};
DROP POLICY IF EXISTS auror_delete ON {table};
CREATE POLICY auror_read ON {table} FOR SELECT USING (auror_rls_system() OR {read});
CREATE POLICY auror_insert ON {table} FOR INSERT WITH CHECK (true);
CREATE POLICY auror_update ON {table} FOR UPDATE USING (auror_rls_system() OR {write});
CREATE POLICY auror_delete ON {table} FOR DELETE USING (auror_rls_system() OR {write});
"""


def install_sql() -> str:
    return FUNCTIONS + "".join(policies_sql(t, k) for t, k in TABLES.items())


def uninstall_sql() -> str:
    parts = [f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY;"
             + "".join(f" DROP POLICY IF EXISTS {p} ON {t};" for p in ("auror_read", "auror_insert", "auror_update",
                                                                       "auror_delete"))
             for t in TABLES]
    parts.append("DROP FUNCTION IF EXISTS auror_rls_covered(bigint, bigint); DROP FUNCTION IF EXISTS auror_rls_police();"
                 " DROP FUNCTION IF EXISTS auror_rls_user(); DROP FUNCTION IF EXISTS auror_rls_org();"
                 " DROP FUNCTION IF EXISTS auror_rls_system();")
    return "\n".join(parts)
