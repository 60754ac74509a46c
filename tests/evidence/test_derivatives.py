"""Thumbnails and video poster frames: made by a Celery job enqueued on commit, encrypted like the
files, and idempotent."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from evidence.models import DerivativeState, EvidenceItem
from evidence.services import derivative_make, evidence_upload, thumbnail_bytes
from evidence.tasks import make_derivative
from tests.evidence import corpus
from tests.evidence.conftest import NamedBytes, stored_bytes


@pytest.fixture
def eager_celery():
    """The worker's work, run in this process when a task is sent."""
    from auror.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_upload_runs_the_job_after_commit(world, event, django_capture_on_commit_callbacks, eager_celery):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        items = evidence_upload(actor=world.staff, event=event,
                                files=[NamedBytes(corpus.png(), "a.png"), NamedBytes(corpus.pdf(), "b.pdf")]).stored
        assert EvidenceItem.objects.get(pk=items[0].pk).thumbnail_state == DerivativeState.PENDING
    assert len(callbacks) == 1  # images and videos only
    image, pdf = (EvidenceItem.objects.get(pk=i.pk) for i in items)
    assert image.thumbnail_state == DerivativeState.READY and image.thumbnail_name
    assert pdf.thumbnail_state == "" and pdf.thumbnail_name == ""


def test_thumbnail_is_encrypted_and_the_job_is_idempotent(world, event, media_root):
    item = evidence_upload(actor=world.staff, event=event,
                           files=[NamedBytes(corpus.jpeg_with_gps(size=(1600, 900)), "big.jpg")]).stored[0]
    assert make_derivative.run(item.pk) == "made"
    item.refresh_from_db()
    assert item.thumbnail_state == DerivativeState.READY and item.thumbnail_name.endswith(".thumb.enc")
    blob = (media_root / item.thumbnail_name).read_bytes()
    assert blob.startswith(b"AUREVD") and b"JFIF" not in blob
    thumb = Image.open(io.BytesIO(thumbnail_bytes(item=item)))
    assert thumb.format == "JPEG" and max(thumb.size) <= 480
    files_before = stored_bytes(media_root)
    assert make_derivative.run(item.pk) == "exists"
    assert derivative_make(item_id=item.pk) == "exists"
    assert stored_bytes(media_root) == files_before  # no second thumbnail


def test_losing_a_race_deletes_the_losers_blob(world, event, media_root):
    item = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.png(), "a.png")]).stored[0]
    # Another worker records its thumbnail while this one is working: simulate by recording one first
    # and resetting the state this worker read.
    derivative_make(item_id=item.pk)
    winner = EvidenceItem.objects.get(pk=item.pk).thumbnail_name
    EvidenceItem.objects.filter(pk=item.pk).update(thumbnail_state=DerivativeState.PENDING)
    assert derivative_make(item_id=item.pk) == "exists"
    assert EvidenceItem.objects.get(pk=item.pk).thumbnail_name == winner
    assert len([p for p, _ in stored_bytes(media_root) if p.name.endswith(".thumb.enc")]) == 1


def test_video_poster_frame_through_pyav(world, event, as_user):
    item = evidence_upload(actor=world.staff, event=event,
                           files=[NamedBytes(corpus.mp4(size=(160, 120)), "cctv.mp4")]).stored[0]
    assert derivative_make(item_id=item.pk) == "made"
    item.refresh_from_db()
    poster = Image.open(io.BytesIO(thumbnail_bytes(item=item)))
    assert poster.size == (160, 120)
    r = as_user(world.staff).get(f"/evidence/{item.pk}/thumbnail/")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert f'<img src="/evidence/{item.pk}/thumbnail/"' in as_user(world.staff).get(
        f"/evidence/event/{event.pk}/").content.decode()


def test_undecodable_video_fails_once_and_is_not_retried(world, event):
    # Structurally an MP4 (so accepted) but its sample data is noise.
    import struct

    noise = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + struct.pack(">I4s", 16, b"moov") + struct.pack(">I4s", 8, b"free")
    noise += struct.pack(">I4s", 1008, b"mdat") + bytes(range(256)) * 3 + b"\x00" * 232
    item = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(noise, "noise.mp4")]).stored[0]
    assert derivative_make(item_id=item.pk) == "failed"
    item.refresh_from_db()
    assert item.thumbnail_state == DerivativeState.FAILED and item.thumbnail_error
    assert thumbnail_bytes(item=item) is None


def test_deleted_item_gets_no_thumbnail(world, event):
    from evidence.services import evidence_delete

    item = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.png(), "a.png")]).stored[0]
    evidence_delete(actor=world.admin, item=item)
    assert derivative_make(item_id=item.pk) == "gone"
    assert derivative_make(item_id=999_999) == "gone"
