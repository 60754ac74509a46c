"""The at-rest format and the envelope keys."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from evidence import crypto
from evidence.models import DataKey
from evidence.services import evidence_upload, evidence_verify_item
from tests.evidence import corpus
from tests.evidence.conftest import NamedBytes


class _Key:
    def __init__(self):
        self.id = uuid.uuid4()


def _encrypt(data: bytes, key, raw: bytes, segment_size: int = 1024) -> bytes:
    return b"".join(crypto.encrypt_segments(io.BytesIO(data), data_key=key, raw_key=raw, organisation_id=7,
                                            segment_size=segment_size))


def _decrypt(blob: bytes, key, raw: bytes, org: int = 7) -> bytes:
    return b"".join(crypto.decrypt_segments(io.BytesIO(blob), data_key=key, raw_key=raw, organisation_id=org))


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 4096, 5000])
def test_round_trip_and_size(size):
    key, raw = _Key(), os.urandom(32)
    data = os.urandom(size)
    blob = _encrypt(data, key, raw)
    assert len(blob) == crypto.ciphertext_size(size, 1024)
    assert _decrypt(blob, key, raw) == data
    view = crypto.SeekableDecryptedFile(io.BytesIO(blob), len(blob), data_key=key, raw_key=raw, organisation_id=7)
    assert view.size == size and view.read() == data
    view.seek(size // 3)
    assert view.read(700) == data[size // 3: size // 3 + 700]


def test_truncation_reordering_extension_and_bit_flips_fail():
    key, raw = _Key(), os.urandom(32)
    data = os.urandom(4096)  # four full segments
    blob = _encrypt(data, key, raw)
    header, seg = crypto.HEADER_SIZE, 1024 + crypto.TAG_SIZE
    segments = [blob[header + i * seg: header + (i + 1) * seg] for i in range(4)]
    variants = {
        "cut at a segment boundary": blob[: header + 3 * seg],
        "cut mid-segment": blob[:-10],
        "segments swapped": blob[:header] + segments[1] + segments[0] + segments[2] + segments[3],
        "segment appended": blob + segments[3],
        "bit flipped": blob[:100] + bytes([blob[100] ^ 1]) + blob[101:],
        "header changed": blob[:10] + bytes([blob[10] ^ 1]) + blob[11:],
        "empty": b"",
    }
    for what, bad in variants.items():
        with pytest.raises(crypto.EvidenceCorrupted):
            _decrypt(bad, key, raw)
            pytest.fail(what)
    with pytest.raises(crypto.EvidenceCorrupted):
        _decrypt(blob, key, raw, org=8)  # bound to its organisation
    with pytest.raises(crypto.EvidenceCorrupted):
        _decrypt(blob, key, os.urandom(32))


def test_decrypted_stream_holds_back_the_last_chunk_until_the_hash_matches():
    chunks = [b"a" * 10, b"b" * 10, b"c" * 5]
    good = hashlib.sha256(b"".join(chunks)).hexdigest()
    assert b"".join(crypto.DecryptedStream(iter(chunks), good)) == b"".join(chunks)
    received = []
    with pytest.raises(crypto.EvidenceCorrupted):
        for c in crypto.DecryptedStream(iter(chunks), "0" * 64):
            received.append(c)
    assert received == chunks[:-1]


def test_data_keys_are_per_organisation_and_wrapped(world, event, other_event):
    a = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.png(), "a.png")]).stored[0]
    b = evidence_upload(actor=world.other_staff, event=other_event, files=[NamedBytes(corpus.png(), "b.png")]).stored[0]
    assert a.data_key.organisation_id == world.acme.pk and b.data_key.organisation_id == world.bmart.pk
    assert a.data_key_id != b.data_key_id
    raw = crypto.unwrap_data_key(a.data_key)
    assert raw not in bytes(a.data_key.wrapped_key) and len(raw) == 32
    assert a.data_key.master_key_id == "k1"


def test_rotating_a_data_key_keeps_old_items_readable(world, event):
    old = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.png(), "a.png")]).stored[0]
    new_key = crypto.datakey_rotate(organisation_id=world.acme.pk)
    new = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.webp(), "b.webp")]).stored[0]
    assert new.data_key_id == new_key.id != old.data_key_id
    assert DataKey.objects.unscoped().filter(organisation=world.acme, active=True).count() == 1
    assert evidence_verify_item(old) is None and evidence_verify_item(new) is None


def test_a_new_master_key_rewraps_data_keys(world, event, settings):
    item = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.png(), "a.png")]).stored[0]
    _, keys = crypto.master_keys()
    old_b64 = base64.b64encode(keys["k1"]).decode()
    settings.EVIDENCE_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.EVIDENCE_MASTER_KEY_ID = "k2"
    with pytest.raises(ImproperlyConfigured, match="k1"):
        crypto.unwrap_data_key(DataKey.objects.get(pk=item.data_key_id))
    settings.EVIDENCE_RETIRED_MASTER_KEYS = [f"k1:{old_b64}"]
    assert crypto.datakeys_rewrap() == 1
    item.refresh_from_db()
    assert item.data_key.master_key_id == "k2"
    settings.EVIDENCE_RETIRED_MASTER_KEYS = []
    assert evidence_verify_item(item) is None


def test_master_key_configuration_fails_loudly(settings):
    settings.EVIDENCE_MASTER_KEY = "not base64!"
    with pytest.raises(ImproperlyConfigured, match="base64"):
        crypto.master_keys()
    settings.EVIDENCE_MASTER_KEY = base64.b64encode(b"short").decode()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        crypto.master_keys()
    settings.EVIDENCE_MASTER_KEY = ""
    settings.DEVELOPMENT = False
    with pytest.raises(ImproperlyConfigured, match="EVIDENCE_MASTER_KEY"):
        crypto.master_keys()


def test_production_settings_refuse_a_missing_master_key():
    """Outside development the settings module itself refuses to load without the key."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVIDENCE_MASTER_KEY", "AUROR_", "DEBUG"))}
    env.update({"SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "auror.settings"})
    code = "import django; django.setup()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert result.returncode != 0 and "EVIDENCE_MASTER_KEY" in result.stderr
    env["EVIDENCE_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert "EVIDENCE_MASTER_KEY" not in result.stderr, result.stderr[-500:]
