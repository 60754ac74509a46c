"""Shared helpers for benchmarks: a separate database, statistics, a gunicorn server."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def bench_env(db_name: str = "auror_bench") -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{db_name}")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    env.setdefault("AUROR_DEVELOPMENT", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "auror.settings")
    return env


def ensure_database(env: dict[str, str]) -> None:
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int, workers: int = 4, threads: int = 1) -> subprocess.Popen:
    cmd = [PY, "-m", "gunicorn", "auror.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", str(workers),
           "--threads", str(threads), "--log-level", "warning", "--access-logfile", "/dev/null"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(name: str, latencies_ms: list[float]) -> str:
    return (f"{name}: n={len(latencies_ms)} median={statistics.median(latencies_ms):.1f} ms "
            f"p95={percentile(latencies_ms, 95):.1f} ms max={max(latencies_ms):.1f} ms")
