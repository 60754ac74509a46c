"""The Security page: MFA status and personal API tokens (raw token shown once, revocable)."""

from __future__ import annotations

import re

import pytest

from accounts.models import ApiToken
from accounts.tokens import hash_token, token_create
from tests.identity.conftest import audit_rows, password_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, world):
    password_step(client, world.staff)
    return client


def test_security_page_shows_mfa_status_and_tokens(staff_client, world):
    token_create(organisation=world.acme, name="nightly export", user=world.staff, actor=world.staff)
    token_create(organisation=world.acme, name="someone else's", user=world.investigator, actor=world.investigator)
    html = staff_client.get("/accounts/security/").content.decode()
    assert "Two-step sign-in" in html and "Off" in html
    assert "nightly export" in html and "someone else" not in html
    assert staff_client.post("/accounts/security/").status_code == 405


def test_creating_a_token_shows_the_secret_once_and_stores_only_its_hash(staff_client, world):
    response = staff_client.post("/accounts/security/tokens/", {"name": "reporting script"})
    assert response.status_code == 201
    raw = re.search(r'<code id="new-token">([^<]+)</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=world.staff)
    assert token.name == "reporting script" and token.kind == ApiToken.Kind.PERSONAL
    assert token.token_hash == hash_token(raw) and raw not in token.token_hash
    assert token.organisation_id == world.acme.pk
    assert raw not in staff_client.get("/accounts/security/").content.decode()  # never again
    # And it works, as this user.
    api = staff_client.__class__().get("/api/v1/events/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 200
    assert audit_rows("token.create")[0].actor_id == world.staff.pk


def test_a_token_needs_a_name(staff_client, world):
    response = staff_client.post("/accounts/security/tokens/", {"name": "   "})
    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert staff_client.get("/accounts/security/tokens/").status_code == 405


def test_revoking_a_token_stops_it_working(staff_client, world):
    token, raw = token_create(organisation=world.acme, name="old", user=world.staff, actor=world.staff)
    response = staff_client.post(f"/accounts/security/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in staff_client.get("/accounts/security/").content.decode()
    api = staff_client.__class__().get("/api/v1/events/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code in (401, 403)
    assert audit_rows("token.revoke")[0].actor_id == world.staff.pk
    assert staff_client.get(f"/accounts/security/tokens/{token.pk}/revoke/").status_code == 405


def test_other_peoples_tokens_cannot_be_revoked_here(client, world):
    colleague, _ = token_create(organisation=world.acme, name="colleague", user=world.investigator,
                                actor=world.investigator)
    other_tenant, _ = token_create(organisation=world.bmart, name="bmart", user=world.other_staff,
                                   actor=world.other_staff)
    service, _ = token_create(organisation=world.acme, name="camera", actor=None)
    password_step(client, world.staff)
    for token in (colleague, other_tenant, service):
        assert client.post(f"/accounts/security/tokens/{token.pk}/revoke/").status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None
    assert client.post("/accounts/security/tokens/999999/revoke/").status_code == 404


def test_security_page_needs_sign_in(client, world):
    assert client.get("/accounts/security/")["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/security/tokens/", {"name": "x"})["Location"].startswith("/accounts/login/")
