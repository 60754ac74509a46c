"""Idle session timeout: 30 minutes for police and admins, IDLE_TIMEOUT_DEFAULT for others (frozen clock)."""

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


def sign_in_with_code(client, user):
    device = confirmed_device(user)
    password_step(client, user)
    assert client.post("/accounts/mfa/verify/", {"code": totp_code(device)}).status_code == 302


def test_privileged_session_ends_after_30_idle_minutes(client, world, clock):
    assert settings.IDLE_TIMEOUT_PRIVILEGED == 30 * 60
    sign_in_with_code(client, world.officer)
    clock.shift(dt.timedelta(minutes=29, seconds=59))
    assert client.get("/").status_code == 200  # activity: the idle clock restarts here

    clock.shift(dt.timedelta(minutes=30, seconds=1))
    response = client.get("/events/?purpose=x")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?expired=1&next=%2Fevents%2F%3Fpurpose%3Dx"
    assert "signed out after a period of inactivity" in client.get(response["Location"]).content.decode()
    assert client.get("/")["Location"].startswith("/accounts/login/")  # the session is gone
    [row] = audit_rows("logout")
    assert row.actor_id == world.officer.pk and row.detail["reason"] == "idle_timeout"
    assert row.detail["limit"] == 30 * 60


def test_regular_activity_keeps_a_privileged_session_alive(client, world, clock):
    sign_in_with_code(client, world.admin)
    for _ in range(8):  # four hours, a page every half hour less a minute
        clock.shift(dt.timedelta(minutes=29))
        assert client.get("/").status_code == 200


def test_store_staff_get_the_longer_default_timeout(client, world, clock):
    assert settings.IDLE_TIMEOUT_DEFAULT > settings.IDLE_TIMEOUT_PRIVILEGED
    password_step(client, world.staff)
    clock.shift(dt.timedelta(minutes=45))
    assert client.get("/").status_code == 200
    clock.shift(dt.timedelta(seconds=settings.IDLE_TIMEOUT_DEFAULT + 1))
    assert client.get("/")["Location"].startswith("/accounts/login/?expired=1")


def test_an_idle_pending_sign_in_expires_too(client, world, clock):
    confirmed_device(world.admin)
    password_step(client, world.admin)
    clock.shift(dt.timedelta(minutes=31))
    response = client.get("/accounts/mfa/verify/")
    assert response["Location"].startswith("/accounts/login/?expired=1")


def test_an_idle_api_call_by_session_gets_an_api_error_not_a_redirect(client, world, clock):
    password_step(client, world.investigator)
    clock.shift(dt.timedelta(seconds=settings.IDLE_TIMEOUT_DEFAULT + 1))
    response = client.get("/api/v1/events/")
    assert response.status_code in (401, 403)
    assert audit_rows("logout")[0].detail["reason"] == "idle_timeout"
