"""Uploads stream: a 20 MB video is hashed, checked and encrypted in chunks, never read whole
(issue 3 figure; the timed measurement is bench/evidence_upload_bench.py)."""

from __future__ import annotations

import hashlib
import tracemalloc

from evidence.services import evidence_upload, evidence_verify_item
from tests.evidence import corpus

SIZE = 20 * 1024 * 1024


def test_a_20_mb_video_is_processed_in_chunks(world, event, tmp_path):
    path = tmp_path / "cctv.mp4"
    corpus.write_big_mp4(path, SIZE)
    with open(path, "rb") as fh:
        fh.size = SIZE  # as Django's TemporaryUploadedFile has it
        tracemalloc.start()
        try:
            outcome = evidence_upload(actor=world.staff, event=event, files=[fh])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    item = outcome.stored[0]
    assert item.size == SIZE and item.kind == "video"
    assert peak < SIZE / 8, f"peak {peak / 1e6:.1f} MB for a {SIZE / 1e6:.0f} MB upload"
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    assert item.original_sha256 == h.hexdigest()
    tracemalloc.start()
    try:
        assert evidence_verify_item(item) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < SIZE / 8
