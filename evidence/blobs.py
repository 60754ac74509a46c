"""Encrypted blobs in the configured storage (Django's storage API: FileSystemStorage by default,
S3 or Azure Blob through django-storages by setting STORAGE_BACKEND). Only opaque storage names
leave this module; never a local path."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import storages

from evidence import crypto

log = logging.getLogger(__name__)
READ_CHUNK = 256 * 1024


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
    return f"evidence/{organisation_id}/{uuid.uuid4().hex}{suffix}.enc"


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
    try:
        evidence_storage().delete(name)
    except Exception:  # noqa: BLE001 - the row is already gone or marked; an orphan is logged for clean-up
        log.exception("evidence: could not delete blob %s", name)


def blob_exists(name: str) -> bool:
    return bool(name) and evidence_storage().exists(name)
