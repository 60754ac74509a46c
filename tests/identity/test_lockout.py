"""Account lockout after repeated failures (wrong passwords and wrong codes alike), on a frozen clock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from tests.identity.conftest import audit_rows, confirmed_device, password_step, totp_code

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def fail_passwords(client, user, times: int):
    return [password_step(client, user, password="not-the-password") for _ in range(times)]


def test_threshold_wrong_passwords_lock_the_account_even_against_the_right_password(client, world, clock):
    assert settings.LOCKOUT_THRESHOLD == 5
    responses = fail_passwords(client, world.investigator, 5)
    assert all(r.status_code == 400 for r in responses)
    assert "Email or password is not right." in responses[3].content.decode()
    assert "locked" in responses[4].content.decode()  # the fifth says so straight away
    world.investigator.refresh_from_db()
    assert world.investigator.locked_until == START + settings.LOCKOUT_DURATION

    refused = password_step(client, world.investigator)
    html = refused.content.decode()
    assert refused.status_code == 400
    assert "This account is locked after too many failed sign-in attempts" in html and "15 minutes" in html
    assert client.get("/").status_code == 302  # not signed in
    last = audit_rows("login.failure")[-1]
    assert last.detail["reason"] == "locked" and last.actor_email == world.investigator.email

    clock.shift(settings.LOCKOUT_DURATION - dt.timedelta(seconds=1))
    still = password_step(client, world.investigator)
    assert still.status_code == 400 and "Try again in 1 minute" in still.content.decode()

    clock.shift(dt.timedelta(seconds=2))
    assert password_step(client, world.investigator)["Location"] == "/"
    world.investigator.refresh_from_db()
    assert world.investigator.failed_login_count == 0 and world.investigator.locked_until is None


def test_a_complete_sign_in_resets_the_count(client, world, clock):
    fail_passwords(client, world.investigator, 4)
    assert password_step(client, world.investigator).status_code == 302
    client.post("/accounts/logout/")
    fail_passwords(client, world.investigator, 4)
    world.investigator.refresh_from_db()
    assert world.investigator.failed_login_count == 4 and world.investigator.locked_until is None
    assert password_step(client, world.investigator).status_code == 302


def test_wrong_codes_count_and_lock_the_account_and_end_the_pending_session(client, world, clock):
    device = confirmed_device(world.admin)
    password_step(client, world.admin)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    for _ in range(4):
        assert client.post("/accounts/mfa/verify/", {"code": wrong}).status_code == 400
    last = client.post("/accounts/mfa/verify/", {"code": wrong})
    assert last.status_code == 302 and last["Location"] == "/accounts/login/"
    assert "locked" in client.get("/accounts/login/").content.decode()
    world.admin.refresh_from_db()
    assert world.admin.locked_until == START + settings.LOCKOUT_DURATION
    assert len(audit_rows("mfa.failure")) == 5
    assert audit_rows("logout")[-1].detail["reason"] == "locked"
    # Locked: even the right password and the right code do not get in.
    assert "locked" in password_step(client, world.admin).content.decode()
    assert client.get("/").status_code == 302


def test_a_right_password_alone_does_not_reset_the_count_for_an_mfa_account(client, world, clock):
    """Otherwise someone with the password could guess codes for ever, 4 at a time."""
    device = confirmed_device(world.admin)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    fail_passwords(client, world.admin, 3)
    assert password_step(client, world.admin)["Location"].startswith("/accounts/mfa/verify/")
    world.admin.refresh_from_db()
    assert world.admin.failed_login_count == 3
    client.post("/accounts/mfa/verify/", {"code": wrong})
    client.post("/accounts/mfa/verify/", {"code": wrong})
    world.admin.refresh_from_db()
    assert world.admin.locked_until is not None


def test_locked_account_cannot_verify_a_code_from_an_earlier_pending_session(client, world, clock):
    device = confirmed_device(world.admin)
    password_step(client, world.admin)  # pending
    world.admin.locked_until = START + dt.timedelta(minutes=10)
    world.admin.save()
    response = client.post("/accounts/mfa/verify/", {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_unknown_emails_lock_nothing(client, world, clock):
    for _ in range(6):
        client.post("/accounts/login/", {"email": "ghost@acme.test", "password": "x" * 12})
    assert all(r.chain == 0 for r in audit_rows("login.failure"))
