"""Connect the Dots speed (issue 4 "Figures"): suggestions for one new event with 10,000 and with
1,000,000 events stored, and `rematch` of 100,000 events.

    .venv/bin/python bench/matching_speed.py [--base 100000] [--large 1000000] [--samples 400]

It creates its own database (auror_bench_matching_speed on the PostgreSQL of DATABASE_URL, or of
127.0.0.1:5432; dropped and created afresh) with one retailer, and a synthetic world
(matching.synthetic) of `--base` events plus held-out events that are never bulk-loaded:

1. the first 10,000 events are loaded (COPY) and keyed; then, one at a time, held-out events are
   recorded and their suggestions computed (`run_match_state`, the Celery job's body: the claim,
   the keys, the candidates, the scores, the suggestions saved); the time of that call is measured;
2. the rest of the `--base` events are loaded and `manage.py rematch --org … --estimate` runs over
   all of them (keys, weights by EM, suggestions), timed in its own process;
3. the store grows to `--large` events by replicating the base world in SQL (generate_series over
   replicas, ids offset): each replica's names, plates and marks keys are made its own (so a replica
   is another city of offenders), while descriptions and products at a store keep their values
   (they become hubs, as they would); then VACUUM ANALYZE and the hub count that runs nightly in a
   deployment (`matching.refresh_hubs`), and step 1's measurement again with other held-out events.

Reports median and p95 per size and their ratio. Gates: p95 at the large size < 100 ms; p95
growth from 10,000 to the large size ≤ 1.5×; rematch of the base < 300 s. Exit 1 when one fails.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.matching_quality import fresh_database  # noqa: E402

DB_NAME = "auror_bench_matching_speed"
SLUG = "speedmart"
WARMUP = 5


def database_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    return base.rsplit("/", 1)[0] + "/" + DB_NAME


def setup_django(url: str, redis_url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("AUROR_DEVELOPMENT", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auror.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# Where the time of one new event goes (--phases): these functions of matching.engine, timed per event
# (nested ones are inside their callers' time).
PHASES = ("_claim", "_matched_person_ids", "load_records", "settings_for", "store_keys", "partner_organisations",
          "find_candidates_batch", "load_match_records", "_complete", "params_for", "entity_count", "_rejected_with",
          "rank", "_save_batch", "_finish")


class PhaseTimer:
    """Wraps PHASES in matching.engine (looked up by name at call time) and sums their time per event."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.events: list[dict[str, float]] = []

    def install(self) -> None:
        from matching import engine

        for name in PHASES:
            original = getattr(engine, name)
            if getattr(original, "_timed", False):
                continue
            setattr(engine, name, self._wrap(name, original))

    def _wrap(self, name, original):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.current[name] = self.current.get(name, 0.0) + (time.perf_counter() - started) * 1000
        timed._timed = True
        timed.__wrapped__ = original
        return timed

    def next_event(self, keep: bool) -> None:
        if keep:
            self.events.append(self.current)
        self.current = {}

    def medians(self) -> dict[str, float]:
        return {name: statistics.median(e.get(name, 0.0) for e in self.events) for name in PHASES}


def measure(world, events: list[dict], phases: PhaseTimer | None = None) -> list[float]:
    """Record each event (not timed), then time the computation of its suggestions."""
    from django.core.cache import cache

    from events.models import Event
    from matching import synthetic
    from matching.engine import mark_stale, run_match_state

    cache.clear()
    times = []
    for i, raw in enumerate(events):
        synthetic.load(world, [raw])
        event = Event.objects.unscoped().get(organisation__slug=SLUG, external_id=raw["external_id"])
        mark_stale(event=event)
        if phases is not None:
            phases.current = {}
        started = time.perf_counter()
        assert run_match_state(event.pk)
        elapsed = (time.perf_counter() - started) * 1000
        if i >= WARMUP:
            times.append(elapsed)
        if phases is not None:
            phases.next_event(i >= WARMUP)
    return times


def index_all() -> int:
    from accounts.models import Organisation
    from matching.services import index_organisation

    org = Organisation.objects.unscoped().get(slug=SLUG)
    return index_organisation(organisation_id=org.pk, batch=2000)


def refresh_hubs() -> int:
    from accounts.models import Organisation
    from matching.engine import refresh_hubs as refresh

    return refresh(Organisation.objects.unscoped().get(slug=SLUG).pk)


def mark_done() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("UPDATE matching_matchstate SET status = 'done', done_version = version")


def reset_matching() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE matching_suggestion, matching_blockingkey, matching_hubkey, matching_matchrecord, "
                    "matching_matchstate, matching_featureweight CASCADE")


def replicate(copies: int) -> None:
    """Grow the store `copies` times in SQL: events, people, products, vehicles and blocking keys of
    the base, ids offset per replica; identity keys (names, plates, marks) get a replica tag."""
    from django.db import connection

    from events.models import Event, EventPerson, EventProduct, EventVehicle

    def columns(model):
        return [f.column for f in model._meta.concrete_fields]

    # The SQL below is put together from our models' table and column names and integer id offsets
    # read from the database (nosec B608 on each); the only outside values are parameters.
    with connection.cursor() as cur:
        offsets = {}
        for model in (Event, EventPerson, EventProduct, EventVehicle):
            cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")  # nosec B608
            offsets[model] = cur.fetchone()[0]
        eoff, poff = offsets[Event], offsets[EventPerson]

        def copy_table(model, overrides: dict[str, str]):
            cols = columns(model)
            select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
            cur.execute(f"""INSERT INTO {model._meta.db_table} ({", ".join(cols)})
                            SELECT {select} FROM {model._meta.db_table} t CROSS JOIN generate_series(1, %s) AS r
                            WHERE t.id < %s""", [copies, offsets[model]])  # nosec B608

        copy_table(Event, {"id": f"t.id + r * {eoff}", "external_id": "t.external_id || '-R' || r", "reference": "''",
                           "client_key": "NULL"})
        copy_table(EventPerson, {"id": f"t.id + r * {poff}", "event_id": f"t.event_id + r * {eoff}"})
        copy_table(EventProduct, {"id": f"t.id + r * {offsets[EventProduct]}", "event_id": f"t.event_id + r * {eoff}"})
        copy_table(EventVehicle, {"id": f"t.id + r * {offsets[EventVehicle]}", "event_id": f"t.event_id + r * {eoff}",
                                  "person_id": f"t.person_id + r * {poff}"})
        cur.execute(f"""INSERT INTO matching_blockingkey (organisation_id, person_id, profile_id, kind, value)
                        SELECT k.organisation_id, k.person_id + r * {poff}, NULL, k.kind,
                               CASE WHEN k.kind IN ('name', 'name_token', 'plate', 'mark')
                                    THEN left(k.value, 58) || '#' || r ELSE k.value END
                        FROM matching_blockingkey k CROSS JOIN generate_series(1, %s) AS r
                        WHERE k.person_id < %s""", [copies, poff])  # nosec B608
        from matching.records import MATCH_RECORD_COLUMNS

        cols = [c.strip() for c in MATCH_RECORD_COLUMNS.split(",")]
        shifted = {"person_id": f"m.person_id + r * {poff}", "event_id": f"m.event_id + r * {eoff}"}
        cur.execute(f"""INSERT INTO matching_matchrecord ({", ".join(cols)})
                        SELECT {", ".join(shifted.get(c, "m." + c) for c in cols)}
                        FROM matching_matchrecord m CROSS JOIN generate_series(1, %s) AS r
                        WHERE m.person_id < %s""", [copies, poff])  # nosec B608
        cur.execute(f"""INSERT INTO matching_matchstate (event_id, organisation_id, status, version, done_version, updated_at)
                        SELECT e.id, e.organisation_id, 'done', 1, 1, now() FROM events_event e
                        WHERE e.id >= {eoff} ON CONFLICT (event_id) DO NOTHING""")  # nosec B608
        for model in (Event, EventPerson, EventProduct, EventVehicle):
            table = model._meta.db_table
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")  # nosec B608


def vacuum_analyze() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"] or None,
                         dbname=db["NAME"], autocommit=True) as conn:
        for table in ("events_event", "events_eventperson", "events_eventproduct", "events_eventvehicle",
                      "matching_blockingkey", "matching_matchrecord", "matching_matchstate", "matching_suggestion"):
            conn.execute(f"VACUUM ANALYZE {table}")


def count_events() -> int:
    from events.models import Event

    return Event.objects.unscoped().count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=100_000, help="events in the world (and rematched)")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=400, help="new events timed at each size (p95 of 400 is steadier than of 200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--skip-rematch", action="store_true")
    parser.add_argument("--phases", action="store_true",
                        help="also time the engine's phases per event (adds a little to every time) and print their medians")
    args = parser.parse_args(argv)
    if args.large % args.base:
        parser.error("--large must be a multiple of --base")

    url = database_url(args.database_url)
    fresh_database(url)
    setup_django(url, args.redis_url)
    from matching import synthetic
    from matching.synthetic import WorldConfig

    held = 2 * (args.samples + WARMUP)
    t = time.perf_counter()
    config = WorldConfig(events=args.base + held, retailers=(("speedmart", "SpeedMart", "SM", 20),))
    world = synthetic.generate(args.base + held, seed=args.seed, config=config)
    rng = random.Random(args.seed)
    held_out = rng.sample(range(len(world.events)), held)
    held_set = set(held_out)
    bulk = [e for i, e in enumerate(world.events) if i not in held_set]
    fresh = [world.events[i] for i in held_out]
    print(f"generated {len(world.events)} events in {time.perf_counter() - t:.0f}s", flush=True)

    t = time.perf_counter()
    synthetic.load(world, bulk[:args.small])
    index_all()
    mark_done()
    vacuum_analyze()
    print(f"{count_events()} events loaded and keyed in {time.perf_counter() - t:.0f}s", flush=True)
    timers = (PhaseTimer(), PhaseTimer()) if args.phases else (None, None)
    if args.phases:
        timers[0].install()
    small = measure(world, fresh[:args.samples + WARMUP], timers[0])
    print(f"  at {count_events()} events: median {statistics.median(small):.1f} ms, p95 {percentile(small, 95):.1f} ms",
          flush=True)

    t = time.perf_counter()
    synthetic.load(world, bulk[args.small:])
    print(f"{count_events()} events loaded in {time.perf_counter() - t:.0f}s", flush=True)
    rematch_seconds = None
    if not args.skip_rematch:
        reset_matching()
        vacuum_analyze()
        env = dict(os.environ)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "manage.py", "rematch", "--org", SLUG, "--estimate"], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        rematch_seconds = time.perf_counter() - t
        if proc.returncode:
            sys.exit(f"rematch failed:\n{proc.stderr[-3000:]}")
        print(f"rematch --estimate of {count_events()} events: {rematch_seconds:.0f}s ({proc.stdout.strip()})", flush=True)
    else:
        index_all()
        mark_done()

    t = time.perf_counter()
    replicate(max(0, round(args.large / count_events()) - 1))
    vacuum_analyze()
    print(f"grown to {count_events()} events in {time.perf_counter() - t:.0f}s", flush=True)
    t = time.perf_counter()
    hubs = refresh_hubs()
    print(f"hub keys counted (the nightly job): {hubs:,} in {time.perf_counter() - t:.0f}s", flush=True)
    if args.phases:
        from matching import engine

        for name in PHASES:  # the same wrappers, now counting into the second timer
            setattr(engine, name, timers[1]._wrap(name, getattr(engine, name).__wrapped__))
    large = measure(world, fresh[args.samples + WARMUP:], timers[1])
    n_large = count_events()

    ratio = percentile(large, 95) / percentile(small, 95)
    print()
    print("| events stored | new events timed | median ms | p95 ms |")
    print("|---------------|------------------|-----------|--------|")
    print(f"| {args.small:>13,} | {len(small):>16} | {statistics.median(small):9.1f} | {percentile(small, 95):6.1f} |")
    print(f"| {n_large:>13,} | {len(large):>16} | {statistics.median(large):9.1f} | {percentile(large, 95):6.1f} |")
    print(f"p95 growth {args.small:,} → {n_large:,}: {ratio:.2f}×; median growth "
          f"{statistics.median(large) / statistics.median(small):.2f}×")
    if args.phases:
        small_ph, large_ph = timers[0].medians(), timers[1].medians()
        print()
        print("| phase (median ms per event) | small | large | ratio |")
        print("|---|---|---|---|")
        for name in PHASES:
            a, b = small_ph[name], large_ph[name]
            print(f"| {name} | {a:.2f} | {b:.2f} | {b / a if a else float('nan'):.2f} |")
    gates = [(f"p95 at {n_large:,} events {percentile(large, 95):.1f} ms < 100 ms", percentile(large, 95) < 100),
             (f"p95 growth {ratio:.2f}× ≤ 1.5×", ratio <= 1.5)]
    if rematch_seconds is not None:
        print(f"rematch --estimate of {args.base:,} events: {rematch_seconds:.0f} s")
        gates.append((f"rematch of {args.base:,} events {rematch_seconds:.0f} s < 300 s", rematch_seconds < 300))
    for name, ok in gates:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(ok for _, ok in gates) else 1


if __name__ == "__main__":
    sys.exit(main())
