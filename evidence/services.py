"""Writes to the evidence locker. Every effect of "upload evidence" is in `evidence_upload`, of
"record a statement" in `statement_create`, and so on; each custody entry is written by
`custody_record` together with its audit row, in one transaction.

Uploads: many files in one request. Each file is validated on its own (evidence.validation). By
default the good files are kept and every refused one is reported by name with its reason (a
store worker's four good photos are not lost because a fifth is a HEIC); with
`all_or_nothing=True` (API `?atomic=true`) one refused file refuses the whole request and nothing
is stored. Either way nothing else of the event changes. Blobs are written to storage before the
database transaction (storage is not transactional) and deleted again if that transaction fails;
a caller whose own longer transaction holds the upload (an import) wraps it in
`blobs.blobs_removed_unless_committed()`, so that its rollback takes the files too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from auror import access
from evidence import blobs, crypto
from evidence.models import (
    CustodyAction,
    CustodyEntry,
    DerivativeState,
    EvidenceItem,
    EvidenceKind,
    WitnessStatement,
)
from evidence.validation import Prepared, Refused, filesizeformat, prepare, sanitise_filename

log = logging.getLogger(__name__)


class EvidenceGone(Exception):
    """The item was deleted: its record and custody chain remain, its file does not."""


# --- Custody ------------------------------------------------------------------------------------


@transaction.atomic
def custody_record(*, item: EvidenceItem, action: str, actor=None, purpose: str = "",
                   detail: dict[str, Any] | None = None, token_id: int | None = None) -> CustodyEntry:
    """Append one link to the item's chain of custody and the matching audit row (same transaction).
    Other apps call this for "shared" and "exported" (case packages, sharing)."""
    if action not in CustodyAction.values:
        raise ValueError(f"unknown custody action {action!r}")
    detail = dict(detail or {})
    entry = CustodyEntry.objects.create(
        item=item, action=action, actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_email=getattr(actor, "email", "") or "", purpose=purpose[:500], detail=detail,
    )
    org_id = getattr(actor, "organisation_id", None) or item.organisation_id
    audit_record(action=f"evidence.{action}", actor=actor, organisation_id=org_id, obj=item, purpose=purpose,
                 token_id=token_id, detail={"event": item.event_id, "sha256": item.sha256, **detail})
    return entry


# --- Upload -------------------------------------------------------------------------------------


@dataclass
class UploadOutcome:
    stored: list[EvidenceItem] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [r.message for r in self.refused]


def _check_event_change(actor, event, *, as_system: bool) -> None:
    if as_system:
        return
    from events.models import Event

    if not Event.objects.visible_to(actor, access.CHANGE).filter(pk=event.pk).exists():
        raise PermissionDenied("You may not add evidence to this event.")


def _check_person(event, person) -> None:
    if person is not None and person.event_id != event.pk:
        raise ValidationError({"person": "That person is not part of this event."})


def _enqueue_derivative(item: EvidenceItem) -> None:
    from evidence.tasks import make_derivative

    transaction.on_commit(partial(make_derivative.delay, item.pk), robust=True)


def evidence_upload(*, actor, event, files: Iterable, person=None, all_or_nothing: bool = False,
                    oversize: Iterable[str] = (), token_id: int | None = None,
                    as_system: bool = False) -> UploadOutcome:
    """Validate, encrypt and store each file as evidence on `event` (and `person`, one of its people).

    `files`: Django UploadedFiles or any seekable binary files with a `name`. `oversize`: names of
    files the upload handler stopped receiving because they passed every size limit. `as_system`:
    for commands that run without a user (import_events); views and the API never pass it."""
    _check_event_change(actor, event, as_system=as_system)
    _check_person(event, person)
    files = list(files)
    outcome = UploadOutcome()
    for name in oversize:
        biggest = max(settings.EVIDENCE_MAX_BYTES.values())
        outcome.refused.append(Refused(sanitise_filename(name), f"it is larger than {filesizeformat(biggest)}, "
                                                                "the most any evidence file may be."))
    limit = settings.EVIDENCE_MAX_FILES_PER_REQUEST
    if len(files) + len(outcome.refused) > limit:
        raise ValidationError({"files": f"At most {limit} files at a time."})
    if not files and not outcome.refused:
        raise ValidationError({"files": "Choose at least one file."})

    prepared: list[Prepared] = []
    try:
        for upload in files:
            try:
                prepared.append(prepare(upload))
            except Refused as refusal:
                outcome.refused.append(refusal)
        if outcome.refused:
            _audit_refused(actor, event, outcome.refused, token_id)
            if all_or_nothing or not prepared:
                return outcome
        stored: list[tuple[Prepared, blobs.StoredBlob]] = []
        try:
            for p in prepared:
                stored.append((p, blobs.blob_store(source=p.source, size=p.size,
                                                   organisation_id=event.organisation_id)))
            outcome.stored = _record_uploads(actor=actor, event=event, person=person, stored=stored,
                                             token_id=token_id)
        except BaseException:
            for _, blob in stored:
                blobs.blob_delete(blob.name)
            raise
        return outcome
    finally:
        for p in prepared:
            p.close()


@transaction.atomic
def _record_uploads(*, actor, event, person, stored, token_id) -> list[EvidenceItem]:
    items = []
    for p, blob in stored:
        derivative = DerivativeState.PENDING if p.kind in (EvidenceKind.IMAGE, EvidenceKind.VIDEO) else ""
        item = EvidenceItem.objects.create(
            organisation_id=event.organisation_id, event=event, person=person, kind=p.kind,
            original_filename=p.filename, content_type=p.file_type.content_type, size=blob.size,
            sha256=blob.sha256, original_sha256=p.original_digest(blob.sha256), original_size=p.original_size,
            storage_name=blob.name, data_key=blob.data_key, width=p.width, height=p.height,
            thumbnail_state=derivative, uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        detail = {"filename": item.original_filename, "content_type": item.content_type, "size": item.size,
                  "original_sha256": item.original_sha256, "original_size": item.original_size}
        if p.notes:
            detail["notes"] = p.notes
        if item.original_sha256 != item.sha256:
            detail["normalised"] = "re-encoded without metadata" if item.is_image else "metadata blanked"
        custody_record(item=item, action=CustodyAction.UPLOADED, actor=actor, token_id=token_id, detail=detail)
        if derivative:
            _enqueue_derivative(item)
        items.append(item)
    return items


def _audit_refused(actor, event, refused: list[Refused], token_id) -> None:
    audit_record(action="evidence.upload_refused", actor=actor, organisation_id=event.organisation_id, obj=event,
                 token_id=token_id, detail={"files": [{"name": r.filename, "reason": r.reason} for r in refused]})


# --- Witness statements -------------------------------------------------------------------------

DECLARATION = "I declare that this statement is true to the best of my knowledge and belief."


def _guard(value: str, field_name: str, organisation) -> None:
    """Refuse a sensitive characteristic in the statement's free text (issue 3 guardrails)."""
    if not value:
        return
    from guardrails.checker import check_text

    findings = check_text(value, organisation=organisation)
    if findings:
        raise ValidationError({field_name: [f.message for f in findings]})


def statement_render(*, event, person, witness_name: str, witness_contact: str, statement: str,
                     signature_name: str, statement_date: dt.date, recorded_by: str, recorded_at: dt.datetime) -> bytes:
    """The statement as the plain-text document that is stored, hashed and downloaded."""
    lines = [
        "WITNESS STATEMENT",
        "",
        f"Event: {event} ({event.get_type_display()} at {event.store.name}, "
        f"{timezone.localtime(event.occurred_at).strftime('%Y-%m-%d %H:%M %Z')})",
    ]
    if person is not None:
        lines.append(f"About: {person}")
    lines += [
        f"Witness: {witness_name}",
        f"Contact: {witness_contact or '-'}",
        f"Date of statement: {statement_date.isoformat()}",
        "",
        "Statement:",
        statement.replace("\r\n", "\n").strip(),
        "",
        f"Declaration: {DECLARATION}",
        f"Signed (typed name): {signature_name}",
        "",
        f"Recorded by {recorded_by} at {recorded_at.isoformat(timespec='seconds')}",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def statement_create(*, actor, event, witness_name: str, statement: str, declaration_signed: bool,
                     signature_name: str, statement_date: dt.date, witness_contact: str = "", person=None,
                     token_id: int | None = None) -> EvidenceItem:
    """Record a witness statement: the structured fields, and its rendering as a stored document."""
    _check_event_change(actor, event, as_system=False)
    _check_person(event, person)
    errors: dict[str, str] = {}
    if not witness_name.strip():
        errors["witness_name"] = "Give the witness's name."
    if not statement.strip():
        errors["statement"] = "Write the statement."
    if not declaration_signed:
        errors["declaration_signed"] = "The witness must sign the declaration."
    if not signature_name.strip():
        errors["signature_name"] = "Type the witness's name as their signature."
    if statement_date > timezone.localdate():
        errors["statement_date"] = "The date cannot be in the future."
    if errors:
        raise ValidationError(errors)
    _guard(statement, "statement", event.organisation)
    now = timezone.now()
    document = statement_render(event=event, person=person, witness_name=witness_name.strip(),
                                witness_contact=witness_contact.strip(), statement=statement,
                                signature_name=signature_name.strip(), statement_date=statement_date,
                                recorded_by=getattr(actor, "email", "system"), recorded_at=now)
    blob = blobs.blob_store(source=io.BytesIO(document), size=len(document), organisation_id=event.organisation_id)
    try:
        with transaction.atomic():
            filename = sanitise_filename(f"statement {witness_name} {statement_date.isoformat()}.txt")
            item = EvidenceItem.objects.create(
                organisation_id=event.organisation_id, event=event, person=person, kind=EvidenceKind.STATEMENT,
                original_filename=filename, content_type="text/plain; charset=utf-8", size=blob.size,
                sha256=blob.sha256, original_sha256=blob.sha256, original_size=blob.size,
                storage_name=blob.name, data_key=blob.data_key, uploaded_by=actor,
            )
            WitnessStatement.objects.create(
                item=item, witness_name=witness_name.strip(), witness_contact=witness_contact.strip(),
                statement=statement.strip(), declaration_signed=True, signature_name=signature_name.strip(),
                statement_date=statement_date,
            )
            custody_record(item=item, action=CustodyAction.UPLOADED, actor=actor, token_id=token_id,
                           detail={"filename": filename, "statement": True})
    except BaseException:
        blobs.blob_delete(blob.name)
        raise
    return item


# --- Viewing, downloading, verifying ------------------------------------------------------------


def evidence_viewed(*, actor, item: EvidenceItem, purpose: str = "", token_id: int | None = None) -> None:
    custody_record(item=item, action=CustodyAction.VIEWED, actor=actor, purpose=purpose, token_id=token_id)


def _plaintext(item: EvidenceItem) -> Iterator[bytes]:
    return blobs.blob_chunks(name=item.storage_name, data_key=item.data_key, organisation_id=item.organisation_id)


def evidence_verify_item(item: EvidenceItem) -> str | None:
    """Decrypt and re-hash the stored file: None when it is intact, else what is wrong."""
    if not item.storage_name:
        return "no stored file"
    hasher = hashlib.sha256()
    size = 0
    try:
        for chunk in _plaintext(item):
            hasher.update(chunk)
            size += len(chunk)
    except crypto.EvidenceCorrupted as exc:
        return f"the stored file failed decryption: {exc}"
    except FileNotFoundError:
        return "the stored file is missing"
    if hasher.hexdigest() != item.sha256:
        return f"SHA-256 is {hasher.hexdigest()}, recorded {item.sha256}"
    if size != item.size:
        return f"size is {size}, recorded {item.size}"
    return None


def integrity_failure_record(*, item: EvidenceItem, problem: str, actor=None, during: str = "") -> None:
    log.error("evidence: integrity check failed for item %s (event %s): %s", item.pk, item.event_id, problem)
    custody_record(item=item, action=CustodyAction.INTEGRITY_FAILED, actor=actor,
                   detail={"problem": problem, "during": during})


@dataclass
class Orphan:
    name: str
    modified: dt.datetime | None


def evidence_orphans(*, organisation_id: int | None = None, older_than: dt.timedelta) -> Iterator[Orphan]:
    """Stored files that no evidence row names, as its file or its thumbnail: what a process
    killed between storing a file and committing its row left behind (a rolled-back transaction
    deletes its own, evidence.blobs). Files younger than `older_than` are not reported: one may be
    an upload whose row is not committed yet, so make it longer than the longest import."""
    storage = blobs.evidence_storage()
    cutoff = timezone.now() - older_than
    known: dict[int | None, set[str]] = {}
    candidates: list[Orphan] = []

    def checked() -> Iterator[Orphan]:
        # Looked up again by exact name (any organisation's row) just before it is reported.
        referenced = blobs.blobs_referenced([c.name for c in candidates])
        yield from (c for c in candidates if c.name not in referenced)
        candidates.clear()

    for name in blobs.blob_names(organisation_id):
        folder = blobs.blob_organisation_id(name)
        if folder not in known:
            rows = EvidenceItem.objects.unscoped().filter(organisation_id=folder) if folder is not None else None
            known[folder] = set() if rows is None else {
                n for pair in rows.values_list("storage_name", "thumbnail_name") for n in pair if n}
        if name in known[folder]:
            continue
        try:
            modified = storage.get_modified_time(name)
        except (NotImplementedError, FileNotFoundError):
            modified = None
        if older_than > dt.timedelta(0) and (modified is None or modified > cutoff):
            continue
        candidates.append(Orphan(name, modified))
        if len(candidates) >= 500:
            yield from checked()
    if candidates:
        yield from checked()


def evidence_orphans_delete(*, orphans: list[Orphan], operator: str) -> None:
    """Delete orphan files (evidence_orphans) from storage, one audit row per organisation."""
    by_org: dict[int | None, list[str]] = {}
    for orphan in orphans:
        by_org.setdefault(blobs.blob_organisation_id(orphan.name), []).append(orphan.name)
    for org_id, names in by_org.items():
        for name in names:
            blobs.blob_delete(name)
        with transaction.atomic():
            audit_record(action="evidence.orphans_deleted", organisation_id=org_id, actor_email=operator,
                         detail={"count": len(names), "names": names[:1000]})


class IntegrityFailed(Exception):
    pass


def evidence_download(*, actor, item: EvidenceItem, purpose: str = "", token_id: int | None = None) -> Iterator[bytes]:
    """The plaintext of a stored item, for one download, verified against the recorded SHA-256.

    Files up to EVIDENCE_VERIFY_FIRST_MAX_BYTES are decrypted and hashed completely before the
    first byte is sent (a second pass then streams them): a mismatch refuses the download cleanly
    (IntegrityFailed) and nothing is sent. Larger files are sent while they decrypt, each segment
    authenticated before it is released and the last one held back until the whole file hashed
    right: a mismatch aborts the response before its end, so the client sees a failed, incomplete
    download, never a complete wrong file. The tradeoff: the first way costs a full extra read
    and decryption before the download starts, the second starts at once. Plaintext is never
    written to local disk in either."""
    if item.is_deleted:
        raise EvidenceGone()
    verified_first = item.size <= settings.EVIDENCE_VERIFY_FIRST_MAX_BYTES
    if verified_first:
        problem = evidence_verify_item(item)
        if problem:
            integrity_failure_record(item=item, problem=problem, actor=actor, during="download")
            raise IntegrityFailed(problem)
    custody_record(item=item, action=CustodyAction.DOWNLOADED, actor=actor, purpose=purpose, token_id=token_id,
                   detail={"verified_before_sending": verified_first})
    return _guarded(item, actor)


def _guarded(item: EvidenceItem, actor) -> Iterator[bytes]:
    try:
        yield from crypto.DecryptedStream(_plaintext(item), item.sha256)
    except (crypto.EvidenceCorrupted, FileNotFoundError) as exc:
        integrity_failure_record(item=item, problem=str(exc), actor=actor, during="download (streaming)")
        raise


def thumbnail_bytes(*, item: EvidenceItem) -> bytes | None:
    """The decrypted thumbnail or poster frame (small), or None when there is none yet."""
    if not item.thumbnail_name or item.thumbnail_state != DerivativeState.READY or item.is_deleted:
        return None
    return b"".join(blobs.blob_chunks(name=item.thumbnail_name, data_key=item.data_key,
                                      organisation_id=item.organisation_id))


def evidence_thumbnail(*, actor, item: EvidenceItem, purpose: str = "", token_id: int | None = None) -> bytes | None:
    """The thumbnail for `actor` to see, audited as a read of the item (a small copy of the image is
    still the image); None, and nothing written, when there is none yet. Not a custody entry: the
    file itself was not opened."""
    data = thumbnail_bytes(item=item)
    if data is not None:
        audit_record(action="evidence.thumbnail", actor=actor, obj=item, purpose=purpose, token_id=token_id,
                     organisation_id=getattr(actor, "organisation_id", None) or item.organisation_id,
                     detail={"event": item.event_id, "sha256": item.sha256})
    return data


# --- Deleting -----------------------------------------------------------------------------------


@transaction.atomic
def evidence_delete(*, actor, item: EvidenceItem, reason: str = "", token_id: int | None = None) -> EvidenceItem:
    """Retailer admins remove an item: the file and its thumbnail go (after commit); the record and
    its chain of custody stay, marked deleted."""
    item = EvidenceItem.objects.visible_to(actor, access.DELETE).select_for_update().filter(pk=item.pk).first()
    if item is None:
        raise PermissionDenied("Only retailer admins may delete evidence.")
    if item.is_deleted:
        return item
    names = [item.storage_name, item.thumbnail_name]
    item.deleted_at = timezone.now()
    item.deleted_by = actor
    item.storage_name = ""
    item.thumbnail_name = ""
    item.save(update_fields=["deleted_at", "deleted_by", "storage_name", "thumbnail_name"])
    custody_record(item=item, action=CustodyAction.DELETED, actor=actor, token_id=token_id,
                   detail={"reason": reason[:300]} if reason else {})
    for name in names:
        transaction.on_commit(partial(blobs.blob_delete, name), robust=True)
    return item


def evidence_purge_for_event(*, event) -> None:
    """Before an event is deleted (self-remediation, retention): its evidence files and thumbnails
    are removed from storage once the deletion commits. Call it in the same transaction."""
    names = []
    for storage_name, thumbnail_name in EvidenceItem.objects.unscoped().filter(event=event).values_list(
            "storage_name", "thumbnail_name"):
        names += [n for n in (storage_name, thumbnail_name) if n]
    for name in names:
        transaction.on_commit(partial(blobs.blob_delete, name), robust=True)


# --- Thumbnails and poster frames (run by Celery, evidence.tasks) ---------------------------------

THUMBNAIL_BOX = (480, 480)


def derivative_make(*, item_id: int) -> str:
    """Make the thumbnail (images) or poster frame (videos) of one item. Idempotent: an item that
    has one, is deleted or is neither an image nor a video is left alone; when two workers race,
    the first to record its result wins and the other deletes its blob."""
    item = EvidenceItem.objects.unscoped().select_related("data_key").filter(pk=item_id).first()
    if item is None or item.is_deleted:
        return "gone"
    if item.kind not in (EvidenceKind.IMAGE, EvidenceKind.VIDEO):
        return "not applicable"
    if item.thumbnail_state == DerivativeState.READY and item.thumbnail_name:
        return "exists"
    try:
        jpeg = _poster_jpeg(item) if item.kind == EvidenceKind.VIDEO else _thumbnail_jpeg(item)
    except OSError as exc:
        if exc.errno is not None and not isinstance(exc, FileNotFoundError):
            raise  # storage I/O: transient, the task retries
        return _derivative_failed(item, exc)  # Pillow's decoder errors are OSErrors without an errno
    except (crypto.EvidenceCorrupted, ValueError, EOFError, MemoryError) as exc:
        return _derivative_failed(item, exc)
    blob = blobs.blob_store(source=io.BytesIO(jpeg), size=len(jpeg), organisation_id=item.organisation_id,
                            data_key=item.data_key, name=blobs.blob_name(item.organisation_id, ".thumb"))
    with transaction.atomic():
        won = EvidenceItem.objects.unscoped().filter(pk=item.pk, thumbnail_name="", deleted_at__isnull=True).update(
            thumbnail_name=blob.name, thumbnail_state=DerivativeState.READY, thumbnail_error="")
    if not won:
        blobs.blob_delete(blob.name)
        return "exists"
    return "made"


def _derivative_failed(item: EvidenceItem, exc: BaseException) -> str:
    log.warning("evidence: no thumbnail for item %s: %s", item.pk, exc)
    EvidenceItem.objects.unscoped().filter(pk=item.pk, thumbnail_name="").update(
        thumbnail_state=DerivativeState.FAILED, thumbnail_error=str(exc)[:300] or type(exc).__name__)
    return "failed"


def _to_jpeg(image) -> bytes:
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image) or image
    image.thumbnail(THUMBNAIL_BOX)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82)
    return out.getvalue()


def _thumbnail_jpeg(item: EvidenceItem) -> bytes:
    from PIL import Image

    with blobs.blob_open_seekable(name=item.storage_name, data_key=item.data_key,
                                  organisation_id=item.organisation_id) as fh:
        with Image.open(fh) as im:
            if im.width * im.height > settings.EVIDENCE_MAX_IMAGE_PIXELS:
                raise ValueError("the image is over the pixel limit")
            im.draft("RGB", THUMBNAIL_BOX)  # JPEG: decode at a reduced scale
            im.load()
            return _to_jpeg(im)


def _poster_jpeg(item: EvidenceItem) -> bytes:
    """The first decodable frame of the video, through PyAV (FFmpeg's libraries ship in its wheel,
    so no ffmpeg binary is needed), reading the encrypted file through a seekable decrypting view."""
    import av

    with blobs.blob_open_seekable(name=item.storage_name, data_key=item.data_key,
                                  organisation_id=item.organisation_id) as fh:
        try:
            with av.open(fh, mode="r", format="mp4") as container:
                if not container.streams.video:
                    raise ValueError("the file has no video stream")
                stream = container.streams.video[0]
                width, height = stream.codec_context.width, stream.codec_context.height
                if width * height > settings.EVIDENCE_MAX_IMAGE_PIXELS:
                    raise ValueError("the video frame is over the pixel limit")
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    return _to_jpeg(frame.to_image())
        except av.FFmpegError as exc:
            raise ValueError(f"the video cannot be decoded: {exc}") from exc
    raise ValueError("the video has no decodable frame")


def derivatives_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> list[int]:
    """Items still waiting for a thumbnail after `older_than` (a lost task): re-enqueue them."""
    cutoff = timezone.now() - older_than
    return list(EvidenceItem.objects.unscoped().filter(
        thumbnail_state=DerivativeState.PENDING, created_at__lt=cutoff, deleted_at__isnull=True,
    ).values_list("pk", flat=True)[:1000])
