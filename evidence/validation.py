"""Upload validation: what a file is (by its content, never its name), whether it is within limits,
and the normalised bytes that get stored.

- Type by magic bytes, with an explicit sniffer for exactly the accepted types (JPEG, PNG, WebP,
  MP4, PDF); anything else is refused, naming what it looks like (a program, a ZIP archive, an SVG).
- Size limits per kind (settings.EVIDENCE_MAX_BYTES); empty files refused.
- Images: a pixel limit (settings.EVIDENCE_MAX_IMAGE_PIXELS) checked from the header before any
  decoding, with Pillow's DecompressionBombWarning raised as an error; then re-encoded from the
  pixels alone: orientation applied, every metadata block (EXIF with GPS, XMP, ICC, text chunks)
  dropped. Animated images keep their first frame.
- MP4: an ISO-BMFF `ftyp` box with an MP4 brand first, a consistent top-level box structure with
  a `moov` box. User-data and metadata boxes (`udta`, `meta`: where phones put the recording
  location) are blanked in place: renamed `free` and zeroed, so no sample offset moves.
- PDF: parsed; refused when encrypted or when it carries JavaScript, launch actions, embedded
  files, XFA or rich media, found by walking its objects (compressed object streams included)
  and by a raw scan of the bytes for those names.
- File names are sanitised for display and downloads only; storage names are random.

Everything reads in chunks: nothing here holds a whole video or document in memory.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.template.defaultfilters import filesizeformat as _filesizeformat

from evidence.models import EvidenceKind

CHUNK = 1024 * 1024


class Refused(Exception):
    """A file that cannot be accepted; `reason` is for the person who uploaded it."""

    def __init__(self, filename: str, reason: str):
        super().__init__(f"“{filename}” was not accepted: {reason}")
        self.filename = filename
        self.reason = reason

    @property
    def message(self) -> str:
        return str(self)


# --- File names ---------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w .()+,\-]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def sanitise_filename(name: str | None, *, max_length: int = 150) -> str:
    """A display name safe in a page, a header and any file system: the last path component only,
    no control or reserved characters, no leading dots, bounded length. Never used for storage."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: max_length - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:max_length].rstrip(" .")
    return name or "file"


def with_extension(name: str, extensions: tuple[str, ...]) -> str:
    """The name, ending in one of `extensions` (the first is added when it has none of them), so a
    downloaded file opens in the application its content is for."""
    if name.lower().endswith(extensions):
        return name
    return f"{name}{extensions[0]}"


# --- Content sniffing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    kind: str
    content_type: str
    extensions: tuple[str, ...]
    label: str


JPEG = FileType(EvidenceKind.IMAGE, "image/jpeg", (".jpg", ".jpeg"), "JPEG image")
PNG = FileType(EvidenceKind.IMAGE, "image/png", (".png",), "PNG image")
WEBP = FileType(EvidenceKind.IMAGE, "image/webp", (".webp",), "WebP image")
MP4 = FileType(EvidenceKind.VIDEO, "video/mp4", (".mp4", ".m4v"), "MP4 video")
PDF = FileType(EvidenceKind.DOCUMENT, "application/pdf", (".pdf",), "PDF document")

MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
              b"M4VP", b"MSNV", b"dash", b"mmp4", b"f4v "}
NOT_VIDEO_BRANDS = {
    b"qt  ": "a QuickTime movie (.mov); export it as MP4",
    b"heic": "a HEIC photo; export it as JPEG", b"heix": "a HEIC photo; export it as JPEG",
    b"mif1": "a HEIF image; export it as JPEG", b"msf1": "a HEIF image sequence",
    b"avif": "an AVIF image; export it as JPEG or PNG", b"M4A ": "an audio file", b"M4B ": "an audiobook",
    b"crx ": "a camera raw photo", b"3gp4": "a 3GP video", b"3gp5": "a 3GP video",
}
_KNOWN_OTHERS: list[tuple[bytes, str]] = [
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"#!", "a script"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
]


def sniff(head: bytes) -> FileType | str:
    """The accepted type `head` (the first bytes of a file) starts like, or a description of what
    it is instead."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if len(head) >= 12 and head[4:8] == b"ftyp":
        size = struct.unpack(">I", head[:4])[0]
        major = head[8:12]
        compatible = {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        if major in NOT_VIDEO_BRANDS:
            return NOT_VIDEO_BRANDS[major]
        if major in MP4_BRANDS or compatible & MP4_BRANDS:
            return MP4
        return f"an ISO media file of brand {major.decode('latin-1')!r}, not an MP4 video"
    for magic, label in _KNOWN_OTHERS:
        if head.startswith(magic):
            return label
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text[:1024] or (text.startswith(b"<?xml") and b"svg" in text[:1024]):
        return "an SVG image (SVG can carry scripts and is not accepted)"
    if text.startswith((b"<!doctype html", b"<html", b"<script")):
        return "an HTML page"
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        return "an XML or HTML document"
    return "not a JPEG, PNG or WebP image, an MP4 video or a PDF document"


def filesizeformat(size: int) -> str:
    return _filesizeformat(size).replace("\xa0", " ")


def accepted_types_text() -> str:
    return "JPEG, PNG or WebP images, MP4 videos and PDF documents"


# --- The result of validation -------------------------------------------------------------------


@dataclass
class Prepared:
    """A validated file and the plaintext to store (read it once, from the start)."""

    filename: str
    file_type: FileType
    source: BinaryIO
    size: int
    original_size: int
    original_sha256: str = ""
    original_hasher: object | None = None  # filled while `source` is read (pass-through types)
    width: int | None = None
    height: int | None = None
    notes: list[str] = field(default_factory=list)
    _closers: list = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.file_type.kind

    def original_digest(self, stored_sha256: str) -> str:
        if self.original_sha256:
            return self.original_sha256
        if self.original_hasher is not None:
            return self.original_hasher.hexdigest()
        return stored_sha256

    def close(self) -> None:
        for close in self._closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - best effort clean-up of temporary files
                pass


def _size_of(upload) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        pos = upload.tell()
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
        upload.seek(pos)
    return int(size)


def _hash_file(src: BinaryIO) -> str:
    src.seek(0)
    h = hashlib.sha256()
    for chunk in iter(lambda: src.read(CHUNK), b""):
        h.update(chunk)
    src.seek(0)
    return h.hexdigest()


def prepare(upload, *, filename: str | None = None) -> Prepared:
    """Validate one uploaded file (a Django UploadedFile or any seekable binary file) and return
    what to store; raise Refused naming the file and the reason."""
    name = sanitise_filename(filename if filename is not None else getattr(upload, "name", ""))
    size = _size_of(upload)
    if size == 0:
        raise Refused(name, "the file is empty.")
    upload.seek(0)
    head = upload.read(64)
    upload.seek(0)
    detected = sniff(head)
    if isinstance(detected, str):
        raise Refused(name, f"its content is {detected}. Accepted: {accepted_types_text()} "
                            "(the type is read from the content, not the name).")
    limit = settings.EVIDENCE_MAX_BYTES[detected.kind]
    if size > limit:
        raise Refused(name, f"{detected.label}s may be at most {filesizeformat(limit)}; "
                            f"this one is {filesizeformat(size)}.")
    name = with_extension(name, detected.extensions)
    if detected.kind == EvidenceKind.IMAGE:
        return _prepare_image(upload, name, detected, size)
    if detected.kind == EvidenceKind.VIDEO:
        return _prepare_mp4(upload, name, detected, size)
    return _prepare_pdf(upload, name, detected, size)


# --- Images -------------------------------------------------------------------------------------

_SAVE_OPTIONS = {
    "JPEG": {"quality": 92},
    "PNG": {"optimize": False},
    "WEBP": {"quality": 92, "method": 4},
}


def _prepare_image(upload, name: str, ftype: FileType, size: int) -> Prepared:
    from PIL import Image, ImageOps, UnidentifiedImageError

    limit = settings.EVIDENCE_MAX_IMAGE_PIXELS
    original_sha256 = _hash_file(upload)
    Image.MAX_IMAGE_PIXELS = limit  # Pillow's own check: a warning past it, an error past twice it
    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}[ftype.content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=[fmt]) as im:
                width, height = im.size
                if width * height > limit:
                    raise Image.DecompressionBombError(f"{width}×{height}")
                im.seek(0)
                im.load()
                clean = _reencode_pixels(im, ImageOps)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(name, f"the image is too large in pixels (at most {limit / 1e6:.0f} megapixels); "
                            "it may be a decompression bomb.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error,
            MemoryError, IndexError, TypeError, KeyError, ZeroDivisionError) as exc:
        raise Refused(name, f"it starts like a {ftype.label} but cannot be read as one ({_short(exc)}).") from None
    out = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
    try:
        if fmt == "JPEG" and clean.mode not in ("RGB", "L"):
            clean = clean.convert("RGB")
        if fmt == "WEBP" and clean.mode not in ("RGB", "RGBA"):
            clean = clean.convert("RGBA" if "A" in clean.mode else "RGB")
        width, height = clean.size
        clean.save(out, format=fmt, **_SAVE_OPTIONS[fmt])
    except (OSError, ValueError) as exc:
        out.close()
        raise Refused(name, f"the image could not be re-encoded ({_short(exc)}).") from None
    finally:
        clean.close()
    stored_size = out.tell()
    out.seek(0)
    upload.seek(0)
    return Prepared(filename=name, file_type=ftype, source=out, size=stored_size, original_size=size,
                    original_sha256=original_sha256, width=width, height=height,
                    _closers=[out.close])


def _reencode_pixels(im, ImageOps):
    """A new image holding only the pixels, orientation applied: no EXIF (so no GPS), no XMP, no
    ICC profile, no text chunks."""
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("LA", "PA", "La"):
        im = im.convert("RGBA")
    elif im.mode == "CMYK":
        im = im.convert("RGB")
    elif im.mode == "1":
        im = im.convert("L")
    transposed = ImageOps.exif_transpose(im)
    clean = (transposed if transposed is not None else im).copy()
    clean.info = {}
    return clean


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]


# --- MP4 ----------------------------------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}
_METADATA = {b"udta", b"meta"}
_BOX_TYPE = re.compile(rb"^[\x20-\x7e\xa9]{4}$")


def _boxes(f: BinaryIO, start: int, end: int) -> Iterable[tuple[bytes, int, int, int]]:
    """(type, box start, header length, box end) of each box between start and end."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise ValueError("a box header is cut short")
        f.seek(pos)
        header = f.read(8)
        size, kind = struct.unpack(">I4s", header)
        header_len = 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            header_len = 16
        elif size == 0:
            size = end - pos
        if size < header_len or pos + size > end:
            raise ValueError(f"box '{kind.decode('latin-1')}' at byte {pos} runs past its parent")
        if not _BOX_TYPE.match(kind):
            raise ValueError(f"an invalid box type at byte {pos}")
        yield kind, pos, header_len, pos + size
        pos += size


def _metadata_boxes(f: BinaryIO, start: int, end: int, depth: int = 0) -> list[tuple[int, int, int]]:
    found = []
    if depth > 8:
        raise ValueError("boxes are nested too deeply")
    for kind, pos, header_len, box_end in _boxes(f, start, end):
        if kind in _METADATA:
            found.append((pos, header_len, box_end))
        elif kind in _CONTAINERS:
            found.extend(_metadata_boxes(f, pos + header_len, box_end, depth + 1))
    return found


def _prepare_mp4(upload, name: str, ftype: FileType, size: int) -> Prepared:
    try:
        top = list(_boxes(upload, 0, size))
        if len(top) > 10000:
            raise ValueError("too many top-level boxes")
        kinds = [k for k, *_ in top]
        if kinds[0] != b"ftyp":
            raise ValueError("it does not start with an ftyp box")
        if b"moov" not in kinds:
            raise ValueError("it has no moov box (an unfinished recording?)")
        if b"mdat" not in kinds and b"moof" not in kinds:
            raise ValueError("it holds no media data")
        metadata = []
        for kind, pos, header_len, end in top:
            if kind == b"moov":
                metadata.extend(_metadata_boxes(upload, pos + header_len, end))
            elif kind in _METADATA:
                metadata.append((pos, header_len, end))
    except (ValueError, struct.error) as exc:
        raise Refused(name, f"it starts like an MP4 video but its structure is broken: {exc}.") from None
    finally:
        upload.seek(0)
    overlays = []
    for pos, header_len, end in metadata:
        overlays.append((pos + 4, b"free"))
        overlays.append((pos + header_len, None, end - pos - header_len))  # zeros
    hasher = hashlib.sha256()
    source = OverlayReader(upload, overlays, hasher=hasher)
    notes = ["metadata boxes blanked"] if metadata else []
    return Prepared(filename=name, file_type=ftype, source=source, size=size, original_size=size,
                    original_hasher=hasher, notes=notes)


class OverlayReader:
    """Reads `src` from the start, replacing given byte ranges (a fixed value, or zeros), and
    hashing what it read before replacement."""

    def __init__(self, src: BinaryIO, overlays: list[tuple], *, hasher=None):
        self._src = src
        self._pos = 0
        self._hasher = hasher
        self._spans = []
        for overlay in overlays:
            if len(overlay) == 2:
                start, data = overlay
                self._spans.append((start, start + len(data), data))
            else:
                start, _, length = overlay
                self._spans.append((start, start + length, None))

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n if n is not None and n >= 0 else CHUNK)
        if not data:
            return data
        if self._hasher is not None:
            self._hasher.update(data)
        start, end = self._pos, self._pos + len(data)
        self._pos = end
        if not self._spans:
            return data
        buf = None
        for s_start, s_end, value in self._spans:
            lo, hi = max(start, s_start), min(end, s_end)
            if lo >= hi:
                continue
            if buf is None:
                buf = bytearray(data)
            if value is None:
                buf[lo - start:hi - start] = bytes(hi - lo)
            else:
                buf[lo - start:hi - start] = value[lo - s_start:hi - s_start]
        return bytes(buf) if buf is not None else data


# --- PDF ----------------------------------------------------------------------------------------

_PDF_BANNED = {
    "JS": "contains JavaScript", "JavaScript": "contains JavaScript",
    "Launch": "contains a launch action (it can start programs)",
    "EmbeddedFile": "has embedded files", "EmbeddedFiles": "has embedded files",
    "XFA": "contains an XFA form (it can run scripts)", "RichMedia": "contains rich media (it can run code)",
    "ImportData": "contains an import-data action",
}
_ENCRYPTED = "is encrypted (password-protected)"
_PDF_NAME = re.compile(rb"/((?:[A-Za-z]|#[0-9A-Fa-f]{2}){2,20})")
_MAX_PDF_OBJECTS = 500_000


def _pdf_name(raw: bytes) -> str:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")


def _scan_pdf_bytes(src: BinaryIO) -> str | None:
    """What a raw scan of the file finds among the banned names (objects outside any cross-reference
    table included; escaped names like /J#61vaScript decoded)."""
    src.seek(0)
    tail = b""
    encrypted = False
    for chunk in iter(lambda: src.read(CHUNK), b""):
        window = tail + chunk
        for match in _PDF_NAME.finditer(window):
            word = _pdf_name(match.group(1))
            if word in _PDF_BANNED:
                return _PDF_BANNED[word]
            if word == "Encrypt":
                encrypted = True
        tail = window[-64:]
    return _ENCRYPTED if encrypted else None


def _walk_pdf(reader) -> str | None:
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    seen: set[tuple[int, int]] = set()
    stack = [reader.trailer]
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        visited += 1
        if visited > _MAX_PDF_OBJECTS:
            return "has too many objects to check"
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                bare = str(key).lstrip("/")
                if bare in _PDF_BANNED:
                    return _PDF_BANNED[bare]
                if isinstance(value, NameObject) and str(value).lstrip("/") in _PDF_BANNED:
                    return _PDF_BANNED[str(value).lstrip("/")]
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return None


def _prepare_pdf(upload, name: str, ftype: FileType, size: int) -> Prepared:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    found = _scan_pdf_bytes(upload)
    if found is None:
        upload.seek(0)
        pypdf_log = logging.getLogger("pypdf")
        level = pypdf_log.level
        pypdf_log.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader = PdfReader(upload, strict=False)
                if reader.is_encrypted:
                    found = _ENCRYPTED
                else:
                    if len(reader.pages) == 0:
                        raise ValueError("it has no pages")
                    found = _walk_pdf(reader)
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
                OSError, struct.error, AssertionError, MemoryError) as exc:
            raise Refused(name, f"it starts like a PDF but cannot be read as one ({_short(exc)}).") from None
        finally:
            pypdf_log.setLevel(level)
            upload.seek(0)
    if found:
        raise Refused(name, f"the PDF {found}, which is not accepted. Print it to a new PDF "
                            "without scripts, attachments or a password and upload that.")
    upload.seek(0)
    return Prepared(filename=name, file_type=ftype, source=upload, size=size, original_size=size)
