"""Police sharing lives on the retailer (accounts.Organisation) and each event; this app holds the
retailer-to-retailer agreements and the disclosure requests of Connect the Dots across retailers
(and, later, information requests from police).

What these rows let anyone see is decided in one place, auror.access: an active Agreement lets two
retailers see each other's non-sensitive events (in its regions); an approved, unexpired
DisclosureRequest lets the requesting retailer see that one event."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from auror.querysets import TenantQuerySet


class AgreementQuerySet(TenantQuerySet):
    def active(self) -> AgreementQuerySet:
        return self.filter(accepted_at__isnull=False, revoked_at__isnull=True)

    def open(self) -> AgreementQuerySet:
        """Proposed or active: not revoked."""
        return self.filter(revoked_at__isnull=True)

    def between(self, a_id: int, b_id: int) -> AgreementQuerySet:
        return self.filter(Q(retailer_id=a_id, partner_id=b_id) | Q(retailer_id=b_id, partner_id=a_id))

    def active_between_for(self, organisation_id: int) -> list[tuple[int, list[str]]]:
        """(partner organisation id, region codes or [] for all) for each active agreement."""
        rows = self.active().filter(Q(retailer_id=organisation_id) | Q(partner_id=organisation_id))
        return [
            (a.partner_id if a.retailer_id == organisation_id else a.retailer_id, list(a.regions))
            for a in rows.only("retailer_id", "partner_id", "regions")
        ]


class Agreement(models.Model):
    """Two retailers agree to see each other's non-sensitive events, optionally in some regions.

    `retailer` proposed it; it is active once an admin of `partner` accepts, until either revokes.
    A revoked agreement stays as history; the same two retailers may agree again later."""

    retailer = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="agreements_made")
    partner = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="agreements_received")
    regions = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["retailer", "partner"], condition=Q(revoked_at__isnull=True),
                                    name="agreement_unique_open_pair"),
            models.CheckConstraint(condition=~Q(retailer=models.F("partner")), name="agreement_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.retailer} ↔ {self.partner}"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "active" if self.accepted_at else "proposed"

    def other_side(self, organisation_id: int):
        return self.partner if self.retailer_id == organisation_id else self.retailer


class DisclosureRequestQuerySet(TenantQuerySet):
    def granted_to(self, organisation_id: int) -> DisclosureRequestQuerySet:
        """Approved and not yet expired requests of this (requesting) organisation."""
        return self.filter(requesting_organisation_id=organisation_id, status=DisclosureRequest.Status.APPROVED,
                           expires_at__gt=timezone.now())

    def waiting_for(self, organisation_id: int) -> DisclosureRequestQuerySet:
        return self.filter(holding_organisation_id=organisation_id, status=DisclosureRequest.Status.PENDING)


class DisclosureRequest(models.Model):
    """A retailer's investigator asks the retailer holding the other side of a cross-retailer match to
    show them that one event. The holder's investigator approves (for a limited time) or declines."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a decision"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    suggestion = models.ForeignKey("matching.Suggestion", on_delete=models.CASCADE, related_name="disclosure_requests")
    requesting_organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    holding_organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    # The scope: the one event (and the person in it the match is about) that approval discloses.
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("events.EventPerson", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Approved: the event is disclosed until then.")

    objects = DisclosureRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["holding_organisation", "status"], name="disclosure_holder_status"),
            models.Index(fields=["requesting_organisation", "status", "expires_at"], name="disclosure_grant"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["requesting_organisation", "event"], condition=Q(status="pending"),
                                    name="disclosure_one_pending_per_event"),
            models.CheckConstraint(condition=~Q(requesting_organisation=models.F("holding_organisation")),
                                   name="disclosure_not_self"),
        ]

    def __str__(self) -> str:
        return f"Disclosure request {self.pk}"

    @property
    def is_active_grant(self) -> bool:
        return self.status == self.Status.APPROVED and self.expires_at is not None and self.expires_at > timezone.now()

    @property
    def state_label(self) -> str:
        if self.status == self.Status.APPROVED and not self.is_active_grant:
            return "Expired"
        return self.get_status_display()
