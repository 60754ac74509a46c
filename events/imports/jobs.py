"""Imports through the browser: the upload is stored and hashed, a Celery job (events.tasks) works
through it with events.imports.writer, recording its progress and every refused row on the ImportJob."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from events.imports.archive import IMPORT_SUFFIXES
from events.imports.readers import ImportSource
from events.imports.report import ImportFileError, ImportResult, RowError, limit_setting
from events.imports.writer import EventImporter, import_audit_summary
from events.models import ImportJob
from events.vocabulary import NOT_KNOWN, mapped_summary

IMPORTING_ROLES = frozenset({"investigator", "retailer_admin"})
_LOCK_CLASS = 7301  # pg advisory lock namespace for import jobs


def max_upload_bytes() -> int:
    return limit_setting("IMPORT_MAX_UPLOAD_BYTES", 512 * 1024**2)


@transaction.atomic
def import_job_create(*, user, upload, mode: str, strict_values: bool = False) -> ImportJob:
    """Store the uploaded file and queue its import (on commit). The upload is hashed while it is
    stored; the audit row records who uploaded what."""
    if user.role not in IMPORTING_ROLES or not user.organisation.is_retailer:
        raise PermissionDenied("Only investigators and retailer admins import events.")
    if mode not in ImportJob.Mode.values:
        raise ValueError(f"unknown import mode {mode!r}")
    name = Path(upload.name or "").name
    if Path(name).suffix.lower() not in IMPORT_SUFFIXES:
        raise ImportFileError("Import a .jsonl, .csv or .zip file.")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    job = ImportJob(organisation=user.organisation, user=user, original_name=name[:200], size=upload.size or 0,
                    sha256=digest.hexdigest(), mode=mode, strict_values=strict_values)
    job.file.save(f"{uuid.uuid4().hex}{Path(name).suffix.lower()}", upload, save=False)
    job.save()
    audit_record(action="event.import.upload", actor=user, obj=job,
                 detail={"file": job.original_name, "size": job.size, "sha256": job.sha256, "mode": mode,
                         "strict_values": strict_values})
    from events.tasks import run_import_job

    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job


def import_progress_key(job_id: int) -> str:
    return f"auror:import-job:{job_id}:progress"


def import_job_run(*, job_id: int) -> str:
    """Work through one import job. Idempotent: a finished job is left alone; a job whose worker
    died is resumed after its last committed batch (keep-good mode: each batch commits the events,
    their audit row and the job's progress together) or redone from the start (all-or-nothing: the
    dead attempt rolled back as a whole). A second worker given the same job while the first is
    alive finds the job's advisory lock taken and does nothing."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, job_id % 2**31])
        if not cur.fetchone()[0]:
            return "busy"
    try:
        job = ImportJob.objects.unscoped().select_related("organisation", "user").filter(pk=job_id).first()
        if job is None:
            return "missing"
        if job.finished:
            return job.status
        if job.status == ImportJob.Status.QUEUED:
            job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
            job.save(update_fields=["status", "started_at"])
        return _import_job_work(job)
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, job_id % 2**31])


def _import_job_work(job: ImportJob) -> str:
    from django.core.cache import cache

    atomic = job.mode == ImportJob.Mode.ALL_OR_NOTHING
    skip = 0 if atomic else job.processed
    base = {"created": 0 if atomic else job.created, "updated": 0 if atomic else job.updated,
            "refused": 0 if atomic else job.refused}
    # Descriptor values left out are stored line by line; those read as a synonym, counted.
    noted = {"seen": 0, "mapped": [] if atomic else list(job.mapped)}
    suffix = Path(job.original_name).suffix.lower()
    actor_label = f"import job {job.pk}"
    try:
        # A private, empty folder: image paths in an uploaded .jsonl/.csv resolve inside it (so they
        # find nothing), never among other files of the machine's temporary folder.
        with tempfile.TemporaryDirectory(prefix="auror-upload-") as folder:
            local = Path(folder) / f"upload{suffix}"
            with job.file.open("rb") as stored, open(local, "wb") as tmp:
                shutil.copyfileobj(stored, tmp, 1024 * 1024)
            with ImportSource(local, name=job.original_name) as source:
                ImportJob.objects.unscoped().filter(pk=job.pk).update(total=source.total)

                def on_batch(result: ImportResult, errors: list[RowError], rows: int) -> None:
                    state = {"processed": skip + result.rows, "created": base["created"] + result.created,
                             "updated": base["updated"] + result.updated, "refused": base["refused"] + result.refused}
                    new = result.warnings[noted["seen"]:]
                    mapped = mapped_summary([*noted["mapped"], *(w.as_dict() for w in new)])
                    with connection.cursor() as cur:
                        cur.execute(
                            "UPDATE events_importjob SET processed = %s, created = %s, updated = %s, refused = %s, "
                            "errors = errors || %s::jsonb, warnings = warnings || %s::jsonb, mapped = %s::jsonb "
                            "WHERE id = %s",
                            [state["processed"], state["created"], state["updated"], state["refused"],
                             json.dumps([e.as_dict() for e in errors]),
                             json.dumps([w.as_dict() for w in new if w.outcome == NOT_KNOWN]), json.dumps(mapped),
                             job.pk])
                    noted.update(seen=len(result.warnings), mapped=mapped)
                    cache.set(import_progress_key(job.pk), {**state, "total": source.total}, 3600)

                importer = EventImporter(organisation=job.organisation, actor=job.user, actor_label=actor_label,
                                         atomic=atomic, via="browser", job_id=job.pk, source_label=job.original_name,
                                         on_batch=on_batch, strict_values=job.strict_values)
                if atomic:
                    ImportJob.objects.unscoped().filter(pk=job.pk).update(processed=0, created=0, updated=0,
                                                                          refused=0, errors=[], warnings=[],
                                                                          mapped=[])
                result = importer.run(source, skip_rows=skip)
    except ImportFileError as exc:
        _import_job_finish(job, status=ImportJob.Status.FAILED, message=str(exc))
        return ImportJob.Status.FAILED
    update: dict[str, Any] = {}
    if atomic:  # the job's own progress rows rolled back with the import: record the outcome now
        update = {"processed": result.rows, "created": result.created, "updated": result.updated,
                  "refused": result.refused, "errors": [e.as_dict() for e in result.errors],
                  "warnings": [w.as_dict() for w in result.warnings if w.outcome == NOT_KNOWN],
                  "mapped": mapped_summary(w.as_dict() for w in result.warnings)}
    message = (f"Nothing was imported: {result.refused} row(s) were refused and you chose all or nothing."
               if result.rolled_back else "")
    _import_job_finish(job, status=ImportJob.Status.DONE, message=message, result=result, **update)
    return ImportJob.Status.DONE


@transaction.atomic
def _import_job_finish(job: ImportJob, *, status: str, message: str = "", result: ImportResult | None = None,
                       **fields: Any) -> None:
    fields.update(status=status, message=message[:500], finished_at=timezone.now())
    ImportJob.objects.unscoped().filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    import_audit_summary(organisation=job.organisation, actor=job.user, actor_label=f"import job {job.pk}",
                         source=job.original_name, result=result or ImportResult(rows=0),
                         atomic=job.mode == ImportJob.Mode.ALL_OR_NOTHING, job_id=job.pk,
                         strict_values=job.strict_values)
    # The upload held people's details in the clear; once imported it has no further use (its
    # SHA-256 stays on the job and in the audit log).
    stored = job.file.name
    if stored:
        transaction.on_commit(lambda: job.file.storage.delete(stored))
        ImportJob.objects.unscoped().filter(pk=job.pk).update(file="")


def import_job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed after an unexpected error (the task logs the error itself)."""
    job = ImportJob.objects.unscoped().select_related("organisation", "user").filter(pk=job_id).first()
    if job is not None and not job.finished:
        _import_job_finish(job, status=ImportJob.Status.FAILED, message=message)
