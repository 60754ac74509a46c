"""Encryption at rest: envelope keys and a streaming, segmented AEAD format.

Envelope
    Each organisation has a data key (32 random bytes, `DataKey`), stored only wrapped with AES-GCM
    under a master key from the environment (EVIDENCE_MASTER_KEY, base64 of 32 bytes; its id
    EVIDENCE_MASTER_KEY_ID is stored beside each wrapped key so that a new master key can be
    introduced while old wrapped keys still open: EVIDENCE_RETIRED_MASTER_KEYS="id:base64,...").
    Items record the id of the data key that encrypted them, so rotating an organisation's data
    key (`datakey_rotate`) leaves old items readable.

File format (version 1), after age's payload and the STREAM construction (Hoang et al. 2015):

    header  = b"AUREVD\\x00\\x01" | segment size (u32 BE) | salt (16) | data key id (16)   = 44 bytes
    file key = HKDF-SHA256(data key, salt, info=b"auror-evidence-v1|org=<id>")
    segment i = AES-256-GCM(file key, nonce = i (u88 BE) | last-flag (1 byte), plaintext[i], aad = header)

Every segment but the last holds exactly `segment size` plaintext bytes; the last one holds the
rest (possibly nothing) and carries the flag 1. So encryption and decryption both stream with two
segments of memory, and a flipped bit, a reordered, dropped or appended segment, or a file cut at
a segment boundary all fail authentication. A fresh salt per file gives a fresh key per file, so
counters as nonces never repeat under one key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

MAGIC = b"AUREVD\x00\x01"
HEADER = struct.Struct(">8sI16s16s")
HEADER_SIZE = HEADER.size  # 44
TAG_SIZE = 16
MAX_SEGMENT_SIZE = 16 * 1024 * 1024


class EvidenceCorrupted(Exception):
    """Stored ciphertext failed authentication, or the plaintext does not hash to the recorded value."""


# --- Master keys --------------------------------------------------------------------------------


def _decode_key(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} must be base64 of 32 bytes: {exc}") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name} must be base64 of 32 bytes, not {len(raw)} bytes")
    return raw


def master_keys() -> tuple[str, dict[str, bytes]]:
    """(the current master key id, every master key by id). Fails loudly on a bad value; without
    EVIDENCE_MASTER_KEY, development and tests derive one from SECRET_KEY (settings refuse the
    missing key in production)."""
    current_id = settings.EVIDENCE_MASTER_KEY_ID
    value = settings.EVIDENCE_MASTER_KEY
    if value:
        current = _decode_key("EVIDENCE_MASTER_KEY", value)
    elif settings.DEVELOPMENT:
        current = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"auror development evidence master key").derive(settings.SECRET_KEY.encode())
    else:
        raise ImproperlyConfigured("EVIDENCE_MASTER_KEY (or EVIDENCE_MASTER_KEY_FILE) must be set")
    keys = {current_id: current}
    for entry in settings.EVIDENCE_RETIRED_MASTER_KEYS:
        key_id, sep, b64 = entry.partition(":")
        if not sep or not key_id:
            raise ImproperlyConfigured("EVIDENCE_RETIRED_MASTER_KEYS entries must look like id:base64")
        keys.setdefault(key_id, _decode_key(f"EVIDENCE_RETIRED_MASTER_KEYS[{key_id}]", b64))
    return current_id, keys


def _wrap_aad(organisation_id: int, key_id: uuid.UUID) -> bytes:
    return f"auror-datakey|org={organisation_id}|key={key_id}".encode()


def wrap_data_key(raw: bytes, *, organisation_id: int, key_id: uuid.UUID) -> tuple[str, bytes]:
    master_id, keys = master_keys()
    nonce = os.urandom(12)
    return master_id, nonce + AESGCM(keys[master_id]).encrypt(nonce, raw, _wrap_aad(organisation_id, key_id))


def unwrap_data_key(data_key) -> bytes:
    _, keys = master_keys()
    master = keys.get(data_key.master_key_id)
    if master is None:
        raise ImproperlyConfigured(
            f"Data key {data_key.id} is wrapped by master key {data_key.master_key_id!r}, which is not configured"
        )
    blob = bytes(data_key.wrapped_key)
    try:
        return AESGCM(master).decrypt(blob[:12], blob[12:], _wrap_aad(data_key.organisation_id, data_key.id))
    except InvalidTag as exc:
        raise EvidenceCorrupted(f"Data key {data_key.id} does not unwrap under master key "
                                f"{data_key.master_key_id!r}") from exc


def active_data_key(organisation_id: int):
    """The organisation's active data key, made on first use."""
    from evidence.models import DataKey

    key = DataKey.objects.unscoped().filter(organisation_id=organisation_id, active=True).first()
    if key is not None:
        return key
    return _new_data_key(organisation_id)


def _new_data_key(organisation_id: int):
    from evidence.models import DataKey

    key_id = uuid.uuid4()
    master_id, wrapped = wrap_data_key(os.urandom(32), organisation_id=organisation_id, key_id=key_id)
    try:
        with transaction.atomic():
            return DataKey.objects.create(id=key_id, organisation_id=organisation_id, master_key_id=master_id,
                                          wrapped_key=wrapped, active=True)
    except IntegrityError:  # another process made it first
        return DataKey.objects.unscoped().get(organisation_id=organisation_id, active=True)


@transaction.atomic
def datakey_rotate(*, organisation_id: int):
    """A new active data key for the organisation; items keep the key that encrypted them."""
    from evidence.models import DataKey

    DataKey.objects.unscoped().filter(organisation_id=organisation_id, active=True).update(active=False)
    return _new_data_key(organisation_id)


@transaction.atomic
def datakeys_rewrap() -> int:
    """Re-wrap every data key not under the current master key (after introducing a new one), and
    reseal the sealed secrets (SSO client secrets) under it. Returns the data keys re-wrapped."""
    from accounts.models import OIDCProvider
    from evidence.models import DataKey

    current_id, _ = master_keys()
    count = 0
    for key in DataKey.objects.unscoped().select_for_update().exclude(master_key_id=current_id):
        raw = unwrap_data_key(key)
        key.master_key_id, key.wrapped_key = wrap_data_key(raw, organisation_id=key.organisation_id, key_id=key.id)
        key.save(update_fields=["master_key_id", "wrapped_key"])
        count += 1
    for provider in OIDCProvider.objects.unscoped().select_for_update():
        provider.save(update_fields=["client_secret"])  # opened under any configured key, sealed under the current
    return count


# --- Segmented AEAD -----------------------------------------------------------------------------


def _file_key(raw_key: bytes, salt: bytes, organisation_id: int) -> AESGCM:
    info = f"auror-evidence-v1|org={organisation_id}".encode()
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(raw_key))


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def ciphertext_size(plaintext_size: int, segment_size: int) -> int:
    segments = max(1, -(-plaintext_size // segment_size))
    return HEADER_SIZE + plaintext_size + segments * TAG_SIZE


def _read_exact(src: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = src.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def encrypt_segments(src: BinaryIO, *, data_key, raw_key: bytes, organisation_id: int,
                     hasher=None, segment_size: int | None = None) -> Iterator[bytes]:
    """Yield the encrypted file for the plaintext read from `src` in segments, updating `hasher`
    (e.g. hashlib.sha256()) with the plaintext as it goes."""
    segment_size = segment_size or settings.EVIDENCE_SEGMENT_SIZE
    salt = os.urandom(16)
    header = HEADER.pack(MAGIC, segment_size, salt, data_key.id.bytes)
    aead = _file_key(raw_key, salt, organisation_id)
    yield header
    counter = 0
    current = _read_exact(src, segment_size)
    while True:
        following = _read_exact(src, segment_size) if len(current) == segment_size else b""
        last = not following
        if hasher is not None:
            hasher.update(current)
        yield aead.encrypt(_nonce(counter, last), current, header)
        if last:
            return
        counter += 1
        current = following


def _open_header(src: BinaryIO, *, data_key, raw_key: bytes, organisation_id: int) -> tuple[bytes, int, AESGCM]:
    header = _read_exact(src, HEADER_SIZE)
    if len(header) != HEADER_SIZE:
        raise EvidenceCorrupted("the stored file is shorter than its header")
    magic, segment_size, salt, key_id = HEADER.unpack(header)
    if magic != MAGIC:
        raise EvidenceCorrupted("the stored file is not in the evidence format")
    if not 0 < segment_size <= MAX_SEGMENT_SIZE:
        raise EvidenceCorrupted("the stored file has an impossible segment size")
    if key_id != data_key.id.bytes:
        raise EvidenceCorrupted("the stored file names a different data key")
    return header, segment_size, _file_key(raw_key, salt, organisation_id)


def decrypt_segments(src: BinaryIO, *, data_key, raw_key: bytes, organisation_id: int) -> Iterator[bytes]:
    """Yield authenticated plaintext segments; raise EvidenceCorrupted at the first bad one (before
    yielding it), or when the file is cut short or extended."""
    header, segment_size, aead = _open_header(src, data_key=data_key, raw_key=raw_key,
                                              organisation_id=organisation_id)
    full = segment_size + TAG_SIZE
    counter = 0
    current = _read_exact(src, full)
    while True:
        if len(current) < TAG_SIZE:
            raise EvidenceCorrupted(f"segment {counter} is truncated")
        following = _read_exact(src, full) if len(current) == full else b""
        last = not following
        try:
            plain = aead.decrypt(_nonce(counter, last), current, header)
        except InvalidTag as exc:
            raise EvidenceCorrupted(f"segment {counter} failed authentication") from exc
        yield plain
        if last:
            return
        counter += 1
        current = following


class EncryptingReader(io.RawIOBase):
    """A read-only file over `encrypt_segments`, so a storage backend can pull ciphertext in chunks
    as it writes (nothing is held whole in memory). `size` is known in advance for backends that
    need a content length; `sha256` is the plaintext's digest once everything was read."""

    def __init__(self, src: BinaryIO, plaintext_size: int, *, data_key, raw_key: bytes, organisation_id: int):
        super().__init__()
        self._hasher = hashlib.sha256()
        self._plaintext_size = plaintext_size
        segment_size = settings.EVIDENCE_SEGMENT_SIZE
        self.size = ciphertext_size(plaintext_size, segment_size)
        self._counting = _CountingReader(src)
        self._gen = encrypt_segments(self._counting, data_key=data_key, raw_key=raw_key,
                                     organisation_id=organisation_id, hasher=self._hasher,
                                     segment_size=segment_size)
        self._buf = b""
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf and not self.done:
            try:
                self._buf = next(self._gen)
            except StopIteration:
                self.done = True
                if self._counting.count != self._plaintext_size:
                    raise OSError(f"expected {self._plaintext_size} bytes, read {self._counting.count}") from None
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    @property
    def sha256(self) -> str:
        if not self.done:
            raise RuntimeError("the digest is known only after the whole file was read")
        return self._hasher.hexdigest()


class _CountingReader:
    def __init__(self, src: BinaryIO):
        self._src = src
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        self.count += len(data)
        return data


@dataclass
class DecryptedStream:
    """Plaintext chunks of one stored file, hashed as they pass: `verified` becomes True only after
    the last chunk when the digest equals `expected_sha256`. The last chunk is held back until then,
    so a consumer never receives the complete file unless it verified."""

    chunks: Iterator[bytes]
    expected_sha256: str

    def __iter__(self) -> Iterator[bytes]:
        hasher = hashlib.sha256()
        pending = None
        for chunk in self.chunks:
            if pending is not None:
                yield pending
            hasher.update(chunk)
            pending = chunk
        if hasher.hexdigest() != self.expected_sha256:
            raise EvidenceCorrupted(f"the plaintext hashes to {hasher.hexdigest()}, not {self.expected_sha256}")
        if pending:
            yield pending


class SeekableDecryptedFile(io.RawIOBase):
    """Random-access plaintext view of a stored file (segment by segment, each authenticated before
    use), for readers that seek, such as PyAV and Pillow. Holds one segment in memory; writes no
    plaintext anywhere."""

    def __init__(self, src: BinaryIO, total_size: int, *, data_key, raw_key: bytes, organisation_id: int):
        super().__init__()
        self._src = src
        self._header, self._segment_size, self._aead = _open_header(
            src, data_key=data_key, raw_key=raw_key, organisation_id=organisation_id)
        full = self._segment_size + TAG_SIZE
        body = total_size - HEADER_SIZE
        self._segments = max(1, -(-body // full))
        self.size = body - TAG_SIZE * self._segments
        if self.size < 0:
            raise EvidenceCorrupted("the stored file is truncated")
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._src.close()
            self._cached = None
        super().close()

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _segment(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        full = self._segment_size + TAG_SIZE
        self._src.seek(HEADER_SIZE + index * full)
        ciphertext = _read_exact(self._src, full)
        last = index == self._segments - 1
        try:
            plain = self._aead.decrypt(_nonce(index, last), ciphertext, self._header)
        except InvalidTag as exc:
            raise EvidenceCorrupted(f"segment {index} failed authentication") from exc
        self._cached = (index, plain)
        return plain

    def readinto(self, b) -> int:
        """Fills `b` across segment boundaries (readers such as Pillow expect full reads)."""
        filled = 0
        while filled < len(b) and self._pos < self.size:
            index, offset = divmod(self._pos, self._segment_size)
            data = self._segment(index)[offset:offset + len(b) - filled]
            b[filled:filled + len(data)] = data
            filled += len(data)
            self._pos += len(data)
        return filled
