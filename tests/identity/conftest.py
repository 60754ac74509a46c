"""Fixtures for the identity tests: TOTP codes computed the way an authenticator app does, a
signed-in helper, and a real OpenID Connect provider process."""

from __future__ import annotations

import time

import pytest
from django_otp.oath import TOTP

from tests.oidc_provider.process import running_provider

PASSWORD = "correct-horse-battery-staple"
OP_PASSWORD = "provider-password-123"
TESTSERVER_CALLBACK = "http://testserver/oidc/callback/"


def totp_code(device, *, at: float | None = None, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for `device` now (or at `at`), RFC 6238 from the secret."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
    totp.time = (time.time() if at is None else at) + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def confirmed_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def password_step(client, user, password: str = PASSWORD, **extra):
    return client.post("/accounts/login/", {"email": user.email, "password": password, **extra})


def audit_rows(action: str, **filters):
    from audit.models import AuditEntry

    return list(AuditEntry.objects.unscoped().filter(action=action, **filters).order_by("chain", "seq"))


@pytest.fixture
def totp():
    return totp_code


# --- The real OpenID Connect provider ---------------------------------------------------------------

OP_USERS = [
    # matches acme's investigator
    {"username": "inv@acme.test", "email": "inv@acme.test", "password": OP_PASSWORD},
    # matches acme's admin (a role that needs MFA)
    {"username": "admin@acme.test", "email": "admin@acme.test", "password": OP_PASSWORD},
    # an Auror user of B-Mart, not of Acme
    {"username": "staff@bmart.test", "email": "staff@bmart.test", "password": OP_PASSWORD},
    # nobody in Auror
    {"username": "stranger@acme.test", "email": "stranger@acme.test", "password": OP_PASSWORD},
]


def op_clients(redirect_uri: str) -> list[dict]:
    return [
        {"client_id": "auror-acme", "client_secret": "acme-secret", "redirect_uris": [redirect_uri]},
        {"client_id": "auror-bmart", "client_secret": "bmart-secret", "redirect_uris": [redirect_uri]},
    ]


@pytest.fixture(scope="session")
def oidc_op():
    """The provider, started once for the session on a free port of 127.0.0.1."""
    with running_provider(clients=op_clients(TESTSERVER_CALLBACK), users=OP_USERS) as op:
        yield op


@pytest.fixture
def sso_orgs(world, oidc_op):
    """Acme and B-Mart each use the provider with their own client; endpoints are left blank so
    they are discovered from the issuer."""
    from accounts.models import OIDCProvider

    acme = OIDCProvider.objects.create(organisation=world.acme, issuer=oidc_op.issuer,
                                       client_id="auror-acme", client_secret="acme-secret")
    bmart = OIDCProvider.objects.create(organisation=world.bmart, issuer=oidc_op.issuer,
                                        client_id="auror-bmart", client_secret="bmart-secret")
    return {"acme": acme, "bmart": bmart}
