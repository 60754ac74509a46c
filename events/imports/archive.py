"""Archive safety: a .zip import is checked from its directory before anything is extracted (entry
count, absolute or climbing names, symbolic links, encryption, declared size and compression
ratio), then extracted counting the bytes really inflated, so an archive that lies about its sizes
is stopped at the limit too."""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from events.imports.report import ImportFileError, limit_setting

DATA_SUFFIXES = (".jsonl", ".ndjson", ".csv")
IMPORT_SUFFIXES = (*DATA_SUFFIXES, ".zip")


def zip_limits() -> dict[str, int]:
    """Settings-overridable limits for an uploaded archive (zip bombs, huge archives)."""
    return {
        "entries": limit_setting("IMPORT_ZIP_MAX_ENTRIES", 50_000),
        "total_bytes": limit_setting("IMPORT_ZIP_MAX_BYTES", 2 * 1024**3),
        "ratio": limit_setting("IMPORT_ZIP_MAX_RATIO", 100),
    }


UNSAFE_NAME = re.compile(r"(^[/\\])|(^[A-Za-z]:)|\x00")


def _entry_is_unsafe(name: str) -> str | None:
    if UNSAFE_NAME.search(name) or "\\" in name:
        return f"{name!r} is an absolute or Windows-style path"
    if ".." in PurePosixPath(name).parts:
        return f"{name!r} points outside the archive"
    return None


def _open_zip(archive) -> zipfile.ZipFile:
    if not zipfile.is_zipfile(archive):
        raise ImportFileError("The file is not a valid zip archive.")
    if hasattr(archive, "seek"):
        archive.seek(0)
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(f"The zip archive cannot be read: {exc}") from exc


def check_zip_entries(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's entries, after refusing (from its directory alone, nothing extracted): too
    many entries, an entry whose name is absolute or climbs out (`../`), symbolic links, encrypted
    entries, a declared total or a per-entry compression ratio over the limits."""
    limits = zip_limits()
    infos = zf.infolist()
    if len(infos) > limits["entries"]:
        raise ImportFileError(f"The archive has {len(infos)} entries; at most {limits['entries']} are allowed.")
    declared = 0
    for info in infos:
        problem = _entry_is_unsafe(info.filename)
        if problem:
            raise ImportFileError(f"Refused archive: {problem}.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ImportFileError(f"Refused archive: {info.filename!r} is a symbolic link.")
        if info.flag_bits & 0x1:
            raise ImportFileError(f"Refused archive: {info.filename!r} is encrypted.")
        declared += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > limits["ratio"] * max(info.compress_size, 1):
            raise ImportFileError(
                f"Refused archive: {info.filename!r} expands {info.file_size // max(info.compress_size, 1)}"
                f" times (a zip bomb?); at most {limits['ratio']} times is allowed.")
    if declared > limits["total_bytes"]:
        raise ImportFileError(f"Refused archive: it expands to {declared} bytes; at most "
                              f"{limits['total_bytes']} are allowed.")
    return infos


def check_zip(archive) -> None:
    """Refuse an unsafe archive (a path or a file object) before it is stored: the upload form's check."""
    with _open_zip(archive) as zf:
        check_zip_entries(zf)
    if hasattr(archive, "seek"):
        archive.seek(0)


def safe_extract(archive: Path, into: Path) -> Path:
    """Extract `archive` into the empty folder `into` and return the one data file it holds.

    Refuses what check_zip_entries refuses before writing anything; while writing it counts the
    bytes really inflated, so an archive that lies about its sizes is stopped at the limit too."""
    with _open_zip(archive) as zf:
        infos = check_zip_entries(zf)
        try:
            data_files = _extract(zf, infos, into.resolve(), zip_limits())
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ImportFileError(f"The zip archive is damaged or uses an unsupported feature: {exc}") from exc
    if len(data_files) != 1:
        root = into.resolve()
        found = ", ".join(sorted(str(p.relative_to(root)) for p in data_files)) or "none"
        raise ImportFileError(f"The archive must hold exactly one .jsonl or .csv file (found: {found}).")
    return data_files[0]


def _extract(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], root: Path, limits: dict[str, int]) -> list[Path]:
    """Write the (already checked) entries under `root`, counting the bytes really inflated."""
    written = 0
    data_files: list[Path] = []
    for info in infos:
        target = (root / info.filename).resolve()
        if target != root and root not in target.parents:
            raise ImportFileError(f"Refused archive: {info.filename!r} points outside the archive.")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "xb") as dst:
            entry_bytes = 0
            while chunk := src.read(1024 * 1024):
                entry_bytes += len(chunk)
                written += len(chunk)
                if entry_bytes > info.file_size or written > limits["total_bytes"]:
                    raise ImportFileError("Refused archive: it expands to more than it declares or allows "
                                          "(a zip bomb?).")
                dst.write(chunk)
        parts = PurePosixPath(info.filename).parts
        if target.suffix.lower() in DATA_SUFFIXES and not any(p.startswith((".", "__MACOSX")) for p in parts):
            data_files.append(target)
    return data_files
