"""Browser fixtures, registered for the whole suite by tests/conftest.py (one Chromium per run,
whichever folder a browser test lives in).

Real browser tests: Debian's Chromium driven by Playwright, against pytest-django's live server.

Screenshots go to test-artifacts/ so a person can look at what the product shows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls in test bodies are still
# synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (see .ci/run)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _page(browser, options):
    ctx = browser.new_context(**options)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    return ctx, page


@pytest.fixture
def page(browser, live_server):
    ctx, p = _page(browser, DESKTOP)
    p.base_url = live_server.url
    yield p
    ctx.close()


@pytest.fixture
def phone_page(browser, live_server):
    ctx, p = _page(browser, PHONE)
    p.base_url = live_server.url
    yield p
    ctx.close()


@pytest.fixture
def new_page(browser, live_server):
    """Factory for extra, independent browser sessions (a second user)."""
    made = []

    def make(phone: bool = False):
        ctx, p = _page(browser, PHONE if phone else DESKTOP)
        p.base_url = live_server.url
        made.append(ctx)
        return p

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login_as(transactional_db):
    """login_as(page, user): the page's browser is signed in as `user`, through a session made the way
    a real sign-in makes it. Roles that require MFA get a confirmed TOTP device and a session that
    has verified it (the MFA pages themselves are driven in test_identity.py)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def sign_in(page, user) -> None:
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.EmailBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if user.mfa_required:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
                user=user, name="Authenticator app", confirmed=True)
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                                   "url": page.base_url}])

    return sign_in


@pytest.fixture
def browser_world(transactional_db):
    from tests.conftest import build_world

    return build_world()
