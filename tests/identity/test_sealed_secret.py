"""SSO client secrets are sealed at rest: the column never holds the secret, the code reads it in
clear, a new master key reseals it, a changed column fails loudly, and existing plain values are
sealed by the migration."""

from __future__ import annotations

import base64
import importlib
import io
import os
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from accounts.models import OIDCProvider
from audit.models import AuditEntry
from auror.fields import SealedValueError
from evidence import crypto

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-from-the-idp-0123456789"


def stored(provider) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT client_secret FROM accounts_oidcprovider WHERE id = %s", [provider.pk])
        return cur.fetchone()[0]


@pytest.fixture
def provider(world):
    return OIDCProvider.objects.create(organisation=world.acme, issuer="https://login.acme.example",
                                       client_id="auror", client_secret=SECRET)


def test_the_column_holds_no_secret_and_the_code_reads_it(provider):
    raw = stored(provider)
    assert raw.startswith("sealed:v1:k1:") and SECRET not in raw
    assert OIDCProvider.objects.get(pk=provider.pk).client_secret == SECRET
    provider.save()
    assert stored(provider) != raw  # a fresh nonce each time it is written
    assert OIDCProvider.objects.get(pk=provider.pk).client_secret == SECRET


def test_a_new_master_key_reseals_and_a_changed_column_fails(provider, settings):
    _, keys = crypto.master_keys()
    old_b64 = base64.b64encode(keys["k1"]).decode()
    settings.EVIDENCE_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.EVIDENCE_MASTER_KEY_ID = "k2"
    with pytest.raises(ImproperlyConfigured, match="k1"):
        OIDCProvider.objects.get(pk=provider.pk)
    settings.EVIDENCE_RETIRED_MASTER_KEYS = [f"k1:{old_b64}"]
    assert OIDCProvider.objects.get(pk=provider.pk).client_secret == SECRET
    out = io.StringIO()
    call_command("evidence_rewrap", stdout=out)
    assert "under master key 'k2'" in out.getvalue()
    row = AuditEntry.objects.filter(action="evidence.master_key_rewrap").get()
    assert row.actor_email.startswith("cli:") and row.detail["master_key_id"] == "k2"
    assert stored(provider).startswith("sealed:v1:k2:")
    settings.EVIDENCE_RETIRED_MASTER_KEYS = []
    assert OIDCProvider.objects.get(pk=provider.pk).client_secret == SECRET
    raw = stored(provider)
    tampered = raw[:-6] + ("A" if raw[-6] != "A" else "B") + raw[-5:]
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_oidcprovider SET client_secret = %s WHERE id = %s", [tampered, provider.pk])
    with pytest.raises(SealedValueError, match="does not open"):
        OIDCProvider.objects.get(pk=provider.pk)


def test_the_migration_seals_plain_values_and_its_reverse_opens_them(provider):
    migration = importlib.import_module("accounts.migrations.0003_oidc_client_secret_sealed")
    editor = SimpleNamespace(connection=connection)
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_oidcprovider SET client_secret = %s WHERE id = %s", [SECRET, provider.pk])
    assert OIDCProvider.objects.get(pk=provider.pk).client_secret == SECRET  # plain, as before the migration
    migration.seal_existing(None, editor)
    assert stored(provider).startswith("sealed:v1:") and SECRET not in stored(provider)
    assert OIDCProvider.objects.get(pk=provider.pk).client_secret == SECRET
    migration.open_existing(None, editor)
    assert stored(provider) == SECRET
