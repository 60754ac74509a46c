"""Tampering is detected: a flipped byte in storage refuses the download and is recorded;
`evidence_verify` re-hashes everything and exits 1 naming the item."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from evidence.models import EvidenceItem
from evidence.services import evidence_upload
from tests.evidence import corpus
from tests.evidence.conftest import NamedBytes


@pytest.fixture
def items(world, event):
    return evidence_upload(actor=world.staff, event=event,
                           files=[NamedBytes(corpus.jpeg_with_gps(size=(600, 400)), "kept.jpg"),
                                  NamedBytes(corpus.pdf(), "tampered.pdf")]).stored


def flip_byte(media_root, item, offset_from_end: int = 40) -> None:
    path = media_root / item.storage_name
    data = bytearray(path.read_bytes())
    data[len(data) - offset_from_end] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_byte_refuses_the_download_and_is_recorded(world, items, media_root, api_as, as_user):
    _, bad = items
    flip_byte(media_root, bad)
    r = api_as(world.investigator).get(f"/api/v1/evidence/{bad.pk}/download/")
    assert r.status_code == 409
    assert not r.streaming and "does not match" in r.json()["detail"]
    page = as_user(world.investigator).get(f"/evidence/{bad.pk}/download/")
    assert page.status_code == 409 and "Integrity check failed" in page.content.decode()
    actions = list(bad.custody.values_list("action", flat=True))
    assert actions == ["uploaded", "integrity_failed", "integrity_failed"]  # never "downloaded"
    assert AuditEntry.objects.filter(action="evidence.integrity_failed", object_id=str(bad.pk)).count() == 2


def test_large_files_stream_and_abort_before_the_end_on_tamper(world, items, media_root, api_as, settings):
    """Above EVIDENCE_VERIFY_FIRST_MAX_BYTES the download streams; a bad segment stops it before
    that segment's bytes are sent, so the client never gets a complete file."""
    settings.EVIDENCE_VERIFY_FIRST_MAX_BYTES = 0
    settings.EVIDENCE_SEGMENT_SIZE = 1024
    good = evidence_upload(actor=world.staff, event=items[0].event,
                           files=[NamedBytes(corpus.mp4(frames=40), "long.mp4")]).stored[0]
    r = api_as(world.investigator).get(f"/api/v1/evidence/{good.pk}/download/")
    assert r.status_code == 200 and r.streaming
    assert len(b"".join(r.streaming_content)) == good.size

    flip_byte(media_root, good, offset_from_end=good.size // 2)
    r = api_as(world.investigator).get(f"/api/v1/evidence/{good.pk}/download/")
    assert r.status_code == 200 and int(r["Content-Length"]) == good.size
    received = bytearray()
    with pytest.raises(Exception, match="failed authentication"):
        for chunk in r.streaming_content:
            received += chunk
    assert len(received) < good.size
    assert good.custody.filter(action="integrity_failed").exists()


def test_a_changed_recorded_hash_is_caught_too(world, items, api_as):
    kept, _ = items
    EvidenceItem.objects.filter(pk=kept.pk).update(sha256="0" * 64)
    r = api_as(world.investigator).get(f"/api/v1/evidence/{kept.pk}/download/")
    assert r.status_code == 409


def test_evidence_verify_names_the_bad_item_and_exits_1(world, items, media_root, capsys):
    kept, bad = items
    call_command("evidence_verify")
    assert "2 item(s) checked, 0 mismatch(es)" in capsys.readouterr().out
    flip_byte(media_root, bad)
    with pytest.raises(CommandError) as err:
        call_command("evidence_verify")
    assert err.value.returncode == 1
    out = capsys.readouterr().out
    assert f"MISMATCH item {bad.pk} " in out and "tampered.pdf" in out
    assert f"item {kept.pk} " not in out
    assert "2 item(s) checked, 1 mismatch(es)" in out


def test_evidence_verify_reports_a_missing_file(world, items, media_root, capsys):
    kept, _ = items
    (media_root / kept.storage_name).unlink()
    with pytest.raises(CommandError):
        call_command("evidence_verify")
    assert f"MISMATCH item {kept.pk} " in capsys.readouterr().out

