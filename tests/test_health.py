"""GET /healthz: database, broker and worker status; 503 naming what is down.

The "down" cases run the real web server (gunicorn, as `make run` does) in a subprocess configured
through the environment with a dead service: a loopback port that nobody listens on.
"""

from __future__ import annotations

import time

import pytest

from auror.celery import app
from auror.services import heartbeat_request
from tests.processes import free_port, get_json, start_web, start_worker, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def worker(tmp_path):
    app.control.purge()  # jobs left by earlier tests must not keep the worker busy
    proc = start_worker(tmp_path, "health")
    yield proc
    proc.stop()
    app.control.purge()


@pytest.mark.django_db
def test_without_a_worker_503_names_the_worker(client):
    start = time.monotonic()
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["down"] == ["worker"]
    assert (body["database"], body["broker"], body["worker"]) == ("up", "up", "down")
    assert time.monotonic() - start < 5, "the health check must answer quickly even when a worker is missing"


@pytest.mark.django_db(transaction=True)
def test_all_up_with_a_real_worker(client, worker):
    beat = heartbeat_request(source="test")
    wait_for(lambda: type(beat).objects.filter(pk=beat.pk, completed_at__isnull=False).exists(),
             timeout=20, what="the worker to finish a heartbeat")

    response = client.get("/healthz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert (body["database"], body["broker"], body["worker"]) == ("up", "up", "up")
    assert body["worker_last_job"] is not None
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_broker_down_answers_503_naming_the_broker(tmp_path):
    web, base = start_web(tmp_path, "no-broker", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        status, body = get_json(base + "/healthz")
    finally:
        web.stop()

    assert status == 503
    assert body["broker"] == "down"
    assert "broker" in body["down"]
    assert body["database"] == "up"


@pytest.mark.django_db
def test_database_down_answers_503_naming_the_database(tmp_path):
    web, base = start_web(tmp_path, "no-db", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/auror")
    try:
        status, body = get_json(base + "/healthz")
    finally:
        web.stop()

    assert status == 503
    assert body["database"] == "down"
    assert "database" in body["down"]
    assert body["broker"] == "up"
    assert body["worker_last_job"] is None


@pytest.mark.django_db
def test_healthz_only_answers_get_and_head(client):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code in (200, 503)
