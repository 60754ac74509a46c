"""Background work of the evidence locker: thin Celery tasks that take ids and call one service.
Enqueued with transaction.on_commit (evidence.services); idempotent, acknowledged late, retried."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5,
             name="evidence.make_derivative")
def make_derivative(self, item_id: int) -> str:
    """The thumbnail of an image, or the poster frame of a video."""
    from evidence.services import derivative_make

    return derivative_make(item_id=item_id)


@shared_task(acks_late=True, name="evidence.derivatives_sweep")
def derivatives_sweep() -> int:
    """Re-enqueue thumbnails whose task was lost (a broker outage at commit time); run by beat."""
    from evidence.services import derivatives_pending

    ids = derivatives_pending()
    for item_id in ids:
        make_derivative.delay(item_id)
    return len(ids)
