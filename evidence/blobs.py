"""Encrypted blobs in the configured storage (Django's storage API: FileSystemStorage by default,
S3 or Azure Blob through django-storages by setting STORAGE_BACKEND). Only opaque storage names
leave this module; never a local path.

Storage is not transactional. A blob is stored before the row that names it; when that row's
transaction rolls back, the blob must go too. `evidence_upload` deletes its blobs when its own
transaction fails; a caller that stores blobs inside a longer transaction of its own (an import
batch, an all-or-nothing import) wraps it in `blobs_removed_unless_committed()`, which deletes
every blob stored inside it that no row refers to once the transaction has ended. What a crash
leaves behind (a process killed between storing and committing) `manage.py evidence_verify`
reports as orphan files, and deletes with `--delete-orphans`."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q

from evidence import crypto

log = logging.getLogger(__name__)
READ_CHUNK = 256 * 1024
BLOB_ROOT = "evidence"  # every blob is stored under BLOB_ROOT/<organisation id>/


def evidence_storage():
    return storages["default"]


@dataclass
class StoredBlob:
    name: str
    sha256: str
    size: int
    data_key: object


def blob_name(organisation_id: int, suffix: str = "") -> str:
    """Random and opaque: nothing of the uploaded file's name reaches the storage."""
    return f"{BLOB_ROOT}/{organisation_id}/{uuid.uuid4().hex}{suffix}.enc"


def blob_organisation_id(name: str) -> int | None:
    """The organisation whose folder a stored name is in (blob_name), or None for a name elsewhere."""
    parts = name.split("/")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def blob_store(*, source: BinaryIO, size: int, organisation_id: int, data_key=None, name: str | None = None) -> StoredBlob:
    """Encrypt `source` (exactly `size` plaintext bytes) while the storage pulls it in chunks; the
    plaintext's SHA-256 is computed on the way."""
    data_key = data_key or crypto.active_data_key(organisation_id)
    raw = crypto.unwrap_data_key(data_key)
    reader = crypto.EncryptingReader(source, size, data_key=data_key, raw_key=raw, organisation_id=organisation_id)
    target = name or blob_name(organisation_id)
    saved = evidence_storage().save(target, File(reader, name=target))
    if not reader.done:  # a backend that stopped reading early must not leave a partial blob behind
        blob_delete(saved)
        raise OSError("the storage did not take the whole file")
    _track(saved)
    return StoredBlob(name=saved, sha256=reader.sha256, size=size, data_key=data_key)


def blob_chunks(*, name: str, data_key, organisation_id: int) -> Iterator[bytes]:
    """Authenticated plaintext chunks of a stored blob (raises crypto.EvidenceCorrupted)."""
    raw = crypto.unwrap_data_key(data_key)
    with evidence_storage().open(name, "rb") as fh:
        yield from crypto.decrypt_segments(fh, data_key=data_key, raw_key=raw, organisation_id=organisation_id)


def blob_open_seekable(*, name: str, data_key, organisation_id: int) -> crypto.SeekableDecryptedFile:
    """A seekable plaintext view of a blob; close it when done."""
    storage = evidence_storage()
    raw = crypto.unwrap_data_key(data_key)
    fh = storage.open(name, "rb")
    try:
        return crypto.SeekableDecryptedFile(fh, storage.size(name), data_key=data_key, raw_key=raw,
                                            organisation_id=organisation_id)
    except BaseException:
        fh.close()
        raise


def blob_delete(name: str) -> None:
    if not name:
        return
    for ledger in _ledgers():
        ledger.pop(name, None)
    try:
        evidence_storage().delete(name)
    except Exception:  # noqa: BLE001 - the row is already gone or marked; an orphan is logged for clean-up
        log.exception("evidence: could not delete blob %s", name)


def blob_exists(name: str) -> bool:
    return bool(name) and evidence_storage().exists(name)


def blob_names(organisation_id: int | None = None) -> Iterator[str]:
    """Every stored name under the evidence folder (one organisation's, or everyone's): files and
    thumbnails, whether or not a row names them."""
    storage = evidence_storage()
    pending = [f"{BLOB_ROOT}/{organisation_id}" if organisation_id is not None else BLOB_ROOT]
    while pending:
        path = pending.pop()
        try:
            folders, files = storage.listdir(path)
        except FileNotFoundError:  # nothing stored there yet (object stores answer with empty lists)
            continue
        yield from (f"{path}/{name}" for name in sorted(files))
        pending.extend(f"{path}/{name}" for name in sorted(folders, reverse=True))


# --- Blobs of a transaction that rolls back -------------------------------------------------------


@dataclass
class _Written:
    name: str
    committed: bool = False  # set by an on_commit hook: the transaction it was stored in committed

    def mark_committed(self) -> None:
        self.committed = True


_local = threading.local()


def _ledgers() -> list[dict[str, _Written]]:
    if not hasattr(_local, "ledgers"):
        _local.ledgers = []
    return _local.ledgers


def _track(name: str) -> None:
    """Note a blob stored inside a transaction, in the innermost open ledger (if any)."""
    ledgers = _ledgers()
    if not ledgers or not transaction.get_connection().in_atomic_block:
        return  # stored in autocommit: its writer records the row (or deletes the blob) itself
    written = _Written(name)
    ledgers[-1][name] = written
    transaction.on_commit(written.mark_committed, robust=True)


@contextmanager
def blobs_removed_unless_committed() -> Iterator[None]:
    """Blobs stored inside this block, inside a database transaction, are deleted from storage
    when the block ends unless a row still refers to them: a rolled-back transaction or savepoint
    takes its files with it. Blocks nest; an inner block ending inside a transaction that is still
    open hands the blobs that transaction still holds to the outer block, which decides when it
    ends. Without an outer block, the open transaction's blobs are left as they are.

    The common case costs nothing: a blob whose transaction committed is known by its on_commit
    hook. The others are looked up in the database (a row naming them as file or thumbnail),
    which is the truth whatever ran or failed on the way; when that is impossible (the database
    is gone) they are kept and logged, for `evidence_verify --delete-orphans`."""
    ledgers = _ledgers()
    ledger: dict[str, _Written] = {}
    ledgers.append(ledger)
    try:
        yield
    finally:
        ledgers.remove(ledger)
        _settle(ledger, parent=ledgers[-1] if ledgers else None)


def _settle(ledger: dict[str, _Written], *, parent: dict[str, _Written] | None) -> None:
    uncertain = [w for w in ledger.values() if not w.committed]
    if not uncertain:
        return
    connection = transaction.get_connection()
    inside = connection.in_atomic_block
    if inside and connection.needs_rollback:
        # The block we are in must roll back, and every blob of this ledger was stored inside it.
        referenced: set[str] = set()
    else:
        try:
            with transaction.atomic():  # a savepoint inside: a failed look-up breaks nothing else
                referenced = blobs_referenced([w.name for w in uncertain])
        except Exception:  # noqa: BLE001 - never hide the error that is ending the transaction
            log.exception("evidence: could not tell whether %d blob(s) have a row; left in storage "
                          "(evidence_verify reports orphans)", len(uncertain))
            return
    for written in uncertain:
        if written.name not in referenced:
            blob_delete(written.name)
        elif inside and parent is not None:
            parent[written.name] = written  # the enclosing transaction decides; so does the outer block


def blobs_referenced(names: list[str]) -> set[str]:
    """Those of `names` that a row (as this connection sees it) names as its file or thumbnail."""
    from evidence.models import EvidenceItem

    found: set[str] = set()
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        for storage_name, thumbnail_name in EvidenceItem.objects.unscoped().filter(
                Q(storage_name__in=chunk) | Q(thumbnail_name__in=chunk)).values_list("storage_name", "thumbnail_name"):
            found.update((storage_name, thumbnail_name))
    return found
