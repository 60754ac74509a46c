"""API event create with audit, under gunicorn, at 8 concurrent clients.

Issue 3 figure: at least 100 requests/s, p95 under 300 ms.

    .venv/bin/python bench/api_create_bench.py [--seconds 30] [--clients 8] [--workers 4] [--runs 3]

Uses its own database (auror_bench, or DATABASE_URL) and reports the median of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import PY, ROOT, bench_env, ensure_database, free_port, percentile, start_gunicorn  # noqa: E402

SETUP = """
from accounts.models import Organisation, Store, User
from accounts.tokens import token_create
org, _ = Organisation.objects.get_or_create(slug="bench-retail", defaults={"name": "Bench Retail", "kind": "retailer"})
Store.objects.get_or_create(organisation=org, code="B-001", defaults={"name": "Bench Store", "region": "AKL"})
user, _ = User.objects.get_or_create(email="bench@bench.test", defaults={"username": "bench@bench.test", "organisation": org, "role": "investigator"})
_, raw = token_create(organisation=org, user=user, name="bench")
print(raw)
"""


def body(i: int) -> dict:
    return {
        "store": "B-001", "occurred_at": "2026-10-03T14:22:00+13:00", "type": "theft",
        "narrative": "Filled a backpack with razor blades and walked out past the self-checkouts.",
        "products": [{"sku": "9300601", "description": "Razor blades 8pk", "quantity": 1 + i % 6, "unit_value": "24.99"}],
        "persons": [{"name": f"Person {i % 997}", "age_band": "25-34", "gender": "male", "height_cm": 170 + i % 20,
                     "build": "slim", "hair": "short brown", "clothing": "black hoodie, grey trackpants",
                     "marks": "star tattoo on left hand"}],
        "vehicles": [{"plate": f"AB{i % 9999:04d}", "make": "Toyota", "model": "Corolla", "colour": "silver"}],
    }


_CLIENT_CPU = {"t": 0.0, "n": 0}


def client_cpu_ms() -> float:
    """CPU this load generator spent per request since the last call (it shares the 2 cores)."""
    t = time.process_time()
    spent, _CLIENT_CPU["t"] = t - _CLIENT_CPU["t"], t
    n, _CLIENT_CPU["n"] = _CLIENT_CPU["n"], 0
    return spent * 1000 / max(n, 1)


def run_once(url: str, token: str, seconds: float, clients: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(n: int) -> None:
        s = requests.Session()
        s.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        i = n * 1_000_000
        while time.perf_counter() < stop_at:
            i += 1
            t0 = time.perf_counter()
            r = s.post(url, data=json.dumps(body(i)), headers={"Idempotency-Key": str(uuid.uuid4())})
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                if r.status_code == 201:
                    latencies.append(dt)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    _CLIENT_CPU["n"] += len(latencies) + errors[0]
    return len(latencies) / elapsed, latencies, errors[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--compare-rls", action="store_true",
                    help="also run a server with row-level security off (AUROR_RLS=off), runs alternating, and "
                         "print both and their ratio (issue 11)")
    args = ap.parse_args()
    if args.compare_rls:
        return compare_rls(args)
    env = bench_env()
    ensure_database(env)
    token = subprocess.run([PY, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    server = start_gunicorn(env, port, workers=args.workers)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/events/"
        run_once(url, token, 3, args.clients)  # warm up
        client_cpu_ms()
        # A live database has planner statistics (autovacuum); a bench database created a minute ago
        # has none for the rows the warm-up wrote, and plans as if each retailer had a handful of events.
        import psycopg

        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("ANALYZE")
        results = []
        for n in range(args.runs):
            rps, lat, errors = run_once(url, token, args.seconds, args.clients)
            results.append((rps, percentile(lat, 95), statistics.median(lat), errors))
            print(f"run {n + 1}: {rps:.1f} req/s, median {statistics.median(lat):.1f} ms, "
                  f"p95 {percentile(lat, 95):.1f} ms, errors {errors}, "
                  f"client CPU {client_cpu_ms():.1f} ms/request", flush=True)
        print(f"API create (8 clients, gunicorn -w {args.workers}, {os.cpu_count()} cores): "
              f"median of {args.runs} runs: {statistics.median(r[0] for r in results):.1f} req/s, "
              f"p95 {statistics.median(r[1] for r in results):.1f} ms (gate: >= 100 req/s, p95 < 300 ms)")
    finally:
        server.terminate()
        server.wait(10)


def compare_rls(args) -> None:
    """The same load against two servers on the same database, one with the backstop on and one
    with it off, run after run in turn (on, off, on, off ...), so drift of the machine falls on both."""
    import psycopg

    env = bench_env()
    ensure_database(env)
    token = subprocess.run([PY, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    servers, urls = [], {}
    try:
        for name, value in (("on", "on"), ("off", "off")):
            port = free_port()
            servers.append(start_gunicorn({**env, "AUROR_RLS": value}, port, workers=args.workers))
            urls[name] = f"http://127.0.0.1:{port}/api/v1/events/"
        for url in urls.values():
            run_once(url, token, 3, args.clients)  # warm up
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("ANALYZE")
        results: dict[str, list] = {"on": [], "off": []}
        for n in range(args.runs):
            for name in ("on", "off"):
                rps, lat, errors = run_once(urls[name], token, args.seconds, args.clients)
                results[name].append((rps, percentile(lat, 95), statistics.median(lat)))
                print(f"run {n + 1} RLS {name:3s}: {rps:.1f} req/s, median {statistics.median(lat):.1f} ms, "
                      f"p95 {percentile(lat, 95):.1f} ms, errors {errors}", flush=True)
        med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in results.items()}
        ratios = [a[0] / b[0] for a, b in zip(results["on"], results["off"], strict=True)]
        print(f"API create, median of {args.runs} runs each: RLS on {med['on'][0]:.1f} req/s (p95 {med['on'][1]:.1f} ms),"
              f" off {med['off'][0]:.1f} req/s (p95 {med['off'][1]:.1f} ms); throughput on/off per pair: "
              f"median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
