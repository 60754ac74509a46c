"""The audit log: append-only, one hash chain per organisation.

The database itself refuses UPDATE, DELETE and TRUNCATE on audit_auditentry (see migration 0002),
so even the table owner cannot rewrite history; `manage.py audit_verify` detects a row changed with
triggers disabled. Rows hold plain ids, not foreign keys, so the log outlives what it describes.
"""

from __future__ import annotations

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from auror.querysets import TenantQuerySet

GENESIS_HASH = "0" * 64


class AuditEntry(models.Model):
    # chain = the organisation's id, or 0 for actions with no organisation (anonymous login failures).
    chain = models.BigIntegerField()
    seq = models.BigIntegerField()
    organisation_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    purpose = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")]
        indexes = [
            models.Index(fields=["organisation_id", "-at"]),
            models.Index(fields=["action"]),
            models.Index(fields=["object_type", "object_id"]),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.chain}.{self.seq} {self.action} {self.object_type}:{self.object_id}"

    HASHED_FIELDS = (
        "chain", "seq", "organisation_id", "at", "actor_id", "actor_email", "token_id", "action",
        "object_type", "object_id", "object_repr", "ip", "user_agent", "purpose", "detail", "prev_hash",
    )

    def compute_hash(self) -> str:
        payload = {f: getattr(self, f) for f in self.HASHED_FIELDS}
        payload["at"] = self.at.isoformat(timespec="microseconds")
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
        return hashlib.sha256(blob.encode()).hexdigest()


class AuditChainHead(models.Model):
    """The last (seq, hash) of each chain; its row lock serialises appends to that chain."""

    chain = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"chain {self.chain} at seq {self.seq}"
