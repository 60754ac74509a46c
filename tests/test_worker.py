"""Real Celery workers (subprocesses) on the configured broker and the test database.

A job is sent only when the transaction that asked for it commits; a worker killed in the middle
of a job loses nothing (acks_late): the job is redelivered and finished by another worker, and a
pool process killed mid-job is replaced and the job run again (task_reject_on_worker_lost).
"""

from __future__ import annotations

import io
import os
import signal
import time

import psutil
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from auror.celery import app
from auror.models import Heartbeat
from auror.services import heartbeat_request
from tests.processes import start_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

VISIBILITY = 2  # seconds before an unacknowledged job counts as abandoned (the test workers' setting)


@pytest.fixture
def workers(tmp_path):
    """Start workers on demand; stop them all after the test. The queue starts empty."""
    app.control.purge()
    started = []

    def start(label: str, **env: str):
        proc = start_worker(tmp_path, label, **env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
    app.control.purge()


def queued() -> int:
    with app.connection_for_write() as conn:
        return conn.default_channel.client.llen(app.conf.task_default_queue)


def fresh(beat: Heartbeat) -> Heartbeat:
    return Heartbeat.objects.get(pk=beat.pk)


def test_job_is_sent_on_commit_and_run_by_a_real_worker(workers):
    worker = workers("a")

    with transaction.atomic():
        beat = heartbeat_request(source="test")
        assert queued() == 0, "the job left before its transaction committed"
    done = wait_for(lambda: fresh(beat).completed_at, timeout=20, what="the worker to finish the heartbeat")

    beat = fresh(beat)
    assert beat.completed_by == worker.name
    assert beat.attempts == 1
    assert beat.completed_at == done


def test_job_of_a_rolled_back_transaction_is_never_sent(workers):
    workers("a")

    with pytest.raises(RuntimeError), transaction.atomic():
        heartbeat_request(source="test")
        raise RuntimeError("the request failed after asking for a job")

    assert Heartbeat.objects.count() == 0
    time.sleep(1)
    assert queued() == 0


def test_job_of_a_killed_worker_is_redelivered_and_finished_by_another(workers):
    first = workers("first", CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY))

    beat = heartbeat_request(source="test", hold_seconds=3)
    wait_for(lambda: fresh(beat).attempts == 1, timeout=20, what="the first worker to start the job")
    started = time.monotonic()
    first.kill()  # SIGKILL, main process and pool: no chance to acknowledge or requeue

    assert fresh(beat).completed_at is None, "the job finished before its worker was killed"
    assert queued() == 0, "the job was requeued by the dying worker rather than left unacknowledged"
    # The broker hands the job on once it has gone unacknowledged for the visibility timeout.
    time.sleep(max(0.0, VISIBILITY + 0.5 - (time.monotonic() - started)))
    second = workers("second", CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY))

    wait_for(lambda: fresh(beat).completed_at, timeout=30, what="the second worker to finish the job")
    beat = fresh(beat)
    assert beat.completed_by == second.name
    assert beat.started_by == second.name
    assert beat.attempts == 2


def test_job_of_a_killed_pool_process_runs_again_on_the_same_worker(workers):
    worker = workers("a")

    beat = heartbeat_request(source="test", hold_seconds=3)
    wait_for(lambda: fresh(beat).attempts == 1, timeout=20, what="the worker to start the job")
    pool = psutil.Process(worker.popen.pid).children()
    assert len(pool) == 1
    os.kill(pool[0].pid, signal.SIGKILL)  # as the kernel's OOM killer would

    wait_for(lambda: fresh(beat).completed_at, timeout=30, what="the job to run again and finish")
    beat = fresh(beat)
    assert beat.completed_by == worker.name
    assert beat.attempts == 2
    assert worker.alive()


def test_queue_check_command_reports_the_worker_that_finished_its_heartbeat(workers):
    worker = workers("a")
    out = io.StringIO()

    call_command("queue_check", "--timeout", "20", stdout=out)

    assert out.getvalue().startswith("heartbeat ")
    assert f"finished by {worker.name}" in out.getvalue()


def test_queue_check_command_fails_when_no_worker_takes_the_job(workers):
    with pytest.raises(CommandError, match="no worker finished heartbeat .* within 1 s") as failure:
        call_command("queue_check", "--timeout", "1")
    assert failure.value.returncode == 1
    assert Heartbeat.objects.get().completed_at is None
