"""Stills named by an import row (`persons[].images`, paths relative to the import file) become
evidence on that person, through the evidence locker's own upload: type by content, re-encoded,
EXIF location removed, encrypted, hashed, custody recorded."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from events.models import Event


class ImagesRefused(Exception):
    """Some of a row's stills were refused: (field in dotted form, reason) for each."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__(errors)
        self.errors = errors


def images_named(data: dict[str, Any]) -> bool:
    return any(p.get("images") for p in data.get("persons", []))


def images_attach(*, actor, event: Event, data: dict[str, Any], root: Path, corrected: bool) -> None:
    """Store the stills `data` names on the event's people. A still already on that person (same
    bytes) is not added twice, so re-importing a file (`corrected`) adds nothing. Raises
    ImagesRefused naming each refused still, after deleting the files stored for this row (the
    caller's savepoint takes their rows back)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from evidence import blobs
    from evidence.models import EvidenceItem
    from evidence.services import evidence_upload

    by_ref = {p.ref: p for p in event.persons.all()}
    stored: list[EvidenceItem] = []
    problems: list[tuple[str, str]] = []
    for i, person_data in enumerate(data.get("persons", [])):
        person = by_ref[person_data["ref"]]
        have = set(EvidenceItem.objects.filter(person=person, deleted_at__isnull=True)
                   .values_list("original_sha256", flat=True)) if corrected else set()
        files, index_of = [], {}
        try:
            for j, rel in enumerate(person_data.get("images", [])):
                fh = open(os.path.join(root, rel.strip()), "rb")  # noqa: SIM115 - closed below
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
                outcome = evidence_upload(actor=actor, event=event, person=person, files=files,
                                          all_or_nothing=True, as_system=actor is None)
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
        raise ImagesRefused(problems)
