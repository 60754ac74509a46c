"""Operational records of the platform itself (not tenant content: no organisation, no access rule)."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """One job sent through the Celery queue to prove that workers take work and finish it.

    Beat requests one every HEARTBEAT_SECONDS; `manage.py queue_check` requests one and waits for
    it. The worker that runs it records itself, so /healthz can say when a worker last finished a
    job. `hold_seconds` keeps the job open that long (an operator's drill: kill a worker while it
    holds, watch another worker finish it).
    """

    source = models.CharField(max_length=40)
    requested_at = models.DateTimeField(auto_now_add=True)
    hold_seconds = models.FloatField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    started_by = models.CharField(max_length=200, blank=True)
    completed_by = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        state = f"done by {self.completed_by}" if self.completed_at else f"{self.attempts} attempt(s)"
        return f"heartbeat {self.pk} from {self.source}: {state}"
