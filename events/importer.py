"""Bulk import of events in the interchange format (shared/INTERCHANGE.md): a .jsonl, a .csv (nested
lists as numbered columns, `persons.0.name`) or a .zip holding one of those plus the stills that
`persons[].images` name.

Every row is checked by the one validator, `events.interchange.EventInput`, so a row refused here
is refused by the API and the form for the same reason. Refused rows are reported as
(line, field in dotted form, reason). The caller chooses (DESIGN.md rule 7):

- keep good rows: each batch of rows is written in its own transaction; refused rows are skipped;
- all or nothing: the whole import is one transaction, rolled back when any row was refused (the
  rest of the file is still checked, so the report names every refused row).

Re-importing an external_id updates that event with `event_update`'s semantics (the caller must be
allowed to change it; the parts are replaced, people kept by `ref`; the before/after changes are
audited) and never duplicates it; a row without an external_id always creates an event.

Speed: validation is per row (one serializer instance reused, the retailer's stores looked up
once), writes are per batch (`bulk_create` of events, people, products and vehicles; existing
external_ids found with one query). Audit: ONE `event.import` row per batch, written in the
batch's transaction, listing every created event (id, external_id, line) and every updated event
(id, external_id, line and its before/after changes). A per-event audit row costs ~3 ms (it
serialises on the organisation's hash-chain head), which alone would cap an import at ~330
events/s; grouped per batch, every created or updated event is still findable in the audit log
(`audit_entries_for_event`), in the same transaction as the change.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from accounts.models import Store
from audit.services import audit_record
from auror import access
from events.interchange import (
    EventInput,
    PersonInput,
    ProductInput,
    VehicleInput,
    event_to_interchange,
    unflatten,
)
from events.models import Event, EventPerson, EventProduct, EventVehicle, Product
from events.services import SCALAR_FIELDS, _diff, _new_person, _vehicles
from events.vocabulary import NOT_KNOWN, RowWarning, vocabulary_for
from evidence.blobs import blobs_removed_unless_committed

DATA_SUFFIXES = (".jsonl", ".ndjson", ".csv")
IMPORT_SUFFIXES = (*DATA_SUFFIXES, ".zip")
IMAGE_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))
DEFAULT_BATCH = 1000


def limit_setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def zip_limits() -> dict[str, int]:
    """Settings-overridable limits for an uploaded archive (zip bombs, huge archives)."""
    return {
        "entries": limit_setting("IMPORT_ZIP_MAX_ENTRIES", 50_000),
        "total_bytes": limit_setting("IMPORT_ZIP_MAX_BYTES", 2 * 1024**3),
        "ratio": limit_setting("IMPORT_ZIP_MAX_RATIO", 100),
    }


class ImportFileError(Exception):
    """The file as a whole cannot be imported (wrong type, unsafe archive, bad header). Nothing was written."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass
class ImportResult:
    rows: int = 0  # rows read (refused ones included)
    created: int = 0
    updated: int = 0
    refused: int = 0  # rows refused
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)  # descriptor values mapped or left out (rows kept)
    rolled_back: bool = False
    event_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused == 0


# --- Reading files ---------------------------------------------------------------------------------


_UNSAFE_NAME = re.compile(r"(^[/\\])|(^[A-Za-z]:)|\x00")


def _entry_is_unsafe(name: str) -> str | None:
    if _UNSAFE_NAME.search(name) or "\\" in name:
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


# Column names a CSV may use: EventInput's own, numbered nested ones, plus the export's extras.
_NESTED = {
    "persons": set(PersonInput().fields) | {"profile"},
    "products": set(ProductInput().fields),
    "vehicles": set(VehicleInput().fields),
}
_LIST_IN_PERSON = {"aliases", "images"}


def _unknown_column(name: str) -> bool:
    parts = name.split(".")
    if len(parts) == 1:
        return name not in _TOP_FIELDS and name != "id"
    if parts[0] not in _NESTED or not parts[1].isdigit():
        return True
    if len(parts) == 3:
        return parts[2] not in _NESTED[parts[0]]
    if len(parts) == 4 and parts[0] == "persons":
        return parts[2] not in _LIST_IN_PERSON or not parts[3].isdigit()
    return True


_TOP_FIELDS = set(EventInput().fields)


class ImportSource:
    """An import file opened for reading: `rows()` yields (line, data, problem) and `root` is the
    folder that image paths are relative to. A .zip is extracted, safely, into a temporary folder
    that is removed on exit."""

    def __init__(self, path: str | Path, *, name: str | None = None):
        self.path = Path(path)
        self.name = name or self.path.name
        self._tmp: str | None = None
        self.data_path = self.path
        self.root = self.path.parent

    def __enter__(self) -> ImportSource:
        suffix = Path(self.name).suffix.lower()
        if suffix not in IMPORT_SUFFIXES:
            raise ImportFileError("Import a .jsonl, .csv or .zip file.")
        if not self.path.is_file():
            raise ImportFileError(f"No such file: {self.path}")
        if suffix == ".zip":
            self._tmp = tempfile.mkdtemp(prefix="auror-import-")
            try:
                self.data_path = safe_extract(self.path, Path(self._tmp))
            except BaseException:
                self.close()
                raise
            self.root = self.data_path.parent
        self.format = "csv" if self.data_path.suffix.lower() == ".csv" else "jsonl"
        try:
            # Counting reads the whole file once: a bad CSV header or encoding is refused here,
            # before any row is written, and the count drives the progress bar.
            self.total = self._count_rows()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _count_rows(self) -> int:
        if self.format == "jsonl":
            with open(self.data_path, "rb") as fh:
                return sum(1 for line in fh if line.strip())
        return sum(1 for _ in self.rows())

    def rows(self) -> Iterator[tuple[int, Any, str | None]]:
        """(line number, the row as interchange data, or None and why it could not be read)."""
        return self._jsonl_rows() if self.format == "jsonl" else self._csv_rows()

    def _jsonl_rows(self) -> Iterator[tuple[int, Any, str | None]]:
        max_line = limit_setting("IMPORT_MAX_LINE_BYTES", 1024 * 1024)
        with open(self.data_path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                if len(raw) > max_line:
                    yield number, None, f"The line is longer than {max_line} bytes."
                    continue
                try:
                    data = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    yield number, None, "The line is not valid UTF-8."
                    continue
                except json.JSONDecodeError as exc:
                    yield number, None, f"Not valid JSON: {exc.msg} (column {exc.colno})."
                    continue
                if not isinstance(data, dict):
                    yield number, None, "Each line must be one JSON object."
                    continue
                yield number, data, None

    def _csv_rows(self) -> Iterator[tuple[int, Any, str | None]]:
        try:
            fh = open(self.data_path, encoding="utf-8-sig", newline="")  # noqa: SIM115
            with fh:
                reader = csv.reader(fh)
                header = next(reader, None)
                if not header:
                    raise ImportFileError("The CSV file is empty: its first line must name the columns.")
                names = [h.strip() for h in header]
                unknown = [n for n in names if n and _unknown_column(n)]
                if unknown:
                    raise ImportFileError(f"Unknown column(s) in the CSV header: {', '.join(unknown[:10])}. Columns are "
                                          "interchange field names, nested lists numbered (persons.0.name).")
                last = reader.line_num
                for cells in reader:
                    start, last = last + 1, reader.line_num
                    if not any(c.strip() for c in cells):
                        continue
                    if len(cells) > len(names):
                        yield start, None, f"The row has {len(cells)} cells but the header names {len(names)} columns."
                        continue
                    flat = {}
                    for name, value in zip(names, cells, strict=False):
                        value = value.strip()
                        if name and value:
                            flat[name] = value
                    data = unflatten(flat)
                    for person in data.get("persons", []) if isinstance(data.get("persons"), list) else []:
                        for key in _LIST_IN_PERSON:
                            if isinstance(person, dict) and isinstance(person.get(key), str):
                                person[key] = [p.strip() for p in person[key].split(";") if p.strip()]
                    yield start, data, None
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"The CSV file is not valid UTF-8 (byte {exc.start}).") from exc
        except csv.Error as exc:
            raise ImportFileError(f"The CSV file cannot be read: {exc}") from exc


def check_image_path(root: Path, rel: Any) -> str | None:
    """Why an image path named by a row cannot be used, or None. Paths are relative to the import
    file's folder and must stay inside it (no absolute paths, no `..`, no symlinks out)."""
    if not isinstance(rel, str) or not rel.strip():
        return "Give the image's path relative to the import file."
    rel = rel.strip()
    if _UNSAFE_NAME.search(rel) or "\\" in rel:
        return f"{rel!r}: absolute paths are not allowed; give a path relative to the import file."
    if ".." in PurePosixPath(rel).parts:
        return f"{rel!r} points outside the import folder."
    base = os.path.realpath(root)
    real = os.path.realpath(os.path.join(base, rel))
    if not real.startswith(base + os.sep):
        return f"{rel!r} links outside the import folder."
    if not os.path.isfile(real):
        return f"No image at {rel!r} (paths are relative to the import file)."
    with open(real, "rb") as fh:
        head = fh.read(16)
    if not (any(head.startswith(m) for m, _ in IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")):
        return f"{rel!r} is not a JPEG, PNG or WebP image."
    return None


# --- Validation and writing ------------------------------------------------------------------------


class _ImportEventInput(EventInput):
    """EventInput with the importing retailer's stores looked up once instead of once a row; an
    unknown code falls through to EventInput's own check (and its message)."""

    def validate_store(self, code: str) -> Store:
        store = self.context["stores"].get(code.strip())
        return store if store is not None else super().validate_store(code)


def flatten_detail(detail: Any, prefix: str = "") -> list[tuple[str, str]]:
    from events.interchange import flatten_errors

    return [(name, reason) for name, reasons in flatten_errors(detail, prefix).items() for reason in reasons]


@dataclass
class _Row:
    line: int
    data: dict[str, Any]
    event: Event | None = None  # the existing event a re-import updates
    persons: list[EventPerson] = field(default_factory=list)
    products: list[EventProduct] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)  # an update's before/after, for the audit


def _matching_after_commit(organisation_id: int, event_ids: list[int]) -> None:
    from events.tasks import match_imported_events

    transaction.on_commit(lambda: match_imported_events.delay(organisation_id, event_ids))


def _images_of(row: _Row) -> bool:
    return any(p.get("images") for p in row.data.get("persons", []))


class _ImagesRefused(Exception):
    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__(errors)
        self.errors = errors


class _Rollback(Exception):
    pass


BatchHook = Callable[[ImportResult, list[RowError], int], None]


class EventImporter:
    """Imports rows into one retailer. `actor` None is the system actor of `manage.py import_events`
    (recorded in the audit log as `actor_label`); a user is held to the access policy: creating needs
    `can_record_event_at`, updating needs CHANGE on the existing event."""

    def __init__(self, *, organisation, actor=None, actor_label: str = "import command", atomic: bool = False,
                 batch_size: int = DEFAULT_BATCH, via: str = "import", job_id: int | None = None,
                 source_label: str = "", on_batch: BatchHook | None = None, parallel: bool = True,
                 strict_values: bool = False):
        if not organisation.is_retailer:
            raise ImportFileError(f"{organisation.name} is not a retailer: only retailers record events.")
        if actor is not None and actor.organisation_id != organisation.pk:
            raise ImportFileError(f"{actor.email} is not a member of {organisation.name}.")
        self.org = organisation
        self.actor = actor
        self.actor_label = actor_label
        self.atomic = atomic
        self.batch_size = max(1, batch_size)
        self.via = via
        self.job_id = job_id
        self.source_label = source_label
        self.on_batch = on_batch
        self.parallel = parallel
        self.stores = {s.code: s for s in Store.objects.unscoped().filter(organisation=organisation)
                       .select_related("organisation")}
        # Descriptor synonyms (events.vocabulary): the retailer's own and the built-in table, loaded once.
        self._serializer = _ImportEventInput(context={"organisation": organisation, "stores": self.stores,
                                                      "vocabulary": vocabulary_for(organisation),
                                                      "strict_values": strict_values, "warnings": []})
        self._may_record: dict[int, bool] = {}

    # -- public -----------------------------------------------------------------------------------

    def run(self, source: ImportSource, *, skip_rows: int = 0) -> ImportResult:
        from events import import_parallel

        result = ImportResult()
        self.root = source.root
        # Decided before this import's own transaction opens: the helpers must see what the caller sees.
        self._helpers = self.parallel and import_parallel.can_use_helpers()
        try:
            # Stills are stored before their rows commit: when the import's transaction rolls back
            # (all or nothing with a refused row, an error), the files it stored go with it.
            with blobs_removed_unless_committed():
                if self.atomic:
                    with transaction.atomic():
                        self._run(source, result, skip_rows)
                        if result.refused:
                            raise _Rollback
                else:
                    self._run(source, result, skip_rows)
        except _Rollback:
            result.rolled_back = True
            result.created = result.updated = 0
            result.event_ids = []
        result.errors.sort(key=lambda e: e.line)
        return result

    # -- the loop ---------------------------------------------------------------------------------

    def _run(self, source: ImportSource, result: ImportResult, skip_rows: int) -> None:
        batch: list[_Row] = []
        pending_ids: set[str] = set()
        batch_errors: list[RowError] = []
        batch_rows = 0
        for line, validated, errors in self._checked(source, skip_rows):
            result.rows += 1
            batch_rows += 1
            if errors:
                self._refuse(result, batch_errors, line, errors)
            else:
                notes = validated.pop("_warnings", ())
                ext = validated["external_id"]
                if ext and ext in pending_ids:  # the same event twice in a file: the later line updates it
                    batch_rows -= 1
                    self._flush(batch, batch_errors, batch_rows, result)
                    batch, batch_errors, batch_rows, pending_ids = [], [], 1, set()
                if ext:
                    pending_ids.add(ext)
                batch.append(_Row(line, validated))
                result.warnings.extend(RowWarning(line=line, **n) for n in notes)
            if batch_rows >= self.batch_size:
                self._flush(batch, batch_errors, batch_rows, result)
                batch, batch_errors, batch_rows, pending_ids = [], [], 0, set()
        if batch_rows:
            self._flush(batch, batch_errors, batch_rows, result)

    def _checked(self, source: ImportSource, skip_rows: int) -> Iterator[tuple[int, dict | None, list]]:
        """(line, validated data or None, errors) for each row after the first `skip_rows`: in helper
        processes while this one writes where that is possible (events.import_parallel), else here."""
        from events import import_parallel

        rows = (r for n, r in enumerate(source.rows()) if n >= skip_rows)
        if self._helpers:
            yield from import_parallel.checked_rows(self, rows)
            return
        for line, data, problem in rows:
            if problem is not None:
                yield line, None, [("non_field_errors", problem)]
            else:
                validated, errors = self._validate(data, source.root)
                yield line, validated, errors

    def _refuse(self, result: ImportResult, sink: list[RowError], line: int, errors: list[tuple[str, str]]) -> None:
        result.refused += 1
        for name, reason in errors:
            err = RowError(line, name, reason)
            result.errors.append(err)
            sink.append(err)

    def _validate(self, data: dict[str, Any], root: Path) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
        self._serializer.context["warnings"] = warnings = []
        try:
            validated = self._serializer.run_validation(data)
        except serializers.ValidationError as exc:
            return None, flatten_detail(exc.detail)
        errors = []
        for i, person in enumerate(validated.get("persons", [])):
            for j, rel in enumerate(person.get("images", [])):
                problem = check_image_path(root, rel)
                if problem:
                    errors.append((f"persons.{i}.images.{j}", problem))
        if warnings:  # carried with the row (from a helper process too) until _run records them with its line
            validated["_warnings"] = warnings
        return (None, errors) if errors else (validated, [])

    def _flush(self, batch: list[_Row], batch_errors: list[RowError], batch_rows: int, result: ImportResult) -> None:
        writing = not (self.atomic and result.refused)
        mark = (result.created, result.updated, result.refused, len(result.errors), len(result.event_ids),
                len(batch_errors))
        try:
            # Per batch too, so that a failed batch's stills are deleted now, not at the end of the file.
            with blobs_removed_unless_committed(), transaction.atomic():
                self._write_batch(batch, result, batch_errors, write=writing)
                if self.on_batch:
                    self.on_batch(result, batch_errors, batch_rows)
        except DatabaseError:
            if self.atomic:
                raise
            # Something changed under us (say the same external_id created concurrently): row by row,
            # so that one bad row does not take the batch's good ones with it.
            result.created, result.updated, result.refused = mark[:3]
            del result.errors[mark[3]:], result.event_ids[mark[4]:], batch_errors[mark[5]:]
            for row in batch:
                try:
                    with blobs_removed_unless_committed(), transaction.atomic():
                        self._write_batch([row], result, batch_errors, write=True)
                except DatabaseError as exc:
                    self._refuse(result, batch_errors, row.line, [("non_field_errors", f"Could not be saved: {exc}")])
            with transaction.atomic():
                if self.on_batch:
                    self.on_batch(result, batch_errors, batch_rows)

    # -- one batch --------------------------------------------------------------------------------

    def _may_record_at(self, store: Store) -> bool:
        if self.actor is None:
            return store.organisation_id == self.org.pk
        if store.pk not in self._may_record:
            self._may_record[store.pk] = access.can_record_event_at(self.actor, store)
        return self._may_record[store.pk]

    def _write_batch(self, batch: list[_Row], result: ImportResult, errors: list[RowError], *, write: bool) -> None:
        ext_ids = [r.data["external_id"] for r in batch if r.data["external_id"]]
        existing: dict[str, Event] = {}
        if ext_ids:
            qs = Event.objects.unscoped().filter(organisation=self.org, external_id__in=ext_ids)
            if write:
                qs = qs.select_for_update(of=("self",))
            existing = {e.external_id: e for e in qs.select_related("store", "organisation")
                        .prefetch_related("persons", "products", "vehicles")}
        changeable = {e.pk for e in existing.values()}
        if self.actor is not None and existing:
            changeable = set(Event.objects.visible_to(self.actor, access.CHANGE)
                             .filter(pk__in=[e.pk for e in existing.values()]).values_list("pk", flat=True))
        creates: list[_Row] = []
        updates: list[_Row] = []
        for row in batch:
            # A batch retried row by row after a failure: forget what the rolled-back attempt wrote.
            row.event, row.persons, row.products, row.changes = None, [], [], {}
            store = row.data["store"]
            event = existing.get(row.data["external_id"]) if row.data["external_id"] else None
            if event is not None and event.pk not in changeable:
                self._refuse(result, errors, row.line, [
                    ("external_id", f"Event {event.external_id} exists and you may not change it.")])
            elif (event is None or store.pk != event.store_id) and not self._may_record_at(store):
                self._refuse(result, errors, row.line, [("store", "You may not record events at that store.")])
            elif event is not None:
                row.event = event
                updates.append(row)
            else:
                creates.append(row)
        if not write or not (creates or updates):
            return
        catalogue = self._catalogue(creates + updates)
        # Rows without stills are written in bulk; a row with stills is written on its own, in a
        # savepoint, so that a still the evidence locker refuses takes only its own row with it.
        plain_creates = [r for r in creates if not _images_of(r)]
        plain_updates = [r for r in updates if not _images_of(r)]
        self._create(plain_creates, catalogue)
        self._update(plain_updates, catalogue)
        done_creates, done_updates = plain_creates, plain_updates
        for row in [r for r in creates + updates if _images_of(r)]:
            is_update = row.event is not None
            try:
                with transaction.atomic():
                    (self._update if is_update else self._create)([row], catalogue)
                    self._attach_images(row)
            except _ImagesRefused as exc:
                self._refuse(result, errors, row.line, exc.errors)
                continue
            (done_updates if is_update else done_creates).append(row)
        if not (done_creates or done_updates):
            return
        # Matching (Connect the Dots) recomputes these events: one job per batch, sent on commit, hands
        # them to matching.services.events_changed in a worker (which queues a job per event; at ~1 ms a
        # message that would otherwise be most of the import's time).
        _matching_after_commit(self.org.pk, [r.event.pk for r in done_creates + done_updates])
        audit_record(
            action="event.import", actor=self.actor, actor_email="" if self.actor else self.actor_label,
            organisation_id=self.org.pk,
            object_type="events.importjob" if self.job_id else "", object_id=self.job_id or "",
            object_repr=self.source_label[:200],
            detail={
                "via": self.via, "source": self.source_label, "job": self.job_id,
                "lines": [batch[0].line, batch[-1].line],
                "created": [{"id": r.event.pk, "external_id": r.event.external_id, "line": r.line}
                            for r in done_creates],
                "updated": [{"id": r.event.pk, "external_id": r.event.external_id, "line": r.line,
                             "changes": r.changes} for r in done_updates],
            },
        )
        result.created += len(done_creates)
        result.updated += len(done_updates)
        result.event_ids.extend(r.event.pk for r in done_creates + done_updates)

    def _attach_images(self, row: _Row) -> None:
        """The stills named by persons[].images become evidence on that person (the evidence
        locker's own upload: type by content, re-encoded, EXIF location removed, encrypted, hashed,
        custody recorded). A still already on that person (same bytes) is not added twice, so
        re-importing a file adds nothing. Raises _ImagesRefused naming each refused still."""
        from django.core.exceptions import PermissionDenied, ValidationError

        from evidence import blobs
        from evidence.models import EvidenceItem
        from evidence.services import evidence_upload

        by_ref = {p.ref: p for p in row.persons}
        stored: list[EvidenceItem] = []
        problems: list[tuple[str, str]] = []
        for i, data in enumerate(row.data.get("persons", [])):
            person = by_ref[data["ref"]]
            have = set(EvidenceItem.objects.filter(person=person, deleted_at__isnull=True)
                       .values_list("original_sha256", flat=True)) if person.pk and row.event else set()
            files, index_of = [], {}
            try:
                for j, rel in enumerate(data.get("images", [])):
                    fh = open(os.path.join(self.root, rel.strip()), "rb")  # noqa: SIM115 - closed below
                    files.append(fh)
                    digest = hashlib.sha256()
                    while chunk := fh.read(1024 * 1024):
                        digest.update(chunk)
                    fh.seek(0)
                    if digest.hexdigest() in have:
                        files.pop().close()
                        continue
                    have.add(digest.hexdigest())
                    index_of.setdefault(os.path.basename(rel.strip()), j)
                if not files:
                    continue
                try:
                    outcome = evidence_upload(actor=self.actor, event=row.event, person=person, files=files,
                                              all_or_nothing=True, as_system=self.actor is None)
                except ValidationError as exc:
                    problems.append((f"persons.{i}.images", "; ".join(exc.messages)))
                    continue
                except PermissionDenied as exc:  # e.g. a sensitive event, imported without sensitive access
                    problems.append((f"persons.{i}.images", str(exc)))
                    continue
                stored.extend(outcome.stored)
                for refused in outcome.refused:
                    j = next((k for name, k in index_of.items() if refused.filename.startswith(Path(name).stem)), None)
                    problems.append((f"persons.{i}.images" + (f".{j}" if j is not None else ""), refused.message))
            finally:
                for fh in files:
                    fh.close()
        if problems:
            for item in stored:  # the savepoint takes the rows back; the encrypted blobs go too
                blobs.blob_delete(item.storage_name)
            raise _ImagesRefused(problems)

    def _catalogue(self, rows: list[_Row]) -> dict[str, Product]:
        skus = {p.get("sku") for r in rows for p in r.data.get("products", []) if p.get("sku")}
        if not skus:
            return {}
        return {p.sku: p for p in Product.objects.unscoped().filter(organisation=self.org, sku__in=skus)}

    @staticmethod
    def _products(event: Event, data: dict[str, Any], catalogue: dict[str, Product]) -> list[EventProduct]:
        # As events.services._products, with the batch's catalogue looked up once for all its rows.
        rows = []
        for p in data.get("products", []):
            item = catalogue.get(p.get("sku") or "")
            unit_value = p.get("unit_value")
            if unit_value is None:
                unit_value = item.unit_value if item else Decimal("0")
            rows.append(EventProduct(
                event=event, product=item, sku=p.get("sku", ""),
                description=p.get("description") or (item.description if item else ""),
                quantity=p.get("quantity", 1), unit_value=unit_value,
            ))
        return rows

    def _create(self, rows: list[_Row], catalogue: dict[str, Product]) -> list[Event]:
        if not rows:
            return []
        events, products = [], []
        creator = self.actor if self.actor is not None else None
        for row in rows:
            d = row.data
            event = Event(organisation=self.org, store=d["store"], created_by=creator,
                          **{k: d[k] for k in SCALAR_FIELDS})
            parts = self._products(event, d, catalogue)
            event.total_value = sum((p.line_value for p in parts), Decimal("0"))
            events.append(event)
            products.extend(parts)
        copy_insert(Event, events)
        copy_insert(EventProduct, products)
        persons_by_event = [[_new_person(e, p) for p in r.data.get("persons", [])] for e, r in zip(events, rows, strict=True)]
        copy_insert(EventPerson, [p for ps in persons_by_event for p in ps])
        vehicles = []
        for event, row, persons in zip(events, rows, persons_by_event, strict=True):
            vehicles.extend(_vehicles(event, row.data, {p.ref: p for p in persons}))
            row.event, row.persons = event, persons
        copy_insert(EventVehicle, vehicles)
        return events

    def _update(self, rows: list[_Row], catalogue: dict[str, Product]) -> list[dict[str, Any]]:
        """event_update's semantics for a batch: scalars and store set, products and vehicles
        replaced, people kept by ref (evidence and links hang off them) and updated in place, the
        removed ones deleted, the new ones added; the before/after changes returned for the audit."""
        if not rows:
            return []
        now = timezone.now()
        befores, events, products, new_persons, kept_persons, gone = [], [], [], [], [], []
        person_fields = [f for f in PersonInput().fields if f not in ("ref", "images")]
        for row in rows:
            event, d = row.event, row.data
            befores.append(event_to_interchange(event))
            event.store = d["store"]
            for k in SCALAR_FIELDS:
                setattr(event, k, d[k])
            event.updated_at = now
            row.products = self._products(event, d, catalogue)
            event.total_value = sum((p.line_value for p in row.products), Decimal("0"))
            products.extend(row.products)
            wanted = {p["ref"]: p for p in d.get("persons", [])}
            persons = []
            for person in event.persons.all():
                if person.ref not in wanted:
                    gone.append(person.pk)
                    continue
                for k, v in wanted.pop(person.ref).items():
                    if k != "images":
                        setattr(person, k, v)
                kept_persons.append(person)
                persons.append(person)
            fresh = [_new_person(event, p) for p in wanted.values()]
            new_persons.extend(fresh)
            row.persons = persons + fresh
            events.append(event)
        ids = [e.pk for e in events]
        EventProduct.objects.filter(event_id__in=ids).delete()
        EventVehicle.objects.filter(event_id__in=ids).delete()
        if gone:
            EventPerson.objects.filter(pk__in=gone).delete()
        if kept_persons:
            bulk_update_rows(EventPerson, kept_persons, person_fields)
        copy_insert(EventPerson, new_persons)
        copy_insert(EventProduct, products)
        bulk_update_rows(Event, events, ["store", "total_value", "updated_at",
                                     *[k for k in SCALAR_FIELDS if k != "external_id"]])
        vehicles, changes = [], []
        for event, row in zip(events, rows, strict=True):
            event_vehicles = _vehicles(event, row.data, {p.ref: p for p in row.persons})
            vehicles.extend(event_vehicles)
            event._prefetched_objects_cache = {
                "persons": sorted(row.persons, key=lambda p: p.pk),
                "products": row.products, "vehicles": event_vehicles,
            }
        copy_insert(EventVehicle, vehicles)
        for event, row, before in zip(events, rows, befores, strict=True):
            row.changes = _diff(before, event_to_interchange(event))
            changes.append(row.changes)
        return changes


def copy_insert(model, objs: list) -> None:
    """INSERT many rows with PostgreSQL's COPY: ids are taken from the table's sequence first (one
    query) and set on the objects, as bulk_create would; auto_now fields are filled and foreign keys
    to objects saved earlier in the batch resolved. Four to five times faster than bulk_create's
    multi-row INSERT here, which is most of what makes a 100,000-event import take minutes, not
    tens of minutes. The objects are ordinary model instances, so a field added to the model is
    written with its default like everywhere else."""
    if not objs:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields]
    auto = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    relations = [f for f in fields if f.is_relation]
    quote = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(objs)])
        ids = [r[0] for r in cur.fetchall()]
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias
            for f in auto:
                f.pre_save(obj, add=True)
            for f in relations:
                if getattr(obj, f.attname) is None:
                    related = f.get_cached_value(obj, None)
                    if related is not None:
                        setattr(obj, f.attname, related.pk)
        columns = ", ".join(quote(f.column) for f in fields)
        with cur.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([getattr(obj, f.attname) for f in fields])


def bulk_update_rows(model, objs: list, fields: list[str]) -> None:
    """UPDATE many rows in one statement: the new values are COPYed into a temporary table and
    joined. Django's bulk_update builds a CASE per field per row (~15 ms a row here) and a VALUES
    list with thousands of parameters is slow to bind; this keeps a re-import close to the speed
    of the first import."""
    if not objs:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    model_fields = [meta.get_field(f) for f in fields]
    columns = [meta.pk, *model_fields]
    names = ", ".join(quote(f.column) for f in columns)
    table, temp = quote(meta.db_table), quote(f"_import_{meta.db_table}")
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in model_fields)
    with connection.cursor() as cur:
        # Created and dropped inside the caller's transaction (a failure rolls the creation back too).
        cur.execute(f"CREATE TEMPORARY TABLE {temp} AS SELECT {names} FROM {table} WITH NO DATA")
        with cur.copy(f"COPY {temp} ({names}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([getattr(obj, f.attname) for f in columns])
        cur.execute(f"UPDATE {table} SET {sets} FROM {temp} AS v WHERE {table}.{quote(meta.pk.column)} = "
                    f"v.{quote(meta.pk.column)}")
        cur.execute(f"DROP TABLE {temp}")


def events_import(*, organisation, path: str | Path, actor=None, atomic: bool = False, name: str | None = None,
                  batch_size: int = DEFAULT_BATCH, actor_label: str = "import command",
                  strict_values: bool = False) -> ImportResult:
    """Import a .jsonl, .csv or .zip into `organisation` (the `manage.py import_events` path).
    Raises ImportFileError when the file as a whole cannot be imported; writes one summary audit
    row for the import whatever the outcome."""
    with ImportSource(path, name=name) as source:
        label = source.name
        importer = EventImporter(organisation=organisation, actor=actor, actor_label=actor_label, atomic=atomic,
                                 batch_size=batch_size, source_label=label, strict_values=strict_values)
        result = importer.run(source)
    import_audit_summary(organisation=organisation, actor=actor, actor_label=actor_label, source=label,
                         result=result, atomic=atomic, strict_values=strict_values)
    return result


@transaction.atomic
def import_audit_summary(*, organisation, actor, actor_label: str, source: str, result: ImportResult,
                         atomic: bool, job_id: int | None = None, strict_values: bool = False) -> None:
    audit_record(
        action="event.import.finish", actor=actor, actor_email="" if actor else actor_label,
        organisation_id=organisation.pk,
        object_type="events.importjob" if job_id else "", object_id=job_id or "", object_repr=source[:200],
        detail={"source": source, "mode": "all_or_nothing" if atomic else "keep_good", "rows": result.rows,
                "created": result.created, "updated": result.updated, "refused": result.refused,
                "rolled_back": result.rolled_back, "strict_values": strict_values,
                "values_left_out": sum(1 for w in result.warnings if w.outcome == NOT_KNOWN)},
    )


def audit_entries_for_event(event_id: int) -> Q:
    """Audit rows that record an import creating or updating this event (for the audit viewer)."""
    return Q(action="event.import") & (
        Q(detail__contains={"created": [{"id": event_id}]}) | Q(detail__contains={"updated": [{"id": event_id}]})
    )



