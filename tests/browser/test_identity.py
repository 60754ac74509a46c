"""In a real browser: sign-in with MFA (enrolment, then the code) and SSO through the real provider."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from django_otp.oath import TOTP

from tests.identity.conftest import OP_PASSWORD, OP_USERS, audit_rows, op_clients
from tests.oidc_provider.process import running_provider


def app_code(secret_text: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed from the page (RFC 6238, SHA-1, 6 digits)."""
    secret = secret_text.replace(" ", "").upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6, drift=0)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def sign_in_with_password(page, email: str, password: str) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_admin_enrols_an_authenticator_then_signs_in_with_a_code(page, browser_world, screenshot):
    admin = browser_world.admin
    sign_in_with_password(page, admin.email, browser_world.password)

    # A retailer admin without MFA lands on enrolment and can reach nothing else.
    page.wait_for_url("**/accounts/mfa/enrol/**")
    assert page.locator(".qr svg").is_visible()
    screenshot(page, "identity-mfa-enrol")
    page.goto(page.base_url + "/events/")
    page.wait_for_url("**/accounts/mfa/enrol/**")

    page.get_by_text("Can't scan it? Type this key instead").click()
    secret = page.locator("#totp-secret").inner_text()
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    assert base64.b32encode(device.bin_key).decode().rstrip("=") == secret.replace(" ", "")
    screenshot(page, "identity-mfa-enrol-key")

    page.get_by_label("Code from your app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    assert page.get_by_role("heading", name="Your backup codes").is_visible()
    assert page.locator(".codes li").count() == 10
    # Download them as a text file (issue 10): the file holds every code shown.
    with page.expect_download() as got:
        page.get_by_role("button", name="Download as a text file").click()
    saved = Path(got.value.path()).read_text()
    shown = [c.strip() for c in page.locator(".codes code").all_inner_texts()]
    assert got.value.suggested_filename == "auror-backup-codes.txt" and all(c in saved for c in shown)
    assert page.get_by_role("status").filter(has_text="Downloaded").is_visible()
    screenshot(page, "identity-mfa-backup-codes")
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_url(page.base_url + "/events/")  # where they were going before enrolment
    assert page.get_by_role("heading", name="Events").is_visible()

    # Sign out, and back in: now the code is asked for.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    sign_in_with_password(page, admin.email, browser_world.password)
    page.wait_for_url("**/accounts/mfa/verify/**")
    page.get_by_label("Authentication code").fill("000000" if app_code(secret, steps_ahead=1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_text("That code is not right").is_visible()
    screenshot(page, "identity-mfa-verify-wrong")
    page.get_by_label("Authentication code").fill(app_code(secret, steps_ahead=1))  # the last one is used up
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(page.base_url + "/")
    assert page.get_by_role("link", name="Audit").first.is_visible()

    page.goto(page.base_url + "/accounts/security/")
    assert page.get_by_text("cannot be turned off").is_visible()
    page.get_by_label("Token name").fill("nightly export")
    page.get_by_role("button", name="Create token").click()
    raw = page.locator("#new-token").inner_text()
    assert raw.startswith("aur_") and page.get_by_text("it will not be shown again").is_visible()
    screenshot(page, "identity-security")
    assert [r.detail["mfa"] for r in audit_rows("login.success")] == ["totp", "totp"]


def test_the_code_page_on_a_phone(phone_page, browser_world, screenshot):
    from tests.identity.conftest import confirmed_device

    confirmed_device(browser_world.staff)
    page = phone_page
    sign_in_with_password(page, browser_world.staff.email, browser_world.password)
    page.wait_for_url("**/accounts/mfa/verify/**")
    code_box = page.get_by_label("Authentication code")
    assert code_box.get_attribute("autocomplete") == "one-time-code"
    assert code_box.get_attribute("inputmode") == "numeric"
    screenshot(page, "identity-mfa-verify-phone")


@pytest.fixture(scope="module")
def browser_op(live_server):
    """The real provider, with Auror's live-server callback registered for both clients."""
    with running_provider(clients=op_clients(live_server.url + "/oidc/callback/"), users=OP_USERS) as op:
        yield op


def test_sso_sign_in_through_the_organisations_provider(page, browser_world, browser_op, screenshot):
    from accounts.models import OIDCProvider

    OIDCProvider.objects.create(organisation=browser_world.acme, issuer=browser_op.issuer,
                                client_id="auror-acme", client_secret="acme-secret")
    page.goto(page.base_url + "/accounts/login/")
    screenshot(page, "identity-login")
    page.get_by_role("link", name="Sign in with your organisation's SSO").click()
    page.get_by_label("Organisation code or work email").fill("inv@acme.test")
    screenshot(page, "identity-sso-choose")
    page.get_by_role("button", name="Continue").click()

    # At the organisation's own provider, on another origin.
    page.wait_for_url(browser_op.base_url + "/login/**")
    screenshot(page, "identity-sso-provider")
    page.get_by_label("Username").fill("inv@acme.test")
    page.get_by_label("Password").fill(OP_PASSWORD)
    page.get_by_role("button", name="Sign in at provider").click()

    page.wait_for_url(page.base_url + "/")
    assert "inv@acme.test" in page.locator(".who").inner_text()
    screenshot(page, "identity-sso-signed-in")
    [row] = audit_rows("login.success")
    assert row.detail["method"] == "sso" and row.organisation_id == browser_world.acme.pk


def test_sso_refuses_a_user_of_another_organisation_in_the_browser(page, browser_world, browser_op, screenshot):
    from accounts.models import OIDCProvider

    OIDCProvider.objects.create(organisation=browser_world.acme, issuer=browser_op.issuer,
                                client_id="auror-acme", client_secret="acme-secret")
    page.goto(page.base_url + "/accounts/sso/")
    page.get_by_label("Organisation code or work email").fill("acme")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(browser_op.base_url + "/login/**")
    page.get_by_label("Username").fill("staff@bmart.test")
    page.get_by_label("Password").fill(OP_PASSWORD)
    page.get_by_role("button", name="Sign in at provider").click()
    page.wait_for_url("**/accounts/login/")
    assert page.get_by_text("there is no Auror account for staff@bmart.test in Acme Stores").is_visible()
    screenshot(page, "identity-sso-refused")
    assert audit_rows("login.success") == []
