"""Police sharing lives on the retailer (accounts.Organisation) and each event; this app holds the
retailer-to-retailer agreements (and, later, information requests from police)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from auror.querysets import TenantQuerySet


class AgreementQuerySet(TenantQuerySet):
    def active(self) -> AgreementQuerySet:
        return self.filter(accepted_at__isnull=False, revoked_at__isnull=True)

    def active_between_for(self, organisation_id: int) -> list[tuple[int, list[str]]]:
        """(partner organisation id, region codes or [] for all) for each active agreement."""
        rows = self.active().filter(Q(retailer_id=organisation_id) | Q(partner_id=organisation_id))
        return [
            (a.partner_id if a.retailer_id == organisation_id else a.retailer_id, list(a.regions))
            for a in rows.only("retailer_id", "partner_id", "regions")
        ]


class Agreement(models.Model):
    """Two retailers agree to see each other's non-sensitive events, optionally in some regions."""

    retailer = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="agreements_made")
    partner = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="agreements_received")
    regions = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["retailer", "partner"], name="agreement_unique_pair"),
            models.CheckConstraint(condition=~Q(retailer=models.F("partner")), name="agreement_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.retailer} ↔ {self.partner}"
