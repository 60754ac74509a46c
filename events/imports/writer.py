"""Bulk import of events in the interchange format (shared/INTERCHANGE.md): rows read by
events.imports.readers, checked, and written in batches through the event write path,
`events.services.events_write` — the same checks, rows and effects as the form and the API.

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
once; in helper processes where possible, events.imports.parallel); writes are per batch
(events_write is set-based: COPY, one statement per table, existing external_ids found with one
query). The batch is audited as ONE `event.import` row listing every created event (id,
external_id, line, content) and every updated one (id, external_id, line, before/after changes),
and handed to Connect the Dots as one job (events.services.BatchAudit says why).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Q
from rest_framework import serializers

from accounts.models import Store
from audit.services import audit_record
from events import services
from events.imports.images import ImagesRefused, images_attach, images_named
from events.imports.readers import ImportSource, check_image_path
from events.imports.report import ImportFileError, ImportResult, RowError, flatten_detail
from events.interchange import EventInput
from events.models import Event
from events.vocabulary import NOT_KNOWN, RowWarning, vocabulary_for
from evidence.blobs import blobs_removed_unless_committed

DEFAULT_BATCH = 1000


class _ImportEventInput(EventInput):
    """EventInput with the importing retailer's stores looked up once instead of once a row; an
    unknown code falls through to EventInput's own check (and its message)."""

    def validate_store(self, code: str) -> Store:
        store = self.context["stores"].get(code.strip())
        return store if store is not None else super().validate_store(code)


@dataclass
class _Row:
    line: int
    data: dict[str, Any]


class _Rollback(Exception):
    pass


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a batch is written. A batch allocates some
    10^6 short-lived objects (model instances, the audit row's JSON), and every collection they
    trigger walks all the objects the process holds: measured, a third of the write's CPU time.
    What the batch leaves in reference cycles is collected once the collector resumes."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


BatchHook = Callable[[ImportResult, list[RowError], int], None]


class EventImporter:
    """Imports rows into one retailer. `actor` None is the system actor of `manage.py import_events`
    (recorded in the audit log as `actor_label`); a user is held to the access policy: creating needs
    `can_record_event_at`, updating needs CHANGE on the existing event (events_write_check)."""

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
        self.atomic = atomic
        self.batch_size = max(1, batch_size)
        self.via = via
        self.on_batch = on_batch
        self.parallel = parallel
        self.audit = services.BatchAudit(source=source_label, actor_label=actor_label, job_id=job_id)
        self.stores = {s.code: s for s in Store.objects.unscoped().filter(organisation=organisation)
                       .select_related("organisation")}
        # Descriptor synonyms (events.vocabulary): the retailer's own and the built-in table, loaded once.
        self._serializer = _ImportEventInput(context={"organisation": organisation, "stores": self.stores,
                                                      "vocabulary": vocabulary_for(organisation),
                                                      "strict_values": strict_values, "warnings": []})

    # -- public -----------------------------------------------------------------------------------

    def run(self, source: ImportSource, *, skip_rows: int = 0) -> ImportResult:
        from events.imports import parallel

        result = ImportResult()
        self.root = source.root
        # Decided before this import's own transaction opens: the helpers must see what the caller sees.
        self._helpers = self.parallel and parallel.can_use_helpers()
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
        processes while this one writes where that is possible (events.imports.parallel), else here."""
        from events.imports import parallel

        rows = (r for n, r in enumerate(source.rows()) if n >= skip_rows)
        if self._helpers:
            yield from parallel.checked_rows(self, rows)
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
            with _collector_paused(), blobs_removed_unless_committed(), transaction.atomic():
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

    def _write_batch(self, batch: list[_Row], result: ImportResult, errors: list[RowError], *, write: bool) -> None:
        """The batch's rows through events_write: a row whose external_id this retailer already has
        corrects that event, any other row records one."""
        ext_ids = [r.data["external_id"] for r in batch if r.data["external_id"]]
        existing: dict[str, int] = {}
        if ext_ids:
            existing = dict(Event.objects.unscoped().filter(organisation=self.org, external_id__in=ext_ids)
                            .values_list("external_id", "pk"))
        writes = [services.EventWrite(data=r.data, event_id=existing.get(r.data["external_id"]), line=r.line)
                  for r in batch]
        if not write:  # all or nothing, after a refused row: only the report is still wanted
            services.events_write_check(actor=self.actor, organisation=self.org, writes=writes)
            self._count(result, errors, writes)
            return
        # Rows without stills are written together; a row with stills is written on its own, in a
        # savepoint, so that a still the evidence locker refuses takes only its own row with it.
        plain = [w for w in writes if not images_named(w.data)]
        if plain:
            services.events_write(actor=self.actor, organisation=self.org, writes=plain, via=self.via,
                                  batch=self.audit)
        for w in (w for w in writes if images_named(w.data)):
            try:
                with transaction.atomic():
                    services.events_write(actor=self.actor, organisation=self.org, writes=[w], via=self.via,
                                          batch=self.audit)
                    if w.outcome != services.REFUSED:
                        images_attach(actor=self.actor, event=w.event, data=w.data, root=self.root,
                                      corrected=w.outcome == services.UPDATED)
            except ImagesRefused as exc:
                w.outcome, w.refused = services.REFUSED, None
                self._refuse(result, errors, w.line, exc.errors)
        self._count(result, errors, writes)

    def _count(self, result: ImportResult, errors: list[RowError], writes: list[services.EventWrite]) -> None:
        for w in writes:
            if w.outcome == services.REFUSED:
                if w.refused:
                    self._refuse(result, errors, w.line, [w.refused])
            elif w.outcome == services.CREATED:
                result.created += 1
                result.event_ids.append(w.event.pk)
            elif w.outcome == services.UPDATED:
                result.updated += 1
                result.event_ids.append(w.event.pk)


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
