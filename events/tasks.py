"""Background jobs of the events app: thin, taking ids, idempotent (DESIGN.md rule 6)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_backoff_max=300)
def run_import_job(self, job_id: int) -> str:
    """Work through an uploaded import (events.import_jobs.import_job_run); safe to run twice."""
    from events.import_jobs import import_job_fail, import_job_run

    try:
        return import_job_run(job_id=job_id)
    except (OperationalError, InterfaceError):
        raise  # the database went away: retried, resuming after the last committed batch
    except Exception:
        log.exception("import job %s failed", job_id)
        import_job_fail(job_id=job_id, message="The import stopped because of an internal error; "
                                                "the rows committed so far are kept. Please tell support.")
        raise
