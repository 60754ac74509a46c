"""Email + password sign-in, sign-out and their audit rows."""

from __future__ import annotations

import pytest

from tests.identity.conftest import PASSWORD, audit_rows, password_step

pytestmark = pytest.mark.django_db


def signed_in_as(client):
    response = client.get("/")
    return response.wsgi_request.user.email if response.status_code == 200 else None


def test_password_sign_in_for_a_role_without_mfa_is_complete_and_audited(client, world):
    response = password_step(client, world.investigator)
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == "inv@acme.test"
    [row] = audit_rows("login.success")
    assert row.organisation_id == world.acme.pk and row.actor_id == world.investigator.pk
    assert row.detail["method"] == "password" and row.detail["mfa"] == "none"
    assert row.ip == "127.0.0.1"


def test_wrong_password_is_refused_with_a_message_and_audited_with_the_email_tried(client, world):
    response = password_step(client, world.investigator, password="wrong-password")
    assert response.status_code == 400
    assert "Email or password is not right." in response.content.decode()
    assert signed_in_as(client) is None
    [row] = audit_rows("login.failure")
    assert row.organisation_id == world.acme.pk and row.chain == world.acme.pk
    assert row.actor_email == "inv@acme.test" and row.actor_id is None
    assert row.detail["reason"] == "bad_credentials" and row.detail["failed_count"] == 1


def test_unknown_email_gets_the_same_message_and_an_audit_row_in_chain_zero(client, world):
    response = client.post("/accounts/login/", {"email": "Nobody@Example.test", "password": "whatever-it-is"})
    assert response.status_code == 400
    assert "Email or password is not right." in response.content.decode()
    [row] = audit_rows("login.failure")
    assert row.chain == 0 and row.organisation_id is None
    assert row.actor_email == "nobody@example.test"


def test_email_is_matched_without_regard_to_case_or_spaces(client, world):
    response = client.post("/accounts/login/", {"email": "  INV@acme.TEST ", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_as(client) == "inv@acme.test"


def test_sso_only_user_cannot_use_a_password_even_the_right_one(client, world):
    world.investigator.sso_only = True
    world.investigator.save()
    response = password_step(client, world.investigator)
    assert response.status_code == 400
    assert "single sign-on" in response.content.decode()
    assert signed_in_as(client) is None
    assert audit_rows("login.failure")[0].detail["reason"] == "sso_only"


def test_deactivated_user_is_refused(client, world):
    world.investigator.is_active = False
    world.investigator.save()
    assert password_step(client, world.investigator).status_code == 400
    assert signed_in_as(client) is None


def test_missing_fields_are_named(client, world):
    response = client.post("/accounts/login/", {"email": "inv@acme.test"})
    assert response.status_code == 400
    assert "Enter your password." in response.content.decode()
    assert audit_rows("login.failure") == []


def test_login_page_renders_and_refuses_other_methods(client, world):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'autocomplete="current-password"' in html and "Sign in with your organisation" in html
    assert client.put("/accounts/login/").status_code == 405


def test_next_is_followed_only_on_this_site(client, world):
    ok = password_step(client, world.investigator, next="/events/")
    assert ok["Location"] == "/events/"
    client.logout()
    evil = password_step(client, world.investigator, next="https://evil.example/phish")
    assert evil["Location"] == "/"


def test_anonymous_pages_send_to_login_with_next(client, world):
    response = client.get("/accounts/security/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/security/")


def test_sign_out_is_post_only_and_audited(client, world):
    password_step(client, world.investigator)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert signed_in_as(client) is None
    [row] = audit_rows("logout")
    assert row.actor_id == world.investigator.pk and row.detail["reason"] == "user"


def test_signed_in_user_visiting_login_goes_home(client, world):
    password_step(client, world.investigator)
    assert client.get("/accounts/login/")["Location"] == "/"
