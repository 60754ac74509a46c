"""TOTP two-step sign-in: required for admins, police and operators, optional for others."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.identity.conftest import audit_rows, confirmed_device, password_step, totp_code

pytestmark = pytest.mark.django_db

GUARDED = ["/", "/accounts/security/", "/events/", "/audit/"]


def enrolment_device(user):
    return TOTPDevice.objects.get(user=user, confirmed=False)


def enrol(client, user):
    """Go through enrolment as a person would: open the page, read the key, type the app's code."""
    page = client.get("/accounts/mfa/enrol/")
    assert page.status_code == 200
    device = enrolment_device(user)
    return client.post("/accounts/mfa/enrol/", {"code": totp_code(device)}), device


@pytest.mark.parametrize("persona", ["admin", "officer", "police_admin", "operator"])
def test_roles_that_require_mfa_are_sent_to_enrolment_and_reach_nothing_else(client, world, persona):
    user = getattr(world, persona)
    response = password_step(client, user)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/verify/")
    assert client.get("/accounts/mfa/verify/")["Location"].startswith("/accounts/mfa/enrol/")
    for url in GUARDED:
        blocked = client.get(url)
        assert blocked.status_code == 302, url
        assert blocked["Location"].startswith("/accounts/mfa/verify/"), url
    # The API through the session is refused too (a problem detail, not a redirect).
    api = client.get("/api/v1/events/")
    assert api.status_code == 403 and api["Content-Type"] == "application/problem+json"
    # Nothing counts as signed in yet.
    assert audit_rows("login.success") == []


def test_enrolment_shows_a_qr_code_and_the_secret_and_confirms_with_a_code(client, world):
    password_step(client, world.admin)
    page = client.get("/accounts/mfa/enrol/")
    html = page.content.decode()
    device = enrolment_device(world.admin)
    assert "<svg" in html and "<path" in html  # the QR code, drawn on the server
    assert "otpauth" not in html  # the QR holds it; the page doesn't leak it elsewhere
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    import base64

    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    # Reloading keeps the same secret (someone who scanned and refreshed is not stranded).
    client.get("/accounts/mfa/enrol/")
    assert enrolment_device(world.admin).pk == device.pk

    wrong = client.post("/accounts/mfa/enrol/", {"code": "000000" if totp_code(device) != "000000" else "111111"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=world.admin, confirmed=True).exists()

    done = client.post("/accounts/mfa/enrol/", {"code": totp_code(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert set(StaticToken.objects.filter(device__user=world.admin).values_list("token", flat=True)) == set(codes)
    # Signed in now, verified.
    assert client.get("/").status_code == 200
    [enabled] = audit_rows("mfa.enable")
    assert enabled.actor_id == world.admin.pk and enabled.organisation_id == world.acme.pk
    [success] = audit_rows("login.success")
    assert success.detail == {"method": "password", "mfa": "totp"}


def test_enrolment_code_must_be_six_digits(client, world):
    password_step(client, world.admin)
    client.get("/accounts/mfa/enrol/")
    response = client.post("/accounts/mfa/enrol/", {"code": "12ab"})
    assert response.status_code == 400
    assert "Enter the 6-digit code your app shows." in response.content.decode()


def test_next_sign_in_asks_for_the_code_and_a_wrong_code_counts(client, world):
    device = confirmed_device(world.admin)
    response = password_step(client, world.admin, next="/events/")
    assert response["Location"] == "/accounts/mfa/verify/?next=%2Fevents%2F"
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()

    wrong = client.post("/accounts/mfa/verify/", {"code": "999999" if totp_code(device) != "999999" else "888888"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    world.admin.refresh_from_db()
    assert world.admin.failed_login_count == 1
    [failure] = audit_rows("mfa.failure")
    assert failure.organisation_id == world.acme.pk and failure.detail["reason"] == "wrong_code"
    assert client.get("/").status_code == 302  # still not through

    right = client.post("/accounts/mfa/verify/", {"code": totp_code(device), "next": "/events/"})
    assert right.status_code == 302 and right["Location"] == "/events/"
    assert client.get("/").status_code == 200
    world.admin.refresh_from_db()
    assert world.admin.failed_login_count == 0  # reset by the complete sign-in


def test_a_code_cannot_be_used_twice(client, world, django_user_model):
    device = confirmed_device(world.admin)
    code = totp_code(device)
    password_step(client, world.admin)
    assert client.post("/accounts/mfa/verify/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    password_step(client, world.admin)
    assert client.post("/accounts/mfa/verify/", {"code": code}).status_code == 400


def test_a_backup_code_works_once(client, world):
    device = confirmed_device(world.admin)
    from accounts.mfa import backup_codes_regenerate

    codes = backup_codes_regenerate(user=world.admin)
    password_step(client, world.admin)
    assert client.post("/accounts/mfa/verify/", {"code": codes[0].upper()}).status_code == 302
    [success] = audit_rows("login.success")
    assert success.detail["mfa"] == "backup_code"
    client.post("/accounts/logout/")
    password_step(client, world.admin)
    assert client.post("/accounts/mfa/verify/", {"code": codes[0]}).status_code == 400
    assert device.pk  # the app still works alongside


def test_a_pending_sign_in_cannot_enrol_a_second_device_to_skip_the_first(client, world):
    confirmed_device(world.admin)
    password_step(client, world.admin)
    response = client.get("/accounts/mfa/enrol/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/verify/")
    assert client.post("/accounts/mfa/enrol/", {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=world.admin).count() == 1


def test_a_session_made_any_other_way_still_owes_mfa_for_required_roles(client, world):
    client.force_login(world.officer)
    response = client.get("/events/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/verify/")


def test_bearer_token_calls_are_not_affected_by_the_session_check(client, world):
    from accounts.tokens import token_create

    _, raw = token_create(organisation=world.acme, name="script", user=world.admin, actor=world.admin)
    response = client.get("/api/v1/events/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


# --- Optional MFA ---------------------------------------------------------------------------------


def test_optional_role_signs_in_without_mfa_and_can_turn_it_on_from_security(client, world):
    password_step(client, world.staff)
    page = client.get("/accounts/security/")
    assert page.status_code == 200
    assert "Set up two-step sign-in" in page.content.decode()
    response, device = enrol(client, world.staff)
    assert response.status_code == 200
    assert "Two-step sign-in is on" in response.content.decode()
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert "<span class=\"badge ok\">On</span>" in client.get("/accounts/security/").content.decode()

    # From now on, this account's sign-in asks for the code too.
    client.post("/accounts/logout/")
    response = password_step(client, world.staff)
    assert response["Location"].startswith("/accounts/mfa/verify/")
    assert client.get("/events/")["Location"].startswith("/accounts/mfa/verify/")
    assert client.post("/accounts/mfa/verify/", {"code": totp_code(device, steps_ahead=1)}).status_code == 302
    assert client.get("/events/").status_code == 200


def test_optional_role_can_turn_mfa_off_with_a_current_code(client, world):
    device = confirmed_device(world.staff)
    password_step(client, world.staff)
    client.post("/accounts/mfa/verify/", {"code": totp_code(device)})

    wrong = client.post("/accounts/security/mfa/disable/", {"disable-code": "12"})
    assert wrong.status_code == 400 and "Codes are 6 digits" in wrong.content.decode()
    bad = client.post("/accounts/security/mfa/disable/", {"disable-code": totp_code(device, steps_ahead=-5)})
    assert bad.status_code == 400 and "That code is not right" in bad.content.decode()
    assert TOTPDevice.objects.filter(user=world.staff).exists()

    ok = client.post("/accounts/security/mfa/disable/", {"disable-code": totp_code(device, steps_ahead=1)})
    assert ok.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.staff).exists()
    [row] = audit_rows("mfa.disable")
    assert row.actor_id == world.staff.pk
    # Next sign-in is password only again.
    client.post("/accounts/logout/")
    assert password_step(client, world.staff)["Location"] == "/"


def test_roles_that_require_mfa_cannot_turn_it_off(client, world):
    device = confirmed_device(world.admin)
    password_step(client, world.admin)
    client.post("/accounts/mfa/verify/", {"code": totp_code(device)})
    page = client.get("/accounts/security/").content.decode()
    assert "cannot be turned off" in page and "mfa/disable" not in page
    response = client.post("/accounts/security/mfa/disable/", {"disable-code": totp_code(device, steps_ahead=1)})
    assert response.status_code == 400
    assert "MFA is required for the Retailer admin role" in response.content.decode()
    assert TOTPDevice.objects.filter(user=world.admin, confirmed=True).exists()
    assert audit_rows("mfa.disable") == []


def test_new_backup_codes_replace_the_old_ones(client, world):
    from accounts.mfa import backup_codes_regenerate

    device = confirmed_device(world.staff)
    old = backup_codes_regenerate(user=world.staff)
    password_step(client, world.staff)
    client.post("/accounts/mfa/verify/", {"code": totp_code(device)})
    response = client.post("/accounts/security/mfa/backup-codes/")
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert client.get("/accounts/security/mfa/backup-codes/").status_code == 405


def test_mfa_pages_need_a_session(client, world):
    for url in ("/accounts/mfa/verify/", "/accounts/mfa/enrol/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")
