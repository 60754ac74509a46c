"""The organisation's single sign-on page: its admins set up and change their OIDC provider; the
client secret is write-only (never shown back, never in the audit log); another organisation's page
is a 404, a too-low role gets 403, bad input names the field and changes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from accounts.models import OIDCProvider
from accounts.services_sso import oidc_provider_update
from tests.admin.conftest import audit_rows, form_errors, sign_in

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-from-the-idp-0123456789"


@pytest.fixture
def as_user(db):
    def make(user) -> Client:
        return sign_in(Client(), user)

    return make


def url(org) -> str:
    return f"/admin/organisation/{org.pk}/sso/"


def good(**over) -> dict:
    data = {"issuer": "https://login.acme.example/realms/acme", "client_id": "auror", "client_secret": SECRET,
            "authorization_endpoint": "", "token_endpoint": "", "userinfo_endpoint": "", "jwks_uri": "",
            "enabled": "on"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def provider(world):
    return OIDCProvider.objects.create(
        organisation=world.acme, issuer="https://old.acme.example", client_id="auror-old", client_secret="old-secret",
        authorization_endpoint="https://old.acme.example/auth", token_endpoint="https://old.acme.example/token",
        userinfo_endpoint="https://old.acme.example/userinfo", jwks_uri="https://old.acme.example/jwks")


def test_admin_sets_up_sso_and_the_secret_is_never_shown_back(world, as_user):
    c = as_user(world.admin)
    page = c.get(url(world.acme))
    assert page.status_code == 200 and b"/oidc/callback/" in page.content
    r = c.post(url(world.acme), good(mfa_at_idp="on"))
    assert r.status_code == 302 and r["Location"] == url(world.acme)
    p = OIDCProvider.objects.get(organisation=world.acme)
    assert (p.issuer, p.client_id, p.client_secret, p.enabled, p.mfa_at_idp) == (
        "https://login.acme.example/realms/acme", "auror", SECRET, True, True)
    page = c.get(url(world.acme))
    assert page.status_code == 200 and b"login.acme.example" in page.content
    assert SECRET.encode() not in page.content
    row = audit_rows("sso.provider_create", p).get()
    assert row.actor_id == world.admin.pk and row.organisation_id == world.acme.pk
    changes = row.detail["changes"]
    assert changes["mfa_at_idp"] == {"before": None, "after": True}
    assert changes["client_secret"]["after"] == "[set, not shown]"
    assert SECRET not in str(row.detail)
    # The organisation page links here and says it is on.
    assert b"Change single sign-on" in c.get("/admin/organisation/").content


def test_police_admin_sets_up_their_agency_sso(world, as_user):
    r = as_user(world.police_admin).post(url(world.pol_akl), good(issuer="https://sso.police.example"))
    assert r.status_code == 302
    assert OIDCProvider.objects.get(organisation=world.pol_akl).issuer == "https://sso.police.example"


def test_admin_edits_blank_secret_keeps_it_and_the_audit_has_before_and_after(world, as_user, provider):
    c = as_user(world.admin)
    page = c.get(url(world.acme))
    assert b"auror-old" in page.content and b"old-secret" not in page.content
    r = c.post(url(world.acme), good(issuer="https://old.acme.example", client_id="auror-new", client_secret="",
                                     authorization_endpoint=provider.authorization_endpoint,
                                     token_endpoint=provider.token_endpoint,
                                     userinfo_endpoint=provider.userinfo_endpoint, jwks_uri=provider.jwks_uri,
                                     mfa_at_idp="on", enabled=None))
    assert r.status_code == 302
    provider.refresh_from_db()
    assert (provider.client_id, provider.client_secret, provider.enabled, provider.mfa_at_idp) == (
        "auror-new", "old-secret", False, True)
    changes = audit_rows("sso.provider_update", provider).get().detail["changes"]
    assert changes == {"client_id": {"before": "auror-old", "after": "auror-new"},
                       "enabled": {"before": True, "after": False},
                       "mfa_at_idp": {"before": False, "after": True}}


def test_a_new_secret_replaces_the_old_one_and_is_redacted_in_the_audit(world, as_user, provider):
    r = as_user(world.admin).post(url(world.acme), good(issuer=provider.issuer, client_id=provider.client_id,
                                                        client_secret="brand-new-secret"))
    assert r.status_code == 302
    provider.refresh_from_db()
    assert provider.client_secret == "brand-new-secret"
    row = audit_rows("sso.provider_update", provider).get()
    assert row.detail["changes"]["client_secret"] == {"before": "[set, not shown]",
                                                      "after": "[set, not shown] (replaced)"}
    assert "brand-new-secret" not in str(row.detail) and "old-secret" not in str(row.detail)


def test_a_new_issuer_clears_the_old_issuers_endpoints(world, as_user, provider):
    r = as_user(world.admin).post(url(world.acme), good(
        issuer="https://new.acme.example", client_id=provider.client_id, client_secret="",
        authorization_endpoint=provider.authorization_endpoint, token_endpoint=provider.token_endpoint,
        userinfo_endpoint=provider.userinfo_endpoint, jwks_uri="https://new.acme.example/jwks"))
    assert r.status_code == 302
    provider.refresh_from_db()
    assert (provider.issuer, provider.authorization_endpoint, provider.token_endpoint, provider.jwks_uri) == (
        "https://new.acme.example", "", "", "https://new.acme.example/jwks")


def test_saving_the_same_settings_changes_nothing_and_audits_nothing(world, as_user, provider):
    r = as_user(world.admin).post(url(world.acme), good(
        issuer=provider.issuer, client_id=provider.client_id, client_secret="",
        authorization_endpoint=provider.authorization_endpoint, token_endpoint=provider.token_endpoint,
        userinfo_endpoint=provider.userinfo_endpoint, jwks_uri=provider.jwks_uri))
    assert r.status_code == 302
    assert not audit_rows("sso.provider_update").exists()


# --- who may ---------------------------------------------------------------------------------------


def test_another_tenants_admin_gets_404_and_changes_nothing(world, as_user, provider):
    c = as_user(world.other_admin)
    assert c.get(url(world.acme)).status_code == 404
    assert c.post(url(world.acme), good(client_id="hijacked")).status_code == 404
    assert as_user(world.police_admin).post(url(world.acme), good(client_id="hijacked")).status_code == 404
    assert as_user(world.admin).get(url(world.pol_akl)).status_code == 404
    assert as_user(world.admin).get("/admin/organisation/2000000000/sso/").status_code == 404
    provider.refresh_from_db()
    assert provider.client_id == "auror-old"
    assert not OIDCProvider.objects.filter(organisation=world.bmart).exists()
    assert not audit_rows("sso.provider_update").exists()


@pytest.mark.parametrize("persona", ["investigator", "staff", "officer", "operator"])
def test_too_low_a_role_gets_403(world, as_user, provider, persona):
    user = getattr(world, persona)
    c = as_user(user)
    assert c.get(url(user.organisation)).status_code == 403
    assert c.post(url(world.acme), good(client_id="hijacked")).status_code == 403
    provider.refresh_from_db()
    assert provider.client_id == "auror-old"


def test_the_service_refuses_another_tenants_provider_too(world, provider):
    with pytest.raises(PermissionDenied):
        oidc_provider_update(actor=world.other_admin, provider=provider, client_id="hijacked")
    with pytest.raises(PermissionDenied):
        oidc_provider_update(actor=world.investigator, provider=provider, client_id="hijacked")
    provider.refresh_from_db()
    assert provider.client_id == "auror-old"


def test_signed_out_is_sent_to_sign_in(world, client):
    r = client.get(url(world.acme))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("over,field", [
    ({"issuer": "not a url"}, "issuer"),
    ({"issuer": ""}, "issuer"),
    ({"issuer": "http://login.acme.example"}, "issuer"),  # plain HTTP off this machine
    ({"client_id": ""}, "client_id"),
    ({"client_secret": ""}, "client_secret"),  # required when setting up
    ({"token_endpoint": "ftp://login.acme.example/token"}, "token_endpoint"),
    ({"jwks_uri": "http://evil.example/jwks"}, "jwks_uri"),
])
def test_bad_input_on_setup_names_the_field_and_stores_nothing(world, as_user, over, field):
    r = as_user(world.admin).post(url(world.acme), good(**over))
    assert r.status_code == 400 and field in form_errors(r), form_errors(r)
    assert b"Nothing was saved" in r.content
    assert not OIDCProvider.objects.exists()
    assert not audit_rows("sso.provider_create").exists()


@pytest.mark.parametrize("over,field", [
    ({"issuer": "http://login.acme.example"}, "issuer"),
    ({"client_id": ""}, "client_id"),
    ({"userinfo_endpoint": "javascript:alert(1)"}, "userinfo_endpoint"),
])
def test_bad_input_on_edit_names_the_field_and_changes_nothing(world, as_user, provider, over, field):
    before = OIDCProvider.objects.filter(pk=provider.pk).values().get()
    r = as_user(world.admin).post(url(world.acme), good(client_secret="would-replace", mfa_at_idp="on", **over))
    assert r.status_code == 400 and field in form_errors(r), form_errors(r)
    assert b"would-replace" not in r.content and b"old-secret" not in r.content
    assert OIDCProvider.objects.filter(pk=provider.pk).values().get() == before
    assert not audit_rows("sso.provider_update").exists()


def test_plain_http_is_allowed_for_a_provider_on_this_machine(world, as_user):
    r = as_user(world.admin).post(url(world.acme), good(issuer="http://127.0.0.1:9000/openid"))
    assert r.status_code == 302
