"""`manage.py queue_check`: send a heartbeat job through the queue and wait until a worker finishes it.

Exit 0 naming the worker and the round-trip time; exit 1 when none finishes it in time. With
--hold the job stays open that long: kill its worker meanwhile, and another worker finishes it
(jobs acknowledge late).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from auror.models import Heartbeat
from auror.services import heartbeat_request


class Command(BaseCommand):
    help = "Send a heartbeat job through the Celery queue and wait for a worker to finish it."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
        parser.add_argument("--hold", type=float, default=0.0, help="seconds the job stays open on its worker")

    def handle(self, *args, timeout: float, hold: float, **options):
        if timeout <= 0 or hold < 0:
            raise CommandError("--timeout must be positive and --hold not negative")
        started = time.monotonic()
        beat = heartbeat_request(source="queue_check", hold_seconds=hold)
        deadline = started + timeout
        while time.monotonic() < deadline:
            done = Heartbeat.objects.filter(pk=beat.pk, completed_at__isnull=False).first()
            if done is not None:
                self.stdout.write(
                    f"heartbeat {done.pk} finished by {done.completed_by} after {time.monotonic() - started:.1f} s"
                    f" ({done.attempts} attempt{'s' if done.attempts != 1 else ''})"
                )
                return
            time.sleep(0.2)
        raise CommandError(
            f"no worker finished heartbeat {beat.pk} within {timeout:g} s: is a worker running? (GET /healthz)",
            returncode=1,
        )
