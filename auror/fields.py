"""Model fields shared by the apps.

`SealedCharField` keeps a short secret (an SSO client secret) encrypted at rest: the column holds
`sealed:v1:<master key id>:<base64(nonce | AES-256-GCM ciphertext)>`, under a key derived (HKDF)
from the same master keys that wrap the evidence data keys (evidence.crypto.master_keys), bound to
the field it belongs to. Python code reads and writes the plain value; a database dump, a replica or
a backup shows none. A value under a retired master key still opens; saving it again seals it under
the current one (`manage.py evidence_rewrap` does that for every SSO secret after a new master key).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "sealed:v1:"


class SealedValueError(Exception):
    """A sealed value that does not open: wrong or missing master key, or a changed column."""


def _key(master: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"auror sealed fields v1").derive(master))


def seal(plain: str, *, purpose: str) -> str:
    """The stored form of `plain` for the field named by `purpose` (e.g. accounts.OIDCProvider.client_secret)."""
    from evidence.crypto import master_keys

    master_id, keys = master_keys()
    nonce = os.urandom(12)
    blob = nonce + _key(keys[master_id]).encrypt(nonce, plain.encode(), purpose.encode())
    return f"{PREFIX}{master_id}:{base64.b64encode(blob).decode()}"


def is_sealed(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX)


def unseal(stored: str, *, purpose: str) -> str:
    from evidence.crypto import master_keys

    master_id, sep, b64 = stored[len(PREFIX):].partition(":")
    _, keys = master_keys()
    if not sep or master_id not in keys:
        raise ImproperlyConfigured(f"A sealed {purpose} is under master key {master_id!r}, which is not configured")
    try:
        blob = base64.b64decode(b64, validate=True)
        return _key(keys[master_id]).decrypt(blob[:12], blob[12:], purpose.encode()).decode()
    except (binascii.Error, ValueError, InvalidTag) as exc:
        raise SealedValueError(f"A sealed {purpose} does not open under master key {master_id!r}") from exc


class SealedCharField(models.CharField):
    """A CharField stored sealed. `max_length` bounds the stored form: base64 of the UTF-8 value and
    28 bytes of nonce and tag, plus the prefix; a form should take plain values of well under half of it."""

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only=private_only)
        self.purpose = f"{cls._meta.app_label}.{cls.__name__}.{name}"

    def from_db_value(self, value, expression, connection):
        if value is None or not is_sealed(value):
            return value  # empty, or written before sealing (the migration that added it sealed those)
        return unseal(value, purpose=self.purpose)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return seal(value, purpose=self.purpose)
