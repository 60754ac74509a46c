"""Sign-in answers alike whether or not an account exists (issue 11, finding 6): failures are counted
per submitted email, so an unknown email is "locked" after the same number of failures as a real
account, with the same message and status, for the same time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from accounts.models import SignInThrottle

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
UNKNOWN = "nobody-here@acme.test"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def attempt(client, email: str, password: str = "not-the-password"):
    return client.post("/accounts/login/", {"email": email, "password": password})


def answers(client, email: str, times: int) -> list[tuple[int, str]]:
    from django.test import Client

    out = []
    for _ in range(times):
        r = attempt(Client(), email)  # a fresh client each time: nothing in a session tells them apart
        out.append((r.status_code, _message(r.content.decode())))
    return out


def _message(html: str) -> str:
    import re

    m = re.search(r'id="login-error">(.*?)</div>', html, re.S)
    return re.sub(r"\s+", " ", m.group(1)).strip() if m else ""


def test_an_unknown_email_answers_as_a_real_account_does_failure_by_failure(client, world, clock):
    assert settings.LOCKOUT_THRESHOLD == 5
    real = answers(client, world.investigator.email, 7)
    unknown = answers(client, UNKNOWN, 7)
    assert real == unknown
    assert "locked" in real[4][1] and "15 minutes" in real[4][1]  # the fifth says so, for both
    assert "locked" not in real[3][1]


def test_the_right_password_for_a_locked_account_and_any_password_for_a_locked_unknown_email_answer_alike(
        client, world, clock):
    answers(client, world.investigator.email, 5)
    answers(client, UNKNOWN, 5)
    real = attempt(client, world.investigator.email, world.password)
    unknown = attempt(client, UNKNOWN, world.password)
    assert (real.status_code, _message(real.content.decode())) == \
           (unknown.status_code, _message(unknown.content.decode()))
    assert real.status_code == 400 and "locked" in _message(real.content.decode())


def test_an_unknown_emails_lock_runs_out_like_an_accounts(client, world, clock):
    answers(client, UNKNOWN, 5)
    clock.shift(settings.LOCKOUT_DURATION - dt.timedelta(seconds=1))
    assert "Try again in 1 minute" in attempt(client, UNKNOWN).content.decode()
    clock.shift(dt.timedelta(seconds=2))
    again = attempt(client, UNKNOWN)
    assert "Email or password is not right." in again.content.decode()  # the count started afresh
    assert SignInThrottle.objects.get(email=UNKNOWN).failed_count == 1


def test_the_email_is_counted_as_typed_in_any_case(client, world, clock):
    for email in (UNKNOWN, UNKNOWN.upper(), f"  {UNKNOWN}  ", UNKNOWN.title(), UNKNOWN):
        attempt(client, email)
    assert "locked" in _message(attempt(client, UNKNOWN).content.decode())


def test_an_unknown_emails_count_does_not_touch_any_account(client, world, clock):
    answers(client, UNKNOWN, 5)
    world.investigator.refresh_from_db()
    assert world.investigator.failed_login_count == 0 and world.investigator.locked_until is None
    assert attempt(client, world.investigator.email, world.password).status_code == 302
