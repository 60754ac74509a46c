"""The evidence locker: files and witness statements attached to events (and to people in them),
stored encrypted, hashed, with a chain of custody.

Storage names are opaque (`evidence/<org>/<random>`), never derived from what the uploader called
the file, and never local paths: the storage backend (filesystem, S3, Azure Blob) resolves them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from auror.querysets import TenantQuerySet


class EvidenceKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    DOCUMENT = "document", "Document"
    STATEMENT = "statement", "Witness statement"


class DerivativeState(models.TextChoices):
    NONE = "", "Not applicable"
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DataKey(models.Model):
    """A per-organisation data key, stored only wrapped (AES-GCM) by a master key from the
    environment (envelope encryption). One key is active per organisation; older ones stay to
    decrypt what they encrypted (rotation: make a new active key, items keep their key id)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    master_key_id = models.CharField(max_length=40)
    wrapped_key = models.BinaryField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation"], condition=models.Q(active=True),
                                    name="evidence_one_active_data_key_per_org"),
        ]

    def __str__(self) -> str:
        return f"Data key {self.id} of organisation {self.organisation_id}"


class EvidenceItem(models.Model):
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+",
                                     help_text="The event's organisation, copied for scoping and key choice.")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="evidence")
    person = models.ForeignKey("events.EventPerson", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="evidence")
    kind = models.CharField(max_length=12, choices=EvidenceKind.choices)
    original_filename = models.CharField(max_length=255, help_text="Sanitised; for display and downloads only.")
    content_type = models.CharField(max_length=100, help_text="Detected from the content, not the name.")
    size = models.BigIntegerField(help_text="Bytes of the stored (normalised) file.")
    sha256 = models.CharField(max_length=64, help_text="Of the stored file; checked on every download.")
    original_sha256 = models.CharField(max_length=64, blank=True,
                                       help_text="Of the bytes as received, before re-encoding.")
    original_size = models.BigIntegerField(null=True, blank=True)
    storage_name = models.CharField(max_length=255, blank=True)
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_name = models.CharField(max_length=255, blank=True, help_text="Thumbnail or video poster frame.")
    thumbnail_state = models.CharField(max_length=10, choices=DerivativeState.choices, blank=True)
    thumbnail_error = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["event_id", "created_at", "id"]
        indexes = [
            models.Index(fields=["event", "created_at"]),
            models.Index(fields=["organisation", "sha256"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_filename}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_image(self) -> bool:
        return self.kind == EvidenceKind.IMAGE


class WitnessStatement(models.Model):
    """The structured form of a statement. It also renders to a plain-text document, stored, hashed
    and encrypted like any other evidence file, so that downloads and `evidence_verify` treat it
    the same way."""

    item = models.OneToOneField(EvidenceItem, on_delete=models.CASCADE, related_name="statement")
    witness_name = models.CharField(max_length=120)
    witness_contact = models.CharField(max_length=200, blank=True)
    statement = models.TextField(max_length=20000)
    declaration_signed = models.BooleanField(default=False)
    signature_name = models.CharField(max_length=120)
    statement_date = models.DateField()

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Statement of {self.witness_name}"


class CustodyAction(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    VIEWED = "viewed", "Viewed"
    DOWNLOADED = "downloaded", "Downloaded"
    SHARED = "shared", "Shared"
    EXPORTED = "exported", "Exported"
    DELETED = "deleted", "Deleted"
    INTEGRITY_FAILED = "integrity_failed", "Integrity check failed"


class CustodyEntry(models.Model):
    """One link of an item's chain of custody. Written only by evidence.services.custody_record,
    which writes the matching audit row in the same transaction."""

    item = models.ForeignKey(EvidenceItem, on_delete=models.CASCADE, related_name="custody")
    action = models.CharField(max_length=20, choices=CustodyAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor_email = models.CharField(max_length=254, blank=True, help_text="Kept if the user is removed.")
    at = models.DateTimeField(auto_now_add=True)
    purpose = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["item_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_email or 'system'}"
