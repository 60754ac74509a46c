"""Celery jobs of Connect the Dots: thin, take ids, idempotent, late-acknowledged."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from matching.engine import run_match_state


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def match_event(event_id: int) -> bool:
    """Recompute the link suggestions of one event (enqueued on commit of its creation or change)."""
    return run_match_state(event_id)


@shared_task(acks_late=True)
def estimate_weights(organisation_id: int) -> bool:
    from matching.weights import estimate_weights as estimate

    return estimate(organisation_id) is not None


@shared_task(acks_late=True, name="matching.sweep_stale")
def sweep_stale(limit: int = 5000) -> int:
    """Re-enqueue matching jobs still pending after a while (their job was lost with a broker)."""
    from datetime import timedelta

    from django.utils import timezone

    from matching.models import MatchState

    cutoff = timezone.now() - timedelta(minutes=5)
    ids = list(MatchState.objects.exclude(status=MatchState.Status.DONE).filter(updated_at__lt=cutoff)
               .values_list("event_id", flat=True)[:limit])
    for event_id in ids:
        match_event.delay(event_id)
    return len(ids)


@shared_task(acks_late=True, name="matching.refresh_hubs")
def refresh_hubs() -> int:
    """Recount every retailer's hub keys (nightly): hubs grow as events arrive, and shrink as retention
    removes events; between two counts, a hub newly met is counted when the matcher meets it."""
    from accounts.models import Organisation, OrgKind
    from matching.engine import refresh_hubs as refresh

    # One pass over the keys for every retailer: the key index is in (kind, value) order, not by retailer.
    return refresh(*Organisation.objects.unscoped().filter(kind=OrgKind.RETAILER).values_list("id", flat=True))
