"""The incident. Minimal for now (issue 2); event capture (issue 3) extends it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import PoliceSharing
from auror.querysets import TenantQuerySet


class EventType(models.TextChoices):
    THEFT = "theft", "Theft"
    BURGLARY = "burglary", "Burglary"
    ROBBERY = "robbery", "Robbery"
    FRAUD = "fraud", "Fraud"
    ASSAULT = "assault", "Assault"
    THREAT = "threat", "Threat"
    ABUSE = "abuse", "Abuse"
    DAMAGE = "damage", "Damage"
    TRESPASS = "trespass", "Trespass"
    ANTISOCIAL = "antisocial", "Anti-social behaviour"
    OTHER = "other", "Other"


class Event(models.Model):
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="events")
    store = models.ForeignKey("accounts.Store", on_delete=models.PROTECT, related_name="events")
    external_id = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    type = models.CharField(max_length=20, choices=EventType.choices)
    # Empty means "the retailer's default", resolved by the access policy at query time.
    police_sharing = models.CharField(max_length=20, choices=PoliceSharing.choices, blank=True)
    sensitive = models.BooleanField(default=False)
    sensitive_reason = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-occurred_at"]),
            models.Index(fields=["store", "-occurred_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                condition=~models.Q(external_id=""),
                name="event_external_id_unique_per_org",
            )
        ]

    def __str__(self) -> str:
        return self.external_id or f"Event {self.pk}"

    @property
    def effective_police_sharing(self) -> str:
        return self.police_sharing or self.organisation.police_sharing_default
