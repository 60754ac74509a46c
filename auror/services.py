"""Services of the platform itself: the queue heartbeat behind /healthz and `manage.py queue_check`.

Heartbeats are operational, not tenant records, so they write no audit row.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from auror.models import Heartbeat

KEEP_HEARTBEATS = timedelta(days=1)


@transaction.atomic
def heartbeat_request(*, source: str, hold_seconds: float = 0.0) -> Heartbeat:
    """Record a heartbeat and send it to the workers once the transaction commits."""
    from auror.tasks import heartbeat

    if hold_seconds < 0:
        raise ValueError("hold_seconds must not be negative")
    beat = Heartbeat.objects.create(source=source, hold_seconds=hold_seconds)
    transaction.on_commit(lambda pk=beat.pk: heartbeat.delay(pk))
    return beat


@transaction.atomic
def heartbeat_start(*, heartbeat_id: int, worker: str) -> Heartbeat | None:
    """Claim a heartbeat for `worker`; None when it is gone or already done (a redelivered copy)."""
    beat = Heartbeat.objects.select_for_update().filter(pk=heartbeat_id, completed_at__isnull=True).first()
    if beat is None:
        return None
    beat.attempts += 1
    beat.started_by = worker
    beat.save(update_fields=["attempts", "started_by"])
    return beat


@transaction.atomic
def heartbeat_complete(*, heartbeat_id: int, worker: str) -> bool:
    """Mark a heartbeat done by `worker`; False when another copy finished it first."""
    done = Heartbeat.objects.filter(pk=heartbeat_id, completed_at__isnull=True).update(
        completed_at=timezone.now(), completed_by=worker
    )
    return bool(done)


def heartbeat_prune(*, older_than: timedelta = KEEP_HEARTBEATS) -> int:
    """Delete heartbeats requested before `older_than` ago; the latest completed one is always kept."""
    latest = Heartbeat.objects.filter(completed_at__isnull=False).order_by("-completed_at").values("pk")[:1]
    deleted, _ = (
        Heartbeat.objects.filter(requested_at__lt=timezone.now() - older_than).exclude(pk__in=latest).delete()
    )
    return deleted
