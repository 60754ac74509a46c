"""The permission matrix: every URL route × every role × own tenant / other tenant.

How it works
------------
* Every route the resolver knows (`django.urls.get_resolver()`, walked recursively: DRF router routes
  and their format-suffix variants included) must have an entry in MATRIX, or be listed in EXEMPT with
  the reason. A new route without an entry fails `test_every_route_is_in_the_matrix`: add one.
* An entry says how to build the route's URL from one tenant's objects (`args`), and, for each HTTP
  method the route has, what each persona gets for the object of their own tenant and for the same
  kind of object of another tenant. Personas are the `world` fixture's, signed in the way a real sign-in
  leaves them (roles that require MFA with a verified second factor: this tests the access policy,
  not MFA). Police requests carry a purpose and a case reference.
* Each request also runs with ids that do not exist ("missing"): another tenant's object must get the
  same answer as a missing one (unless an entry says otherwise, with the reason).
* Methods an entry does not list must never succeed: 405, or the refusal the persona gets anyway.
* Every request runs in a savepoint that is rolled back, so a delete in one cell does not change
  the next one.

* Methods a persona is refused on everywhere (403 for any id) are not probed further: the role gate
  answers first.

Adding a route: add `"namespace:name": Route(args=..., GET=grant({...}), POST=...)` to MATRIX. `grant`
gives the listed personas their status for their own tenant's object and 404 for another tenant's;
personas not listed are refused (403) whatever the id. Use a (own, other) or (own, other, missing)
tuple where a persona differs. A route taking a new kind of object needs a field in `Objects`, made in
the `scene` fixture (or `ctd_scene` for Connect the Dots and sharing); its name prefix must belong to
one of GROUPS.
"""

from __future__ import annotations

import functools
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PERSONAS = ("staff", "investigator", "admin", "officer", "police_admin", "operator")
ANON = "anonymous"
EVERYONE = (*PERSONAS, ANON)
# The same role in another organisation: the "other tenant" of each persona. The platform operator's
# other tenant is a retailer (Acme), whose content it must never see.
COUNTERPART = {"staff": "other_staff", "investigator": "other_investigator", "admin": "other_admin",
               "officer": "officer_wlg", "police_admin": "police_admin_wlg", "operator": "admin"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
POLICE_QUERY = "purpose=permission+matrix&case_reference=M-1"

LOGIN = "login"  # a 302 to the sign-in page
HEALTH = frozenset({200, 503})  # /healthz reports the services; its status is theirs, not the policy's
MISSING_PK = 2_000_000_000

RETAIL = ("staff", "investigator", "admin")
RECORDERS = RETAIL
READERS = (*RETAIL, "officer")
MANAGERS = ("admin", "police_admin", "operator")

# Routes with no entry, and why. (Static files are served by WhiteNoise middleware, not by a route;
# Django's own admin site is not routed.)
EXEMPT: dict[str, str] = {}

# Behaviour found that the policy does not want, reported to the owner of the view. Each entry must
# still happen (the test fails when one is fixed, so the entry is removed).
# (route, method or "*", persona or "*", "format" for format-suffix URLs only, or "*") → what happens.
KNOWN_DEVIATIONS: dict[tuple[str, str, str, str], str] = {}


def deviation(name: str, method: str, persona: str, url_kind: str) -> tuple[str, str, str, str] | None:
    for key in KNOWN_DEVIATIONS:
        n, m, p, k = key
        if n == name and m in ("*", method) and p in ("*", persona) and k in ("*", url_kind):
            return key
    return None


# --- the matrix's vocabulary ---------------------------------------------------------------------

Expect = int | str | frozenset
Cell = tuple  # (own, other) or (own, other, missing)


def grant(ok: dict[str, Expect | Cell], *, refused: Expect = 403, anon: Expect = LOGIN) -> dict[str, Cell]:
    """Personas in `ok` get their status for their own tenant's object and 404 for another's; every
    other signed-in persona gets `refused` whatever the id (the role may not use the route at all);
    signed-out visitors get `anon`."""
    out: dict[str, Cell] = {}
    for persona in PERSONAS:
        value = ok.get(persona)
        if value is None:
            out[persona] = (refused, refused)
        elif isinstance(value, tuple):
            out[persona] = value
        else:
            out[persona] = (value, 404)
    out[ANON] = anon if isinstance(anon, tuple) else (anon, anon)
    return out


def everyone(status: Expect, *, anon: Expect = LOGIN) -> dict[str, Cell]:
    return grant(dict.fromkeys(PERSONAS, (status, status)), anon=anon)


def public(status: Expect, *, signed_in: Expect | None = None) -> dict[str, Cell]:
    """The same answer for every persona and signed-out visitors (no tenant object involved)."""
    out = {p: (signed_in if signed_in is not None else status,) * 2 for p in PERSONAS}
    out[ANON] = (status, status)
    return out


def api(ok: dict[str, Expect | Cell], *, refused: Expect = 403) -> dict[str, Cell]:
    """An API route: signed-out callers get 401 (problem details, WWW-Authenticate: Bearer)."""
    return grant(ok, refused=refused, anon=401)


@dataclass(frozen=True)
class Objects:
    """One tenant's objects, as a persona sees them: URL arguments are built from these."""

    org: int
    store: int
    user: int  # a member of the organisation whom its admins manage
    event: int  # an event the organisation's people may see (for police: one shared with the agency)
    evidence: int  # an evidence item on that event
    import_job: int
    synonym: int  # a descriptor synonym the retailer added
    draft: uuid.UUID  # the persona's own draft
    token: int  # the persona's own API token
    audit: int  # a row of the organisation's audit log
    invite: tuple[str, str]  # an invitation link (uidb64, token) for a new member
    # Connect the Dots and sharing (filled by the `ctd_scene` fixture, for the routes that need them)
    suggestion: int = MISSING_PK  # a suggestion between two of the retailer's own events
    judgement: int = MISSING_PK  # its acceptance
    profile: int = MISSING_PK
    vehicle: int = MISSING_PK
    group: int = MISSING_PK  # an offender group
    lexicon: int = MISSING_PK  # an entry the retailer added to the guardrails lexicon
    agreement: int = MISSING_PK  # a sharing agreement the retailer proposed (pending: nothing shared yet)
    cross_match: int = MISSING_PK  # a cross-retailer suggestion of the retailer's
    disclosure: int = MISSING_PK  # a disclosure request the retailer made (pending)


@dataclass
class Route:
    args: Callable[[Objects], dict] | None = None
    GET: dict[str, Cell] | None = None
    POST: dict[str, Cell] | None = None
    PUT: dict[str, Cell] | None = None
    PATCH: dict[str, Cell] | None = None
    DELETE: dict[str, Cell] | None = None
    # Personas who reach another tenant's object by design (the platform operator provisions
    # tenants: their settings and users, never their content).
    crosses_tenants: frozenset[str] = frozenset()
    note: str = ""
    formats: bool = True  # format-suffix variants (DRF) answer like the route itself
    data: dict | None = None  # the form posted (default: an empty form)
    json: dict | None = None  # a JSON body for POST, PUT and PATCH instead (default for PUT/PATCH: {})
    sends_signed_in_away: bool = False  # signed-in people are redirected whatever the method

    def methods(self) -> dict[str, dict[str, Cell]]:
        return {m: getattr(self, m) for m in METHODS if getattr(self, m) is not None}


def by(name: str) -> Callable[[Objects], dict]:
    return lambda o: {"pk": getattr(o, name)}


EVENT = by("event")
EVIDENCE = by("evidence")
USER = by("user")
STORE = by("store")
ORG = by("org")
JOB = by("import_job")
AUDIT = by("audit")


# --- THE MATRIX ------------------------------------------------------------------------------------

MATRIX: dict[str, Route] = {
    # Signing in and out, the second factor, the Security page (accounts/views_auth.py)
    "home": Route(GET=everyone(200)),
    "login": Route(GET=public(200, signed_in=302), POST=public(400), data={"email": "", "password": ""},
                   note="a signed-in person is sent on; a bad form is a 400 whoever posts it"),
    "sso_start": Route(GET=public(200), POST=public(400), data={"organisation": ""}),
    "logout": Route(POST=public(LOGIN)),
    "mfa_verify": Route(GET=everyone(302), POST=everyone(302),
                        note="a verified session has no code to give: back to the page it came from"),
    "mfa_enrol": Route(
        GET=grant({"staff": 200, "investigator": 200, "admin": 302, "officer": 302, "police_admin": 302,
                   "operator": 302}),
        POST=grant({"staff": 400, "investigator": 400, "admin": 302, "officer": 302, "police_admin": 302,
                    "operator": 302}), data={"code": ""},
        note="MFA already on (every role that requires it): sent to the Security page"),
    "security": Route(GET=everyone(200)),
    "mfa_disable": Route(POST=everyone(400)),
    "mfa_backup_codes": Route(
        POST=grant({"staff": 302, "investigator": 302, "admin": 200, "officer": 200, "police_admin": 200,
                    "operator": 200}),
        note="without MFA there are no backup codes: back to the Security page"),
    "security_token_create": Route(POST=everyone(400)),
    "security_token_revoke": Route(args=by("token"), POST=grant(dict.fromkeys(PERSONAS, 302)),
                                   note="only the persona's own token; a colleague's is a 404 too"),

    # Administration (accounts/views_admin.py)
    "accounts:users": Route(GET=grant(dict.fromkeys(MANAGERS, 200))),
    "accounts:user_create": Route(GET=grant(dict.fromkeys(MANAGERS, 200)),
                                  POST=grant({"admin": 400, "police_admin": 400, "operator": 404}),
                                  note="an operator posts for an organisation picked first (?organisation=)"),
    "accounts:user_edit": Route(args=USER, GET=grant({"admin": 200, "police_admin": 200, "operator": (200, 200, 404)}),
                                POST=grant({"admin": 400, "police_admin": 400, "operator": (400, 400, 404)}),
                                crosses_tenants=frozenset({"operator"})),
    "accounts:user_deactivate": Route(args=USER, POST=grant({"admin": 302, "police_admin": 302,
                                                             "operator": (302, 302, 404)}),
                                      crosses_tenants=frozenset({"operator"})),
    "accounts:user_reactivate": Route(args=USER, POST=grant({"admin": 302, "police_admin": 302,
                                                             "operator": (302, 302, 404)}),
                                      crosses_tenants=frozenset({"operator"})),
    "accounts:stores": Route(GET=grant({"admin": 200, "operator": 200})),
    "accounts:store_create": Route(GET=grant({"admin": 200, "operator": 200}),
                                   POST=grant({"admin": 400, "operator": 404})),
    "accounts:store_edit": Route(args=STORE, GET=grant({"admin": 200, "operator": (404, 200, 404)}),
                                 POST=grant({"admin": 400, "operator": (404, 400, 404)}),
                                 crosses_tenants=frozenset({"operator"}),
                                 note="the platform has no stores of its own: the operator's own is a missing id"),
    "accounts:store_deactivate": Route(args=STORE, POST=grant({"admin": 302, "operator": (404, 302, 404)}),
                                       crosses_tenants=frozenset({"operator"})),
    "accounts:store_reactivate": Route(args=STORE, POST=grant({"admin": 302, "operator": (404, 302, 404)}),
                                       crosses_tenants=frozenset({"operator"})),
    "accounts:organisation": Route(GET=grant({"admin": 200, "police_admin": 200}),
                                   POST=grant({"admin": 400, "police_admin": 302})),
    "accounts:sso_settings": Route(args=ORG, GET=grant({"admin": 200, "police_admin": 200}),
                                   POST=grant({"admin": 400, "police_admin": 400}),
                                   note="the organisation's own OIDC provider, keyed by the organisation"),
    "accounts:tenants": Route(GET=grant({"operator": 200})),
    "accounts:tenant_create": Route(GET=grant({"operator": 200}), POST=grant({"operator": 400})),
    "accounts:tenant_edit": Route(args=ORG, GET=grant({"operator": (200, 200, 404)}),
                                  POST=grant({"operator": (400, 400, 404)}),
                                  crosses_tenants=frozenset({"operator"})),
    "accounts:invite_accept": Route(
        args=lambda o: {"uidb64": o.invite[0], "token": o.invite[1]},
        GET=grant(dict.fromkeys(PERSONAS, (302, 302, 302)), anon=(200, 200, 404)),
        POST=grant(dict.fromkeys(PERSONAS, (302, 302, 302)), anon=(400, 400, 404)), sends_signed_in_away=True,
        note="public: the signed link is the proof, for whichever organisation; signed-in people are sent home"),

    # Events in the browser (events/views.py, views_capture.py, views_import.py)
    "events:list": Route(GET=grant(dict.fromkeys(READERS, 200))),
    "events:detail": Route(args=EVENT, GET=grant(dict.fromkeys(READERS, 200))),
    "events:create": Route(GET=grant(dict.fromkeys(RECORDERS, 200)), POST=grant(dict.fromkeys(RECORDERS, 400))),
    "events:edit": Route(args=EVENT, GET=grant(dict.fromkeys(RECORDERS, 200)),
                         POST=grant(dict.fromkeys(RECORDERS, 400))),
    "events:delete": Route(args=EVENT, GET=grant({"staff": 403, "investigator": 403, "admin": 200}),
                           POST=grant({"staff": 403, "investigator": 403, "admin": 302}),
                           note="staff and investigators see the event but may not delete it: 403; "
                                "another retailer's event: 404"),
    "events:drafts": Route(GET=grant(dict.fromkeys(RECORDERS, 200))),
    "events:draft_save": Route(args=lambda o: {"key": o.draft}, POST=grant(dict.fromkeys(RECORDERS, (200, 404, 200))),
                               json={"data": {"type": "theft"}},
                               note="a new key makes a new draft (200); another user's key is a 404"),
    "events:draft_discard": Route(args=lambda o: {"key": o.draft}, POST=grant(dict.fromkeys(RECORDERS, 302))),
    "events:import": Route(GET=grant({"investigator": 200, "admin": 200}),
                           POST=grant({"investigator": 400, "admin": 400})),
    "events:import_job": Route(args=JOB, GET=grant({"investigator": 200, "admin": 200})),
    "events:import_status": Route(args=JOB, GET=grant({"investigator": 200, "admin": 200})),
    "events:import_errors": Route(args=JOB, GET=grant({"investigator": 200, "admin": 200})),
    "events:import_warnings": Route(args=JOB, GET=grant({"investigator": 200, "admin": 200})),
    "events:synonyms": Route(GET=grant({"investigator": 200, "admin": 200}),
                             POST=grant({"investigator": 403, "admin": 400}),
                             note="investigators read the table (they import); only admins add to it"),
    "events:synonym_remove": Route(args=by("synonym"), POST=grant({"investigator": 403, "admin": 302}),
                                   note="investigators see the entry but may not remove it: 403; another "
                                        "retailer's: 404"),
    "events:export": Route(GET=grant({"investigator": 200, "admin": 200, "officer": 200})),
    "events:catalogue": Route(GET=grant({"admin": 200}), POST=grant({"admin": 400})),
    "events:product_search": Route(GET=grant(dict.fromkeys(RETAIL, 200))),

    # The evidence locker in the browser (evidence/views.py)
    "evidence:event": Route(args=EVENT, GET=grant(dict.fromkeys(READERS, 200))),
    "evidence:upload": Route(args=EVENT, POST=grant(dict.fromkeys(RECORDERS, 400))),
    "evidence:statement": Route(args=EVENT, GET=grant(dict.fromkeys(RECORDERS, 200)),
                                POST=grant(dict.fromkeys(RECORDERS, 400))),
    "evidence:item": Route(args=EVIDENCE, GET=grant(dict.fromkeys(READERS, 200))),
    "evidence:download": Route(args=EVIDENCE, GET=grant(dict.fromkeys(READERS, 200))),
    "evidence:thumbnail": Route(args=EVIDENCE, GET=grant(dict.fromkeys(READERS, 200))),
    "evidence:delete": Route(args=EVIDENCE, GET=grant({"staff": 403, "investigator": 403, "admin": 200, "officer": 403}),
                             POST=grant({"staff": 403, "investigator": 403, "admin": 302, "officer": 403})),

    # The audit log in the browser (audit/views.py)
    "audit:list": Route(GET=grant(dict.fromkeys(MANAGERS, 200))),
    "audit:export": Route(GET=grant(dict.fromkeys(MANAGERS, 200))),
    "audit:detail": Route(args=AUDIT, GET=grant(dict.fromkeys(MANAGERS, 200))),

    # Connect the Dots review (matching/views.py)
    "matching:queue": Route(GET=grant({"investigator": 200, "admin": 200})),
    "matching:suggestion": Route(args=by("suggestion"), GET=grant({"investigator": 200, "admin": 200})),
    "matching:judge": Route(args=by("suggestion"), POST=grant({"investigator": 400, "admin": 400})),
    "matching:bulk_reject": Route(POST=grant({"investigator": 400, "admin": 400})),
    "matching:judgements": Route(GET=grant({"investigator": 200, "admin": 200})),
    "matching:undo": Route(args=by("judgement"), POST=grant({"investigator": 302, "admin": 302})),
    "matching:settings": Route(GET=grant({"admin": 200}), POST=grant({"admin": 400})),

    # Profiles, vehicles, offender groups (profiles/views.py)
    "profiles:list": Route(GET=grant({"investigator": 200, "admin": 200})),
    "profiles:detail": Route(args=by("profile"), GET=grant({"investigator": 200, "admin": 200})),
    "profiles:merge": Route(args=by("profile"), POST=grant({"investigator": 400, "admin": 400})),
    "profiles:split": Route(args=by("profile"), POST=grant({"investigator": 400, "admin": 400})),
    "profiles:vehicles": Route(GET=grant({"investigator": 200, "admin": 200})),
    "profiles:vehicle": Route(args=by("vehicle"), GET=grant({"investigator": 200, "admin": 200})),
    "profiles:groups": Route(GET=grant({"investigator": 200, "admin": 200})),
    "profiles:group": Route(args=by("group"), GET=grant({"investigator": 200, "admin": 200})),
    "profiles:group_decide": Route(args=by("group"), POST=grant({"investigator": 400, "admin": 400})),

    # The guardrails lexicon (guardrails/views.py)
    "guardrails:lexicon": Route(GET=grant({"admin": 200}), POST=grant({"admin": 400})),
    "guardrails:entry_disable": Route(args=by("lexicon"), POST=grant({"admin": 302})),
    "guardrails:entry_enable": Route(args=by("lexicon"), POST=grant({"admin": 302})),

    # Sharing between retailers (sharing/views.py)
    "sharing:agreements": Route(GET=grant({"admin": 200})),
    "sharing:agreement_propose": Route(GET=grant({"admin": 200}), POST=grant({"admin": 400})),
    "sharing:agreement_accept": Route(args=by("agreement"), POST=grant({"admin": 400}),
                                      note="the proposer cannot accept its own proposal: 400 with the reason"),
    "sharing:agreement_revoke": Route(args=by("agreement"), POST=grant({"admin": 302})),
    "sharing:cross_matches": Route(GET=grant({"investigator": 200, "admin": 200})),
    "sharing:cross_match": Route(args=by("cross_match"), GET=grant({"investigator": 200, "admin": 200})),
    "sharing:disclosure_request": Route(args=by("cross_match"), POST=grant({"investigator": 400, "admin": 400})),
    "sharing:disclosures": Route(GET=grant({"investigator": 200, "admin": 200})),
    "sharing:disclosure": Route(args=by("disclosure"), GET=grant({"investigator": 200, "admin": 200}),
                                POST=grant({"investigator": 403, "admin": 403}),
                                note="the holder decides: the requesting retailer sees its request but gets 403"),

    # Single sign-on (accounts/urls_oidc.py)
    "oidc_authentication_init": Route(GET=public(302)),
    "oidc_authentication_callback": Route(GET=public(LOGIN), note="no sign-in under way: back to the sign-in page"),

    # The API (events/api.py, evidence/api.py)
    "api-root": Route(GET=api(dict.fromkeys(PERSONAS, 200))),
    "event-list": Route(GET=api(dict.fromkeys(PERSONAS, 200)),
                        POST=api({"staff": 400, "investigator": 400, "admin": 400}),
                        note="every role lists what the policy lets it see (nothing, for some)"),
    "event-detail": Route(args=EVENT, GET=api(dict.fromkeys(READERS, 200), refused=404),
                          PUT=api({**dict.fromkeys(RECORDERS, 400), "officer": 403}, refused=404),
                          PATCH=api({**dict.fromkeys(RECORDERS, 200), "officer": 403}, refused=404),
                          DELETE=api({"staff": 403, "investigator": 403, "admin": 204, "officer": 403}, refused=404),
                          note="the API has no role gate: a role that may not see the event gets the 404 of a "
                               "missing one; one that sees it but may not change it gets 403"),
    "event-export": Route(GET=api({"investigator": 200, "admin": 200, "officer": 200})),
    "event-evidence": Route(args=lambda o: {"event_id": o.event},
                            GET=api(dict.fromkeys(READERS, 200), refused=404),
                            POST=api({**dict.fromkeys(RECORDERS, 400), "officer": 403}, refused=404)),
    "event-statements": Route(args=lambda o: {"event_id": o.event},
                              POST=api({**dict.fromkeys(RECORDERS, 400), "officer": 403}, refused=404)),
    "evidence-api-list": Route(GET=api(dict.fromkeys(PERSONAS, 200))),
    "evidence-api-detail": Route(args=EVIDENCE, GET=api(dict.fromkeys(READERS, 200), refused=404),
                                 DELETE=api({"staff": 403, "investigator": 403, "admin": 204, "officer": 403},
                                            refused=404)),
    "evidence-api-download": Route(args=EVIDENCE, GET=api(dict.fromkeys(READERS, 200), refused=404)),
    "cross-match-list": Route(GET=api({"investigator": 200, "admin": 200})),
    "cross-match-detail": Route(args=by("cross_match"), GET=api({"investigator": 200, "admin": 200})),
    "cross-match-disclosure-request": Route(args=by("cross_match"), POST=api({"investigator": 400, "admin": 400})),
    "disclosure-request-list": Route(GET=api({"investigator": 200, "admin": 200})),
    "disclosure-request-detail": Route(args=by("disclosure"), GET=api({"investigator": 200, "admin": 200})),
    "disclosure-request-decision": Route(args=by("disclosure"), POST=api({"investigator": 403, "admin": 403}),
                                         note="the holder decides: the requesting retailer gets 403"),

    # Schema, docs, health
    "schema": Route(GET=public(200)),
    "api-docs": Route(GET=public(200)),
    "healthz": Route(GET=public(HEALTH)),
}


# --- the routes the resolver knows ----------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str | None
    pattern: str
    has_format: bool
    callback: str


@functools.cache
def all_patterns() -> tuple[Pattern, ...]:
    out: list[Pattern] = []

    def walk(resolver, prefix: str, namespace: str | None) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = p.name and (f"{namespace}:{p.name}" if namespace else p.name)
                cb = p.callback
                out.append(Pattern(name, prefix + str(p.pattern), "format" in p.pattern.regex.groupindex,
                                   f"{getattr(cb, '__module__', '?')}.{getattr(cb, '__qualname__', '?')}"))

    walk(get_resolver(), "", None)
    return tuple(out)


def test_every_route_is_in_the_matrix():
    patterns = all_patterns()
    unnamed = [p.pattern for p in patterns if not p.name and p.pattern not in EXEMPT]
    assert not unnamed, f"routes without a name cannot be in the matrix: {unnamed}"
    names = {p.name for p in patterns}
    missing = sorted(names - MATRIX.keys() - EXEMPT.keys())
    assert not missing, (
        "routes missing from the permission matrix (add them to MATRIX in tests/test_permission_matrix.py):\n  "
        + "\n  ".join(f"{p.name}  {p.pattern}" for p in patterns if p.name in missing))
    stale = sorted(MATRIX.keys() - names)
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def test_the_matrix_says_cross_tenant_is_404():
    """What the matrix expects: another tenant's object is a 404 (or the refusal a role gets for any id),
    except for the personas an entry names in crosses_tenants (the operator's provisioning)."""
    wrong = []
    for name, route in MATRIX.items():
        if route.args is None:
            continue
        for method, cells in route.methods().items():
            for persona, cell in cells.items():
                own, other = cell[0], cell[1]
                if persona in route.crosses_tenants or name == "accounts:invite_accept":
                    continue
                if other != 404 and other != own:
                    wrong.append(f"{method} {name} {persona}: other tenant {other}")
    assert not wrong, wrong


# --- the scene: two of every tenant, objects of each ------------------------------------------------


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (24, 16), (40, 120, 200)).save(out, format="PNG")
    return out.getvalue()


class _Upload(io.BytesIO):
    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name
        self.size = len(data)


def _invite(user) -> tuple[str, str]:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


@dataclass
class Scene:
    world: object
    bundles: dict[str, Objects] = field(default_factory=dict)  # persona or counterpart name → objects
    missing: Objects | None = None


@pytest.fixture
def scene(world, settings, tmp_path) -> Scene:
    from accounts.models import Role
    from accounts.tokens import token_create
    from audit.services import audit_record
    from events.models import EventDraft, ImportJob
    from events.services_vocabulary import descriptor_synonym_add
    from evidence.services import derivative_make, evidence_upload
    from tests.factories import EventFactory, UserFactory

    settings.MEDIA_ROOT = str(tmp_path / "media")
    w = world
    w.users["police_admin_wlg"] = UserFactory(email="padmin@police-wlg.test", organisation=w.pol_wlg,
                                              role=Role.POLICE_ADMIN)
    ops2 = UserFactory(email="ops2@auror.test", organisation=w.platform, role=Role.PLATFORM_OPERATOR)

    events = {
        "acme": EventFactory(store=w.acme_akl, created_by=w.staff),  # pol-akl's jurisdiction covers it
        "bmart": EventFactory(store=w.bmart_akl, created_by=w.other_staff),
        "pol-wlg": EventFactory(store=w.acme_wlg, created_by=w.staff_wlg),  # Wellington's only
    }
    events["pol-akl"] = events["acme"]
    items = {}
    for slug, event in events.items():
        if slug not in items:
            stored = evidence_upload(actor=event.created_by, event=event, files=[_Upload(_png(), f"{slug}.png")])
            items[slug] = stored.stored[0]
            derivative_make(item_id=items[slug].pk)
    synonyms = {slug: descriptor_synonym_add(actor=admin, organisation=admin.organisation, field="build",
                                             value=f"big {slug}", maps_to="heavy")
                for slug, admin in (("acme", w.admin), ("bmart", w.other_admin))}
    jobs = {org: ImportJob.objects.create(organisation=user.organisation, user=user, original_name="shrink.csv",
                                          status=ImportJob.Status.DONE,
                                          errors=[{"line": 2, "field": "store", "reason": "No store"}])
            for org, user in (("acme", w.investigator), ("bmart", w.other_investigator))}
    colleagues = {"acme": w.staff_wlg, "bmart": w.other_staff, "pol-akl": w.officer, "pol-wlg": w.officer_wlg,
                  "platform": ops2}
    stores = {"acme": w.acme_akl, "bmart": w.bmart_akl}
    audits = {slug: audit_record(action="matrix.seed", actor=user) for slug, user in
              (("acme", w.admin), ("bmart", w.other_admin), ("pol-akl", w.police_admin),
               ("pol-wlg", w.police_admin_wlg), ("platform", w.operator))}
    invites = {}
    for slug in ("acme", "bmart", "pol-akl", "pol-wlg", "platform"):
        invitee = UserFactory(email=f"new@{slug}.test", organisation=colleagues[slug].organisation,
                              role=colleagues[slug].role)
        invitee.set_unusable_password()
        invitee.save(update_fields=["password"])
        invites[slug] = _invite(invitee)

    scene = Scene(world=w)
    for name in (*PERSONAS, *COUNTERPART.values()):
        user = getattr(w, name)
        slug = user.organisation.slug
        draft = EventDraft.objects.create(key=uuid.uuid4(), organisation=user.organisation, user=user,
                                          data={"type": "theft"}) if user.is_retailer_user else None
        token, _ = token_create(organisation=user.organisation, user=user, name="matrix")
        scene.bundles[name] = Objects(
            org=user.organisation_id, store=getattr(stores.get(slug), "pk", MISSING_PK),
            user=colleagues[slug].pk, event=getattr(events.get(slug), "pk", MISSING_PK),
            evidence=getattr(items.get(slug), "pk", MISSING_PK),
            import_job=getattr(jobs.get(slug), "pk", MISSING_PK),
            synonym=getattr(synonyms.get(slug), "pk", MISSING_PK),
            draft=draft.key if draft else uuid.uuid4(), token=token.pk, audit=audits[slug].pk, invite=invites[slug])
    scene.missing = Objects(org=MISSING_PK, store=MISSING_PK, user=MISSING_PK, event=MISSING_PK,
                            evidence=MISSING_PK, import_job=MISSING_PK, synonym=MISSING_PK, draft=uuid.uuid4(),
                            token=MISSING_PK,
                            audit=MISSING_PK, invite=("MjAwMDAwMDAwMA", "bad-token"))
    return scene


@pytest.fixture
def ctd_scene(scene) -> Scene:
    """Connect the Dots and sharing objects, made by the real engine and services: a suggestion
    between two of each retailer's events, accepted into a profile (with a vehicle) and an offender
    group; a lexicon entry; a pending agreement; a cross-retailer suggestion and a pending disclosure
    request. Acme's are with B-Mart; B-Mart's (the other tenant's) are with a third retailer, C-Mart,
    so that none of them is Acme's too."""
    import dataclasses

    from accounts.models import OrgKind, Role
    from guardrails.services import lexicon_entry_add
    from matching.models import Suggestion
    from matching.services_review import judgement_record
    from profiles.models import OffenderGroup, Vehicle
    from sharing.models import Agreement
    from sharing.services import disclosure_request_create
    from tests.factories import OrganisationFactory, StoreFactory, UserFactory
    from tests.profiles.helpers import JOHN, JON, record, suggestion_between
    from tests.sharing.helpers import ACME_PERSON, BMART_PERSON, opt_in
    from tests.sharing.helpers import record as record_cross

    w = scene.world
    cmart = OrganisationFactory(slug="cmart", name="C-Mart", kind=OrgKind.RETAILER)
    cmart_store = StoreFactory(organisation=cmart, code="CM-001", name="C-Mart Onehunga", region="AKL")
    UserFactory(email="inv@cmart.test", organisation=cmart, role=Role.INVESTIGATOR)
    opt_in(w.acme, w.bmart, cmart)

    made: dict[str, dict[str, int]] = {}
    for slug, org, store, investigator, admin, partner, partner_store in (
            ("acme", w.acme, w.acme_akl, w.investigator, w.admin, w.bmart, w.bmart_akl),
            ("bmart", w.bmart, w.bmart_akl, w.other_investigator, w.other_admin, cmart, cmart_store)):
        first = record(w, store=store, user=investigator, persons=[JON], days_ago=3,
                       vehicles=[{"plate": "KBO812", "person_ref": "p1"}])
        second = record(w, store=store, user=investigator, persons=[JOHN], days_ago=1)
        suggestion = suggestion_between(second, first)
        judgement = judgement_record(actor=investigator, suggestion=suggestion, decision="accept")
        profile = judgement.members.first().profile
        group = OffenderGroup.objects.create(organisation=org, status=OffenderGroup.Status.SUGGESTED,
                                             co_occurrences=2)
        group.members.add(profile)
        entry = lexicon_entry_add(actor=admin, organisation=org, term=f"zorblax{slug}", category="ethnicity",
                                  context="always", note="matrix")
        agreement = Agreement.objects.create(retailer=org, partner=partner, proposed_by=admin)
        # The other retailer saw him first; this retailer's run makes the cross-retailer suggestion.
        record_cross(partner_store, BMART_PERSON if slug == "acme" else ACME_PERSON, days_ago=5)
        mine = record_cross(store, ACME_PERSON if slug == "acme" else BMART_PERSON, days_ago=2)
        cross = Suggestion.objects.get(person__event=mine, other_organisation=partner)
        disclosure = disclosure_request_create(actor=investigator, suggestion=cross,
                                               reason="Same man at our store twice this week.")
        made[slug] = {"suggestion": suggestion.pk, "judgement": judgement.pk, "profile": profile.pk,
                      "vehicle": Vehicle.objects.filter(organisation=org).values_list("pk", flat=True).first(),
                      "group": group.pk, "lexicon": entry.pk, "agreement": agreement.pk, "cross_match": cross.pk,
                      "disclosure": disclosure.pk}
    for name, objects in scene.bundles.items():
        slug = getattr(w, name).organisation.slug
        if slug in made:
            scene.bundles[name] = dataclasses.replace(objects, **made[slug])
    return scene


def session_cookie(user) -> str:
    """A session as a full sign-in leaves it; roles that require MFA have verified a TOTP device."""
    from django.conf import settings
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user, backend="accounts.backends.EmailBackend")
    if user.mfa_required:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="matrix phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class _Rollback(Exception):
    pass


def request(cookie: str | None, method: str, url: str, route: Route):
    """One request in a savepoint that is rolled back afterwards, from a fresh client (so a sign-out
    or a cookie set by one cell does not carry into the next). A view that raises answers 500."""
    import json

    from django.conf import settings

    client = Client(raise_request_exception=False)
    if cookie:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    url = f"{url}{'&' if '?' in url else '?'}{POLICE_QUERY}"
    response = None
    try:
        with transaction.atomic():
            if method == "GET":
                response = client.get(url)
            elif method == "DELETE":
                response = client.delete(url)
            elif method == "POST" and route.json is None:
                response = client.post(url, route.data or {})
            else:
                response = client.generic(method, url, json.dumps(route.json or {}), content_type="application/json")
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)  # a streamed body is read inside the savepoint
            raise _Rollback
    except _Rollback:
        pass
    return response


def outcome(response) -> str:
    code = response.status_code
    if code == 302 and response["Location"].startswith("/accounts/login/"):
        return LOGIN
    return str(code)


def matches(expect: Expect, got: str) -> bool:
    if isinstance(expect, frozenset):
        return any(matches(e, got) for e in expect)
    return str(expect) == got


def urls_for(name: str, route: Route, objects: Objects) -> list[tuple[str, str]]:
    """(url, kind): the route's URL for these objects, and its format-suffix variant ("format")."""
    kwargs = route.args(objects) if route.args else {}
    out = set()
    for p in all_patterns():
        if p.name != name:
            continue
        if p.has_format:
            if route.formats:
                out.add((reverse(name, kwargs={**kwargs, "format": "json"}), "format"))
        else:
            out.add((reverse(name, kwargs=kwargs), ""))
    return sorted(out)


REFUSALS = {"401", "403", "404", LOGIN}


def run_matrix(scene: Scene, names: list[str]) -> tuple[list[str], set[tuple[str, str, str, str]]]:
    """Every cell of the named routes: the mismatches, and the known deviations that did happen."""
    w = scene.world
    cookies = {p: session_cookie(getattr(w, p)) for p in PERSONAS}
    cookies[ANON] = None
    problems: list[str] = []
    seen: set[tuple[str, str, str, str]] = set()

    def check(expected: Expect, got: str, name: str, method: str, persona: str, kind: str, what: str) -> None:
        if matches(expected, got):
            return
        key = deviation(name, method, persona, kind)
        if key is not None:
            seen.add(key)
            return
        problems.append(f"{method} {name} as {persona}, {what}: expected {expected}, got {got}")

    for name in names:
        route = MATRIX[name]
        listed = route.methods()
        for persona in EVERYONE:
            own_objects = scene.bundles[persona if persona != ANON else "admin"]
            other_objects = scene.bundles[COUNTERPART[persona] if persona != ANON else "other_admin"]
            sides = [("own", own_objects)]
            if route.args is not None:
                sides += [("other", other_objects), ("missing", scene.missing)]
            turned_away: set[str] = set()  # the persona's answers that refuse or redirect it whatever the method
            for method, cells in listed.items():
                cell = cells[persona]
                expected = {"own": cell[0], "other": cell[1], "missing": cell[2] if len(cell) > 2 else cell[1]}
                refused_anyway = len(cell) == 2 and cell[0] == cell[1] and str(cell[0]) in REFUSALS
                for side, objects in sides:
                    if side == "missing" and refused_anyway:
                        continue  # refused whatever the id: the other tenant's answer already shows it
                    for url, kind in urls_for(name, route, objects):
                        got = outcome(request(cookies[persona], method, url, route))
                        if side == "own" and (got in REFUSALS or got == "302"):
                            turned_away.add(got)
                        check(expected[side], got, name, method, persona, kind, f"{side} tenant ({url})")
            if persona == ANON or not route.sends_signed_in_away:
                turned_away.discard("302")  # a redirect after a successful change is not a refusal
            refused_everywhere = persona != ANON and all(
                len(c[persona]) == 2 and c[persona][0] == c[persona][1] == 403 for c in listed.values())
            for method in METHODS:
                if method in listed or refused_everywhere:  # a role refused on the route's methods is refused on any
                    continue
                for url, kind in urls_for(name, route, own_objects):
                    got = outcome(request(cookies[persona], method, url, route))
                    allowed = frozenset({"405"} | turned_away | ({LOGIN, "401"} if persona == ANON else set()))
                    check(allowed, got, name, method, persona, kind, f"a method the route does not list ({url})")
    return problems, seen


GROUPS = {
    # id: (route name prefixes, the scene fixture it needs)
    "identity": (("home", "login", "logout", "sso_start", "mfa_", "security", "oidc_", "schema", "api-docs",
                  "healthz"), "scene"),
    "admin": (("accounts:",), "scene"),
    "events": (("events:",), "scene"),
    "evidence+audit": (("evidence:", "audit:"), "scene"),
    "api": (("api-root", "event-", "evidence-api"), "scene"),
    "ctd+sharing": (("matching:", "profiles:", "guardrails:", "sharing:", "cross-match", "disclosure-request"),
                    "ctd_scene"),
}


def group_of(name: str) -> str | None:
    for group, (prefixes, _) in GROUPS.items():
        if name.startswith(prefixes):
            return group
    return None


def test_every_matrix_entry_is_in_a_group():
    assert [n for n in MATRIX if group_of(n) is None] == []


@pytest.mark.django_db
@pytest.mark.parametrize("group", list(GROUPS))
def test_permission_matrix(request, group):
    scene = request.getfixturevalue(GROUPS[group][1])
    names = sorted(n for n in MATRIX if group_of(n) == group)
    problems, seen = run_matrix(scene, names)
    assert not problems, f"{len(problems)} cells differ from the matrix:\n  " + "\n  ".join(problems)
    fixed = [k for k in KNOWN_DEVIATIONS if k[0] in names and k not in seen]
    assert not fixed, f"known deviations that no longer happen (remove them from KNOWN_DEVIATIONS): {fixed}"


def test_the_matrix_catches_a_leak(scene, monkeypatch, settings):
    """The matrix can fail: with the audit log's rule loosened to every organisation's rows (and the
    database's backstop off), the other tenant's audit entry answers 200 instead of 404, and the
    matrix says so."""
    from django.db.models import Q

    from auror import access

    settings.AUROR_RLS = False
    monkeypatch.setitem(access._RULES, "audit.AuditEntry", lambda user, action: Q() if action == "view" else Q(pk__in=[]))
    problems, _ = run_matrix(scene, ["audit:detail"])
    leaks = [p for p in problems if "other tenant" in p and "expected 404, got 200" in p]
    assert any("as admin" in p for p in leaks) and any("as police_admin" in p for p in leaks), problems


def test_the_database_backstop_holds_when_the_policy_leaks(scene, monkeypatch):
    """The same loosened rule with row-level security on (auror.rls): the database still hides the
    other tenant's audit entries, so no cell leaks (issue 11)."""
    from django.db.models import Q

    from auror import access

    monkeypatch.setitem(access._RULES, "audit.AuditEntry", lambda user, action: Q() if action == "view" else Q(pk__in=[]))
    problems, _ = run_matrix(scene, ["audit:detail"])
    assert not [p for p in problems if "other tenant" in p and "got 200" in p], problems
