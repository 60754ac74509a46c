"""Real processes for tests: a Celery worker and a gunicorn web server on the test database.

They run the project's own code in subprocesses, configured only through the environment, the way
`make run` and docker-compose run them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url_for_tests() -> str:
    """A DATABASE_URL for the database this test session runs on (test_<name>)."""
    sd = connection.settings_dict
    host = sd.get("HOST") or sd.get("OPTIONS", {}).get("host") or ""
    user = quote(sd.get("USER") or "", safe="")
    password = quote(sd.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@"
    port = f":{sd['PORT']}" if sd.get("PORT") else ""
    return f"postgresql://{auth}{quote(str(host), safe='')}{port}/{sd['NAME']}"


def process_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "auror.settings_test",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker's main process and its pool, as a crash would."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def start_worker(log_dir: Path, label: str, **env: str) -> Proc:
    """Start `celery -A auror worker` (prefork, one pool process) and wait until it answers a ping."""
    from auror.celery import app

    node = f"{label}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    log = log_dir / f"worker-{label}.log"
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "auror", "worker", "--loglevel", "INFO", "--pool", "prefork",
             "--concurrency", "1", "--hostname", node, "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=process_env(**env), stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = Proc(node, popen, log)

    def ready() -> bool:
        if not proc.alive():
            raise AssertionError(f"worker {node} exited:\n{proc.output()[-3000:]}")
        return bool(app.control.ping(destination=[node], timeout=0.3))

    try:
        wait_for(ready, timeout=40, what=f"worker {node} to answer a ping", interval=0.2)
    except BaseException:
        proc.stop()
        raise
    return proc


def start_web(log_dir: Path, label: str, **env: str) -> tuple[Proc, str]:
    """Start gunicorn with the project's gunicorn.conf.py on a free port; return it and its base URL."""
    port = free_port()
    log = log_dir / f"web-{label}.log"
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--workers", "1",
             "--bind", f"127.0.0.1:{port}", "auror.wsgi:application"],
            cwd=ROOT, env=process_env(**env), stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = Proc(f"web-{label}", popen, log)
    base = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        if not proc.alive():
            raise AssertionError(f"gunicorn exited:\n{proc.output()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_for(listening, timeout=30, what="gunicorn to listen")
    except BaseException:
        proc.stop()
        raise
    return proc, base


def get_json(url: str, timeout: float = 15) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - a test server of ours
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
