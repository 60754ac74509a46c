"""Signed-in clients for the audit pages. Roles that require MFA get a session verified with a
confirmed TOTP device, as after the real second step (tests/identity drives those pages)."""

from __future__ import annotations

import pytest
from django.test import Client


def sign_in(client: Client, user) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user, backend="accounts.backends.EmailBackend")
    if user.mfa_required:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="test phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def as_user(db):
    """as_user(world.admin) → a Client signed in as that user (a new client each call)."""

    def make(user) -> Client:
        return sign_in(Client(), user)

    return make
