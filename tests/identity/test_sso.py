"""Single sign-on end to end against a real OpenID Connect provider process (tests/oidc_provider):
the browser's part is played by the Django test client (Auror's side) and `requests` (the
provider's login page); the code exchange, JWKS fetch and userinfo call are real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from accounts.models import OIDCProvider, User
from tests.identity.conftest import OP_PASSWORD, audit_rows, password_step

pytestmark = pytest.mark.django_db


def provider_login(authorize_url: str, username: str, password: str = OP_PASSWORD) -> str:
    """Sign in at the provider as a person would; return where it sends the browser back to."""
    op = requests.Session()
    response = op.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    login_url = urljoin(authorize_url, response.headers["Location"])
    op.get(login_url, timeout=10)
    response = op.post(login_url, allow_redirects=False, timeout=10, data={
        "username": username, "password": password, "csrfmiddlewaretoken": op.cookies["op_csrftoken"],
        "next": parse_qs(urlsplit(login_url).query)["next"][0],
    })
    assert response.status_code == 302, "provider refused the test user's password"
    response = op.get(urljoin(login_url, response.headers["Location"]), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    return response.headers["Location"]


def sso_sign_in(client, organisation: str, username: str, next_url: str = ""):
    """The whole flow. Returns Auror's answer to the provider's redirect back (the callback)."""
    data = {"organisation": organisation, **({"next": next_url} if next_url else {})}
    start = client.post("/accounts/sso/", data)
    assert start.status_code == 302, start.content.decode()[:2000]
    to_provider = client.get(start["Location"])
    assert to_provider.status_code == 302
    back = provider_login(to_provider["Location"], username)
    assert back.startswith("http://testserver/oidc/callback/?")
    return client.get(back.removeprefix("http://testserver"))


def signed_in_email(client):
    response = client.get("/")
    return response.wsgi_request.user.email if response.status_code == 200 else None


def test_sso_signs_in_the_matching_user_of_that_organisation(client, world, sso_orgs, oidc_op):
    response = sso_sign_in(client, "acme", "inv@acme.test", next_url="/events/")
    assert response.status_code == 302 and response["Location"] == "/events/"
    assert signed_in_email(client) == "inv@acme.test"
    [row] = audit_rows("login.success")
    assert row.organisation_id == world.acme.pk and row.actor_id == world.investigator.pk
    assert row.detail == {"method": "sso", "mfa": "none", "issuer": oidc_op.issuer}
    # Endpoints were blank: discovered from the issuer and kept.
    provider = OIDCProvider.objects.get(pk=sso_orgs["acme"].pk)
    assert provider.token_endpoint == oidc_op.issuer + "/token"
    assert provider.jwks_uri == oidc_op.issuer + "/jwks"


def test_the_request_to_the_provider_is_for_that_organisations_client(client, world, sso_orgs, oidc_op):
    client.post("/accounts/sso/", {"organisation": "bmart"})
    to_provider = client.get("/oidc/authenticate/")
    query = parse_qs(urlsplit(to_provider["Location"]).query)
    assert to_provider["Location"].startswith(oidc_op.issuer + "/authorize?")
    assert query["client_id"] == ["auror-bmart"]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]


def test_a_user_of_another_organisation_with_that_email_is_not_signed_in(client, world, sso_orgs):
    # Acme's provider vouches for staff@bmart.test, who is a B-Mart user: Acme's provider is not
    # B-Mart's to speak for.
    response = sso_sign_in(client, "acme", "staff@bmart.test")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert signed_in_email(client) is None
    assert "no Auror account for staff@bmart.test in Acme Stores" in client.get("/accounts/login/").content.decode()
    [row] = audit_rows("login.failure")
    assert row.organisation_id == world.acme.pk and row.actor_email == "staff@bmart.test"
    assert row.detail["method"] == "sso" and row.detail["reason"] == "not_in_organisation"
    assert audit_rows("login.success") == []


def test_the_same_person_signs_in_through_their_own_organisations_provider(client, world, sso_orgs):
    response = sso_sign_in(client, "bmart", "staff@bmart.test")
    assert response.status_code == 302
    assert signed_in_email(client) == "staff@bmart.test"
    assert audit_rows("login.success")[0].organisation_id == world.bmart.pk


def test_unknown_user_is_refused_and_never_created(client, world, sso_orgs):
    before = User.objects.count()
    response = sso_sign_in(client, "acme", "stranger@acme.test")
    assert response["Location"] == "/accounts/login/"
    assert signed_in_email(client) is None
    assert User.objects.count() == before
    [row] = audit_rows("login.failure")
    assert row.detail["reason"] == "unknown_user" and row.actor_email == "stranger@acme.test"
    assert row.organisation_id == world.acme.pk


def test_sso_for_a_role_that_requires_mfa_still_asks_for_the_code(client, world, sso_orgs):
    response = sso_sign_in(client, "acme", "admin@acme.test")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/verify/")
    assert client.get("/events/")["Location"].startswith("/accounts/mfa/verify/")
    assert audit_rows("login.success") == []


def test_sso_from_a_provider_trusted_for_mfa_counts_as_verified(client, world, sso_orgs):
    OIDCProvider.objects.filter(pk=sso_orgs["acme"].pk).update(mfa_at_idp=True)
    response = sso_sign_in(client, "acme", "admin@acme.test")
    assert response["Location"] == "/"
    assert client.get("/audit/").status_code == 200
    [row] = audit_rows("login.success")
    assert row.detail["mfa"] == "idp"


def test_locked_account_is_refused_by_sso_too(client, world, sso_orgs):
    from django.utils import timezone

    User.objects.filter(pk=world.investigator.pk).update(locked_until=timezone.now() + timezone.timedelta(minutes=5))
    response = sso_sign_in(client, "acme", "inv@acme.test")
    assert response["Location"] == "/accounts/login/"
    assert signed_in_email(client) is None
    assert audit_rows("login.failure")[0].detail["reason"] == "locked"


def test_organisation_can_be_found_by_work_email(client, world, sso_orgs):
    response = client.post("/accounts/sso/", {"organisation": "Someone@ACME.test"})
    assert response.status_code == 302
    assert client.session["auror_sso_org"] == world.acme.pk


def test_unknown_or_disabled_organisation_is_named_in_the_form(client, world, sso_orgs):
    response = client.post("/accounts/sso/", {"organisation": "nosuch"})
    assert response.status_code == 400
    assert "No organisation with single sign-on matches “nosuch”" in response.content.decode()
    OIDCProvider.objects.filter(pk=sso_orgs["acme"].pk).update(enabled=False)
    assert client.post("/accounts/sso/", {"organisation": "acme"}).status_code == 400
    assert client.post("/accounts/sso/", {"organisation": ""}).status_code == 400
    assert client.put("/accounts/sso/").status_code == 405


def test_starting_without_choosing_an_organisation_goes_back_to_the_choice(client, world, sso_orgs):
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302 and response["Location"] == "/accounts/sso/"


def test_an_unreachable_provider_gets_a_clear_message(client, world):
    from tests.oidc_provider.process import free_port

    OIDCProvider.objects.create(organisation=world.acme, issuer=f"http://127.0.0.1:{free_port()}/openid",
                                client_id="x", client_secret="y")
    client.post("/accounts/sso/", {"organisation": "acme"})
    response = client.get("/oidc/authenticate/")
    assert response["Location"] == "/accounts/sso/"
    assert "single sign-on is not available right now" in client.get("/accounts/sso/").content.decode()


def test_a_callback_with_a_state_this_browser_never_started_signs_nobody_in(client, world, sso_orgs):
    # Someone else's flow: a code and state from their browser arrive in ours.
    other = type(client)()
    other.post("/accounts/sso/", {"organisation": "acme"})
    back = provider_login(other.get("/oidc/authenticate/")["Location"], "inv@acme.test")
    client.post("/accounts/sso/", {"organisation": "acme"})
    client.get("/oidc/authenticate/")  # our own flow, with its own state
    response = client.get(back.removeprefix("http://testserver"))
    assert response.status_code == 400  # the library's SuspiciousOperation: unknown state
    assert signed_in_email(client) is None


def test_a_token_for_another_organisations_client_is_refused(client, world, sso_orgs):
    """Acme's flow, but the code was issued to B-Mart's client: the token exchange (with Acme's
    credentials) or the audience check must refuse it."""
    other = type(client)()
    other.post("/accounts/sso/", {"organisation": "bmart"})
    bmart_back = provider_login(other.get("/oidc/authenticate/")["Location"], "inv@acme.test")
    code = parse_qs(urlsplit(bmart_back).query)["code"][0]
    client.post("/accounts/sso/", {"organisation": "acme"})
    acme_state = parse_qs(urlsplit(client.get("/oidc/authenticate/")["Location"]).query)["state"][0]
    response = client.get(f"/oidc/callback/?code={code}&state={acme_state}")
    assert response["Location"] == "/accounts/login/"
    assert signed_in_email(client) is None
    assert audit_rows("login.failure")[0].detail["reason"] == "provider_error"


def test_sso_only_users_still_sign_in_by_sso(client, world, sso_orgs):
    User.objects.filter(pk=world.investigator.pk).update(sso_only=True)
    assert password_step(client, world.investigator).status_code == 400
    sso_sign_in(client, "acme", "inv@acme.test")
    assert signed_in_email(client) == "inv@acme.test"


def test_an_id_token_issued_to_another_client_fails_the_audience_check(client, world, sso_orgs, oidc_op):
    """The library skips `aud`; Auror's backend checks it (and the issuer) for each organisation."""
    from django.core.exceptions import SuspiciousOperation

    from accounts.oidc import OrganisationOIDCBackend, provider_endpoints_fill

    client.post("/accounts/sso/", {"organisation": "bmart"})
    back = provider_login(client.get("/oidc/authenticate/")["Location"], "inv@acme.test")
    query = parse_qs(urlsplit(back).query)
    flow = client.session["oidc_states"][query["state"][0]]
    tokens = requests.post(oidc_op.issuer + "/token", timeout=10, data={
        "grant_type": "authorization_code", "code": query["code"][0], "client_id": "auror-bmart",
        "client_secret": "bmart-secret", "redirect_uri": "http://testserver/oidc/callback/",
        "code_verifier": flow["code_verifier"],
    }).json()

    as_bmart = OrganisationOIDCBackend()
    as_bmart._configure(provider_endpoints_fill(OIDCProvider.objects.get(pk=sso_orgs["bmart"].pk)))
    assert as_bmart.verify_token(tokens["id_token"], nonce=flow["nonce"])["aud"] == "auror-bmart"

    as_acme = OrganisationOIDCBackend()
    as_acme._configure(provider_endpoints_fill(OIDCProvider.objects.get(pk=sso_orgs["acme"].pk)))
    with pytest.raises(SuspiciousOperation, match="(?i)audience"):
        as_acme.verify_token(tokens["id_token"], nonce=flow["nonce"])


def test_the_provider_saying_no_signs_nobody_in(client, world, sso_orgs):
    client.post("/accounts/sso/", {"organisation": "acme"})
    state = parse_qs(urlsplit(client.get("/oidc/authenticate/")["Location"]).query)["state"][0]
    response = client.get(f"/oidc/callback/?error=access_denied&state={state}")
    assert response["Location"] == "/accounts/login/"
    assert "Single sign-on did not sign you in" in client.get("/accounts/login/").content.decode()
    assert signed_in_email(client) is None
