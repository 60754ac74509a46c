"""`manage.py runall`: what `make run` starts. Prepare the database, then run web + worker + beat.

This process owns the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset (see
auror/embedded.py): it started or joined them while loading settings, and it hands their URLs to
its three children in the environment, so the children are plain production processes. Ctrl-C
(or SIGTERM) stops the children, then this process releases the embedded servers.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from auror import embedded
from auror.services import heartbeat_request

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the launcher dies (Linux), so nothing is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


SETTLE_SECONDS = 2.0


def site_url_for(bind: str) -> str:
    """The address links should use when SITE_URL is not set: the bind address, with a wildcard
    host said as localhost (a link to 0.0.0.0 opens nothing)."""
    host, _, port = bind.rpartition(":")
    if host in ("0.0.0.0", "::", "[::]", ""):  # nosec B104  # comparing, not binding: a wildcard is said as localhost
        host = "localhost"
    return f"http://{host}:{port}"


class Command(BaseCommand):
    help = "Migrate, seed the demo data once, collect static files, then run web, worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("AUROR_BIND", "127.0.0.1:8000"),
                            help="host:port for the web process (default 127.0.0.1:8000)")
        parser.add_argument("--no-seed", action="store_true", help="do not run seed_demo")
        parser.add_argument("--worker-concurrency", type=int,
                            default=int(os.environ.get("WORKER_CONCURRENCY", "2")))

    def handle(self, *args, bind: str, no_seed: bool, worker_concurrency: int, **options):
        self.stopping = threading.Event()
        self.print_lock = threading.Lock()
        host, _, port = bind.rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"--bind must be host:port, not {bind!r}")
        self._check_port_free(host, int(port))

        self._say(f"database: {self._describe(settings.DATABASE_URL)}")
        self._say(f"broker:   {self._describe(settings.CELERY_BROKER_URL)}")
        self._say("migrate …")
        call_command("migrate", interactive=False, verbosity=0)
        logins = None if no_seed else self._seed_once()
        self._say("collectstatic …")
        call_command("collectstatic", interactive=False, verbosity=0)

        worker_level = os.environ.get("AUROR_WORKER_LOGLEVEL", "WARNING")
        if not os.environ.get("SITE_URL"):  # links in invitations and emails: where this run listens
            settings.SITE_URL = site_url_for(bind)
        env = {
            **os.environ,
            "AUROR_BIND": bind,
            "SITE_URL": settings.SITE_URL,
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "AUROR_DATA_DIR": str(embedded.DATA_DIR),
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "auror.settings"),
            "PYTHONUNBUFFERED": "1",
        }
        py = sys.executable
        commands = {
            "web": [py, "-m", "gunicorn", "-c", str(Path(settings.BASE_DIR) / "gunicorn.conf.py"),
                    "--bind", bind, "auror.wsgi:application"],
            # Warnings and errors only: at INFO the worker's start-up (about 170 lines) scrolls the
            # demo logins away; AUROR_WORKER_LOGLEVEL=INFO shows every job again.
            "worker": [py, "-m", "celery", "-A", "auror", "worker", "--loglevel", worker_level,
                       "--concurrency", str(worker_concurrency), "--hostname", "worker@%h"],
            "beat": [py, "-m", "celery", "-A", "auror", "beat", "--loglevel", worker_level],
        }
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

        self.children: dict[str, subprocess.Popen] = {}
        for name, cmd in commands.items():
            self.children[name] = subprocess.Popen(
                cmd, env=env, cwd=settings.BASE_DIR, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            )
        for name, proc in self.children.items():
            threading.Thread(target=self._relay, args=(name, proc), daemon=True).start()

        # A first heartbeat, so /healthz shows a finished job as soon as the worker is up.
        heartbeat_request(source="runall")
        code = 0
        try:
            if self._wait_until_serving(host, int(port)):
                self.stopping.wait(SETTLE_SECONDS)  # the last start-up lines first, then the banner
                self._banner(settings.SITE_URL.rstrip("/") + "/", logins)
            code = self._supervise()
        finally:
            self._stop_children()
        if code:
            raise CommandError("a process stopped unexpectedly; see its output above", returncode=code)

    # --- steps -----------------------------------------------------------------------------------

    def _check_port_free(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise CommandError(
                    f"{host}:{port} is not free ({exc.strerror}): stop what uses it, or `make run PORT=8001`"
                ) from exc

    def _seed_once(self) -> str | None:
        """Run seed_demo once per database; keep what it printed (the demo logins) to show every run."""
        key = hashlib.sha256(settings.DATABASE_URL.encode()).hexdigest()[:12]
        marker = embedded.DATA_DIR / f"demo-seeded-{key}.txt"
        if marker.exists():
            self._say("demo data: already seeded")
            return marker.read_text()
        self._say("seed_demo (first run only) …")
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        printed = out.getvalue()
        self.stdout.write(printed.split("Demo logins")[0].rstrip())  # what it created
        logins = printed[printed.index("Demo logins"):] if "Demo logins" in printed else printed
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(logins)
        return logins

    def _wait_until_serving(self, host: str, port: int, timeout: float = 90.0) -> bool:
        deadline = time.monotonic() + timeout
        url = f"http://{host}:{port}/healthz"
        while time.monotonic() < deadline and not self.stopping.is_set():
            if any(proc.poll() is not None for proc in self.children.values()):
                return False
            try:
                # An http:// URL built here from our own bind address, never a caller's scheme.
                with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310  # nosec B310
                    if resp.status == 200:
                        return True
            except urllib.error.HTTPError:
                pass  # 503 while the worker is still starting
            except OSError:
                pass
            time.sleep(0.5)
        return False

    def _supervise(self) -> int:
        while not self.stopping.is_set():
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    self._say(f"{name} exited with status {proc.returncode}; stopping the others")
                    return proc.returncode or 1
            self.stopping.wait(0.5)
        return 0

    def _stop_children(self) -> None:
        self._say("stopping web, worker and beat …")
        for proc in self.children.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for name, proc in self.children.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{name} did not stop in time; killing it")
                proc.kill()
                proc.wait()
        self._say("stopped")

    # --- output ----------------------------------------------------------------------------------

    def _on_signal(self, signum, frame) -> None:
        self.stopping.set()

    def _relay(self, name: str, proc: subprocess.Popen) -> None:
        prefix = f"{name:<6} | "
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            with self.print_lock:
                self.stdout.write(prefix + line)
                self.stdout.flush()

    def _say(self, text: str) -> None:
        with self.print_lock:
            self.stdout.write(self.style.MIGRATE_HEADING("runall | ") + text)
            self.stdout.flush()

    def _describe(self, url: str) -> str:
        where = "embedded, under " + str(embedded.DATA_DIR) if str(embedded.DATA_DIR) in _unquote(url) else "external"
        return f"{where} ({_redact(url)})"

    def _banner(self, url: str, logins: str | None) -> None:
        lines = ["", "=" * 72, f"  Auror is running at {url}   (Ctrl-C stops web, worker and beat)",
                 f"  health: {url}healthz", "=" * 72]
        if logins:
            lines += ["", logins.rstrip(), ""]
        with self.print_lock:
            self.stdout.write("\n".join(lines))
            self.stdout.flush()


def _unquote(url: str) -> str:
    from urllib.parse import unquote

    return unquote(url)


def _redact(url: str) -> str:
    """The URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
