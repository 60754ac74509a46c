"""Reading an import file: `ImportSource` opens a .jsonl, a .csv (nested lists as numbered columns,
`persons.0.name`) or a .zip holding one of those plus the stills `persons[].images` name, and
yields its rows as interchange data; `check_image_path` says why a still a row names cannot be used."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from auror import jsonlimits
from events.imports.archive import IMPORT_SUFFIXES, UNSAFE_NAME, safe_extract
from events.imports.report import ImportFileError, limit_setting
from events.interchange import EventInput, PersonInput, ProductInput, VehicleInput, unflatten

IMAGE_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))

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
                    text = raw.decode("utf-8")
                    # Before parsing: Python's parser recurses per level, so a line of [[[[... would
                    # be a RecursionError here or wherever the row is walked later, failing the
                    # whole import; refused alone instead, naming its line.
                    jsonlimits.check_depth(text)
                    data = json.loads(text)
                except UnicodeDecodeError:
                    yield number, None, "The line is not valid UTF-8."
                    continue
                except jsonlimits.TooDeep as exc:
                    yield number, None, f"{exc} An interchange row nests four."
                    continue
                except json.JSONDecodeError as exc:
                    yield number, None, f"Not valid JSON: {exc.msg} (column {exc.colno})."
                    continue
                except RecursionError:  # not reached past check_depth; kept so no line fails the import
                    yield number, None, f"The JSON nests deeper than {jsonlimits.MAX_DEPTH} levels."
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
    if UNSAFE_NAME.search(rel) or "\\" in rel:
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
