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
