"""Import benchmark (issue 3 figure): `manage.py import_events` of synthetic events, in events/s.

    .venv/bin/python bench/import_bench.py --events 100000 --runs 1

Each run imports the file into a fresh retailer (same stores and catalogue), so every row creates an
event, through the real command in its own process (start-up included). `--reimport` also times a
second import of the same file into the same retailer (every row an update). Reports the median of
the runs and exits 1 when it is under the gate (1,000 events/s, issue 9: "import of 100k events ≥ 1,000 events/s through the one write path"). The database is migrated first.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GATE = 1000.0


def run_import(slug: str, path: Path, extra: list[str]) -> tuple[float, str]:
    """(wall seconds, the command's summary); prints the machine's load and the command's own CPU
    time too, since on a shared machine the wall time says as much about the neighbours."""
    cmd = [sys.executable, "manage.py", "import_events", "--org", slug, str(path), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"import failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"  load average {load:.1f} → {os.getloadavg()[0]:.1f}; import_events CPU {cpu:.1f}s "
          f"({cpu / elapsed:.0%} of one core over the run)")
    return elapsed, proc.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reimport", action="store_true", help="Also time re-importing the file (updates).")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--file", type=Path, default=None, help="Where to write the synthetic file.")
    args = parser.parse_args()

    # Its own database and a development configuration, like the other benches (bench/common.py).
    from bench.common import bench_env, ensure_database

    os.environ.update(bench_env())
    ensure_database(dict(os.environ))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    from bench.synthetic import setup_org, write_events

    # A cache of generated synthetic events, found again by name on the next run; no secrets in it.
    path = args.file or Path(f"/tmp/auror-bench-{args.events}-{args.seed}.jsonl")  # nosec B108
    stamp = time.strftime("%Y%m%d%H%M%S")
    slugs = [f"bench-{stamp}-{i}" for i in range(args.runs)]
    codes = []
    for slug in slugs:
        codes = setup_org(slug, "BEN", "Bench Mart")
    if not path.exists():
        t = time.perf_counter()
        write_events(path, args.events, store_codes=codes, seed=args.seed, id_prefix="SYN")
        print(f"generated {args.events} events in {time.perf_counter() - t:.1f}s → {path} "
              f"({path.stat().st_size / 1e6:.0f} MB)")
    extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []

    rates = []
    for slug in slugs:
        elapsed, out = run_import(slug, path, extra)
        rate = args.events / elapsed
        rates.append(rate)
        print(f"create run {slug}: {elapsed:.1f}s wall, {rate:.0f} events/s  [{out}]")
        assert re.search(rf"{args.events} created", out), out
        if args.reimport:
            elapsed, out = run_import(slug, path, extra)
            print(f"re-import (updates) {slug}: {elapsed:.1f}s wall, {args.events / elapsed:.0f} events/s  [{out}]")
    median = statistics.median(rates)
    verdict = "PASS" if median >= GATE else "FAIL"
    print(f"import of {args.events} synthetic events: median {median:.0f} events/s over {len(rates)} run(s) "
          f"(gate ≥ {GATE:.0f}): {verdict}")
    sys.exit(0 if median >= GATE else 1)


if __name__ == "__main__":
    main()
