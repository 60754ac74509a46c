"""Evidence files written by an import whose transaction rolls back do not stay in storage: an
all-or-nothing import with a refused row, a batch that fails and is retried row by row, an
unexpected error. What commits keeps its files; `evidence_verify` reports files no row refers to."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from audit.models import AuditEntry
from events.imports.readers import ImportSource
from events.imports.writer import EventImporter, events_import
from events.models import Event
from evidence import blobs
from evidence.models import EvidenceItem
from tests.events.import_helpers import jpeg_bytes, row


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def stored_files(media: Path) -> set[str]:
    return {p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()}


def referenced() -> set[str]:
    names = set()
    for storage_name, thumbnail_name in EvidenceItem.objects.unscoped().values_list("storage_name", "thumbnail_name"):
        names |= {n for n in (storage_name, thumbnail_name) if n}
    return names


def with_image(n: int) -> dict:
    r = row(n)
    r["persons"][0]["images"] = [f"stills/{n}.jpg"]
    return r


def bundle(tmp_path: Path, rows: list[dict], images: dict[int, tuple]) -> str:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("events.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        for n, colour in images.items():
            zf.writestr(f"stills/{n}.jpg", jpeg_bytes(colour))
    return str(path)


def test_all_or_nothing_import_with_a_bad_row_leaves_no_files(world, tmp_path, media):
    # Batches of one: the rows with stills are written (files stored) before the bad row is read.
    bad = row(3, type="no such type")
    path = bundle(tmp_path, [with_image(1), with_image(2), bad], {1: (200, 0, 0),
                                                                                           2: (0, 200, 0)})
    result = events_import(organisation=world.acme, path=path, atomic=True, batch_size=1)
    assert result.rolled_back and [(e.line, e.field) for e in result.errors] == [(3, "type")]
    assert Event.objects.count() == 0 and EvidenceItem.objects.count() == 0
    assert stored_files(media) == set()


def test_a_good_all_or_nothing_import_keeps_its_files(world, tmp_path, media):
    path = bundle(tmp_path, [with_image(1), with_image(2)], {1: (200, 0, 0),
                                                                                      2: (0, 200, 0)})
    result = events_import(organisation=world.acme, path=path, atomic=True, batch_size=1)
    assert (result.created, result.refused) == (2, 0)
    assert EvidenceItem.objects.count() == 2
    assert stored_files(media) == referenced() and len(referenced()) == 2


def test_an_unexpected_error_in_an_all_or_nothing_import_leaves_no_files(world, tmp_path, media):
    path = bundle(tmp_path, [with_image(1), with_image(2)], {1: (200, 0, 0),
                                                                                      2: (0, 200, 0)})
    seen = []

    def on_batch(result, errors, rows):
        seen.append(rows)
        if len(seen) == 2:
            raise RuntimeError("the worker fell over")

    importer = EventImporter(organisation=world.acme, atomic=True, batch_size=1, on_batch=on_batch)
    with ImportSource(path) as source, pytest.raises(RuntimeError):
        importer.run(source)
    assert Event.objects.count() == 0 and EvidenceItem.objects.count() == 0
    assert stored_files(media) == set()


def test_a_failed_batch_retried_row_by_row_keeps_only_the_files_of_what_committed(world, tmp_path, media):
    path = bundle(tmp_path, [with_image(1), with_image(2)], {1: (200, 0, 0),
                                                                                      2: (0, 200, 0)})
    calls = []

    def on_batch(result, errors, rows):  # the batch's first attempt fails after its files were stored
        calls.append(rows)
        if len(calls) == 1:
            raise DatabaseError("serialization failure")

    importer = EventImporter(organisation=world.acme, batch_size=10, on_batch=on_batch)
    with ImportSource(path) as source:
        result = importer.run(source)
    assert (result.created, result.refused) == (2, 0), result.errors
    assert EvidenceItem.objects.count() == 2
    assert stored_files(media) == referenced() and len(referenced()) == 2


@pytest.mark.django_db(transaction=True)
def test_committed_batches_keep_their_files_and_a_rolled_back_import_loses_them(world, tmp_path, media, settings):
    """As in production: no test transaction around the import, so batches really commit."""
    # Rows checked in this process: the forked helpers are not what this tests, and a helper forked
    # after a health check's Celery ping in the same test process blocks in kombu's after-fork clean-up.
    settings.IMPORT_VALIDATION_PROCESSES = 0
    good = bundle(tmp_path, [with_image(1)], {1: (200, 0, 0)})
    assert events_import(organisation=world.acme, path=good, batch_size=1).created == 1
    kept = stored_files(media)
    assert kept == referenced() and len(kept) == 1
    (tmp_path / "bundle.zip").unlink()
    bad = bundle(tmp_path, [with_image(2), with_image(3), row(4, store="NOPE")],
                 {2: (0, 200, 0), 3: (0, 0, 200)})
    result = events_import(organisation=world.acme, path=bad, atomic=True, batch_size=1)
    assert result.rolled_back
    assert stored_files(media) == kept == referenced()


def test_a_blob_stored_outside_any_ledger_or_transaction_is_left_alone(world, media):
    import io

    blob = blobs.blob_store(source=io.BytesIO(b"x" * 10), size=10, organisation_id=world.acme.pk)
    with blobs.blobs_removed_unless_committed():
        pass
    assert stored_files(media) == {blob.name}


# --- evidence_verify reports files with no row ------------------------------------------------------


def test_evidence_verify_reports_orphan_files_and_can_delete_them(world, tmp_path, media, capsys):
    path = bundle(tmp_path, [with_image(1)], {1: (200, 0, 0)})
    events_import(organisation=world.acme, path=path)
    kept = stored_files(media)
    orphan = media / "evidence" / str(world.acme.pk) / ("0" * 32 + ".enc")
    orphan.write_bytes(b"left behind")
    old = time.time() - 2 * 86400
    os.utime(orphan, (old, old))
    young = media / "evidence" / str(world.bmart.pk) / ("1" * 32 + ".enc")
    young.parent.mkdir(parents=True)
    young.write_bytes(b"an upload in flight")

    call_command("evidence_verify")
    out = capsys.readouterr().out
    assert f"ORPHAN evidence/{world.acme.pk}/{'0' * 32}.enc" in out
    assert "1" * 32 not in out  # younger than --orphan-age: maybe an upload whose row is not committed yet
    assert "1 item(s) checked, 0 mismatch(es), 1 orphan file(s)" in out
    assert orphan.exists()

    call_command("evidence_verify", "--org", "bmart", "--orphan-age", "0")
    out = capsys.readouterr().out
    assert f"ORPHAN evidence/{world.bmart.pk}/{'1' * 32}.enc" in out and "0" * 32 not in out

    call_command("evidence_verify", "--delete-orphans")
    assert "1 orphan file(s), 1 deleted" in capsys.readouterr().out
    assert not orphan.exists() and young.exists()
    assert stored_files(media) == kept | {young.relative_to(media).as_posix()}
    entry = AuditEntry.objects.get(action="evidence.orphans_deleted")
    assert entry.organisation_id == world.acme.pk and entry.actor_email.startswith("cli:")
    assert entry.detail["names"] == [f"evidence/{world.acme.pk}/{'0' * 32}.enc"]
