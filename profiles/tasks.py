"""Scheduled upkeep of profiles."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, name="profiles.refresh_all")
def refresh_all() -> int:
    """Every retailer's active profiles refreshed, so the recency part of the harm score decays."""
    from accounts.models import Organisation, OrgKind
    from profiles.services import profiles_refresh_all

    return sum(profiles_refresh_all(organisation_id=pk) for pk in
               Organisation.objects.unscoped().filter(kind=OrgKind.RETAILER, is_active=True).values_list("pk", flat=True))
