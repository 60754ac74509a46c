"""GET /healthz: is the database, the broker and at least one worker up? 503 when one is down.

Answers within about two seconds whatever is down: each check has its own short timeout, and the
worker is only asked (a Celery control ping, answered by the worker's main process even while its
pool is busy) when the broker is up. `worker_last_job` is when a worker last finished a heartbeat
job sent through the queue (auror.tasks.heartbeat, every HEARTBEAT_SECONDS from beat): if it falls
far behind while the worker answers pings, jobs are not flowing.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 2.0
PING_TIMEOUT = 1.0


def _database() -> str:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return "up"
    except Exception as exc:  # noqa: BLE001 - any failure means down
        logger.warning("healthz: database down: %s", exc)
        return "down"


def _broker() -> str:
    from auror.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)
            conn.default_channel.client.ping()  # kombu connects lazily; make it talk
        return "up"
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: broker down: %s", exc)
        return "down"


def _worker() -> str:
    from auror.celery import app

    try:
        # limit=1: return at the first answer instead of waiting out the timeout. On a connection of
        # its own, closed here: returning early leaves a reply unread, and a pooled connection left
        # half-read would hang whatever uses it next (a process forked from this one, say).
        with app.connection_for_write() as conn:
            replies = app.control.ping(timeout=PING_TIMEOUT, limit=1, connection=conn)
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: worker ping failed: %s", exc)
        return "down"
    return "up" if replies else "down"


def _worker_last_job(database: str) -> str | None:
    if database != "up":
        return None
    from auror.models import Heartbeat

    try:
        done = Heartbeat.objects.filter(completed_at__isnull=False).order_by("-completed_at").first()
    except Exception:  # noqa: BLE001 - e.g. not migrated yet; the status above already tells
        return None
    return done.completed_at.isoformat() if done else None


@never_cache
@require_safe
def healthz(request):
    body = status()
    return JsonResponse(body, status=200 if not body["down"] else 503)


def status() -> dict:
    """What /healthz answers (also the platform operator's home page)."""
    parts = {"database": _database(), "broker": _broker()}
    parts["worker"] = _worker() if parts["broker"] == "up" else "down"
    down = [name for name, value in parts.items() if value != "up"]
    return {"status": "ok" if not down else "down", **parts, "down": down,
            "worker_last_job": _worker_last_job(parts["database"])}
