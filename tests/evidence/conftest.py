"""Fixtures for the evidence locker: a private media root per test, signed-in clients, an event."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def sign_in(client, user):
    """A session as after a real sign-in; roles that require MFA get a verified TOTP device."""
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
    def make(user) -> Client:
        return sign_in(Client(), user)

    return make


@pytest.fixture
def api_as(db):
    """api_as(user) → an APIClient with a bearer token of that user."""
    from accounts.tokens import token_create

    def make(user) -> APIClient:
        _, raw = token_create(organisation=user.organisation, user=user, name="evidence tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def event(world, event_factory):
    """A theft at Acme Ponsonby recorded by store staff there, with one person involved."""
    from events.models import EventPerson

    e = event_factory(store=world.acme_akl, created_by=world.staff)
    EventPerson.objects.create(event=e, ref="p1", name="Jo Bloggs")
    return e


@pytest.fixture
def other_event(world, event_factory):
    return event_factory(store=world.bmart_akl, created_by=world.other_staff)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


class NamedBytes(io.BytesIO):
    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name
        self.size = len(data)


def stored_bytes(media_root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(media_root.rglob("*")) if p.is_file()]
