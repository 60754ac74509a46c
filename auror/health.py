"""GET /healthz: database, broker and worker status; 503 when one is down."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse


def _database() -> str:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return "up"
    except Exception:  # noqa: BLE001 - any failure means down
        return "down"


def _broker() -> str:
    from auror.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "up"
    except Exception:  # noqa: BLE001
        return "down"


def _worker() -> str:
    from auror.celery import app

    try:
        replies = app.control.ping(timeout=1.0)
        return "up" if replies else "down"
    except Exception:  # noqa: BLE001
        return "down"


def healthz(request):
    status = {"database": _database(), "broker": _broker()}
    status["worker"] = _worker() if status["broker"] == "up" else "down"
    ok = all(v == "up" for v in status.values())
    return JsonResponse({"status": "ok" if ok else "degraded", **status}, status=200 if ok else 503)
