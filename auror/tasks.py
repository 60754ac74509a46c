"""Celery tasks of the platform itself. Thin: take ids, call one service, safe to run twice."""

from __future__ import annotations

import time

from celery import shared_task

from auror import services


@shared_task(bind=True, acks_late=True, ignore_result=True)
def heartbeat(self, heartbeat_id: int) -> None:
    """Run one heartbeat: claim it, hold it open if asked, mark it done by this worker.

    Acknowledged late: a worker killed while holding it leaves the message unacknowledged, and
    the broker hands it to another worker, which finishes it.
    """
    worker = self.request.hostname or "unknown"
    beat = services.heartbeat_start(heartbeat_id=heartbeat_id, worker=worker)
    if beat is None:
        return
    if beat.hold_seconds:
        time.sleep(beat.hold_seconds)
    services.heartbeat_complete(heartbeat_id=heartbeat_id, worker=worker)


@shared_task(ignore_result=True)
def heartbeat_scheduled() -> None:
    """Beat's periodic heartbeat (CELERY_BEAT_SCHEDULE), plus pruning of old ones."""
    services.heartbeat_request(source="beat")
    services.heartbeat_prune()
