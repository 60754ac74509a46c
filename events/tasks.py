"""Background jobs of the events app: thin, taking ids, idempotent (DESIGN.md rule 6)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_backoff_max=300)
def run_import_job(self, job_id: int) -> str:
    """Work through an uploaded import (events.imports.jobs.import_job_run); safe to run twice."""
    from events.imports.jobs import import_job_fail, import_job_run

    try:
        return import_job_run(job_id=job_id)
    except (OperationalError, InterfaceError):
        raise  # the database went away: retried, resuming after the last committed batch
    except Exception:
        log.exception("import job %s failed", job_id)
        import_job_fail(job_id=job_id, message="The import stopped because of an internal error; "
                                                "the rows committed so far are kept. Please tell support.")
        raise


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def match_imported_events(organisation_id: int, event_ids: list[int]) -> int:
    """One batch of imported events handed to Connect the Dots (marked stale, a matching job each).
    Idempotent: marking an event stale twice only makes matching recompute it once more."""
    from django.db import transaction

    from events.models import Event
    from matching.services import events_changed

    with transaction.atomic():
        # Events deleted since the import committed have nothing left to match. Oldest first, as a
        # rematch goes: each event's job then meets the earlier ones, as if recorded one by one.
        ids = list(Event.objects.unscoped().filter(organisation_id=organisation_id, pk__in=list(event_ids))
                   .order_by("occurred_at", "pk").values_list("pk", flat=True))
        if ids:
            events_changed(organisation_id=organisation_id, event_ids=ids)
    return len(ids)
