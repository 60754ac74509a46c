"""Guardrails benchmark: the cost of check_text on the free text of events.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/auror_bench .venv/bin/python bench/guardrails_bench.py

- short fields: the median (and p95) time of one check of a typical short field (clothing, hair, marks,
  a product), over every field of the corpora (tests/guardrails/corpus and the issue 11 corpus in
  bench/data/guardrails_corpus, evasions included) and of synthetic events, with the lexicon compiled;
- import: 100,000 synthetic events x their free-text fields checked in a row, as the importer does,
  in fields per second and µs per event;
- compile: the time to compile the lexicon (once per lexicon version per process).
Exits 1 when the median short-field check is 1 ms or more. The database is migrated first.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, ensure_database  # noqa: E402

GATE_SECONDS = 0.001

CLOTHING = ["black hoodie", "grey trackies", "white sneakers", "hi-vis vest", "navy puffer jacket", "red cap",
            "blue jeans", "black leggings", "school uniform", "jandals", "green parka", "brown boots"]
HAIR = ["short brown hair", "shaved head", "long blonde ponytail", "black curly hair", "bald", "grey beard"]
MARKS = ["tattoo on left hand", "scar on chin", "teardrop tattoo under right eye", "nose ring", "limp"]
NARRATIVE = ["Concealed {n} bottles of whisky in a backpack and left without paying.",
             "Filled a trolley with meat and pushed it out the fire exit; staff followed to the carpark.",
             "Threatened staff with a screwdriver when approached at the door, then drove off in a {c} ute.",
             "Took {n} razors from the shelf, removed the packaging in the toilets and left."]


def synthetic_event(rng: random.Random) -> list[str]:
    return [
        " ".join(rng.sample(CLOTHING, 2)), rng.choice(HAIR), rng.choice(MARKS),
        rng.choice(NARRATIVE).format(n=rng.randint(2, 9), c=rng.choice(["white", "black", "silver"])),
        f"{rng.choice(['Gillette', 'Dove', 'Nivea', 'Jim Beam'])} {rng.choice(['razor', 'bodywash', 'whisky'])}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    env = bench_env()
    ensure_database(env)
    import os

    os.environ.update(env)
    import django

    django.setup()
    from bench.guardrails_accuracy import PARTS, read_part
    from guardrails import checker
    from guardrails.services import sync_platform_lexicon
    from tests.guardrails.conftest import read_corpus

    sync_platform_lexicon()
    checker.lexicon_changed(None)
    started = time.perf_counter()
    checker.lexicon_for(None)
    compile_ms = (time.perf_counter() - started) * 1000

    rng = random.Random(7)
    fields = [t for _, _, t in read_corpus("dev.tsv", "heldout.tsv", "heldout2.tsv")]
    fields += [row[4] for part in PARTS for row in read_part(part)]
    fields += [f for _ in range(200) for f in synthetic_event(rng)]
    times = []
    for _ in range(5):
        for f in fields:
            t0 = time.perf_counter()
            checker.check_text(f)
            times.append(time.perf_counter() - t0)
    times.sort()
    median, p95 = statistics.median(times), times[int(len(times) * 0.95)]

    events = [synthetic_event(rng) for _ in range(args.events)]
    t0 = time.perf_counter()
    refused = sum(1 for ev in events for f in ev if checker.check_text(f))
    elapsed = time.perf_counter() - t0
    n_fields = sum(len(ev) for ev in events)

    print(f"lexicon compile: {compile_ms:.1f} ms ({checker.lexicon_for(None).size} entries)")
    print(f"short field check: median {median * 1e6:.1f} µs, p95 {p95 * 1e6:.1f} µs over {len(times)} checks")
    print(f"import: {args.events} events, {n_fields} fields in {elapsed:.2f} s = {n_fields / elapsed:,.0f} fields/s, "
          f"{elapsed / args.events * 1e6:.0f} µs per event ({refused} refused)")
    if median >= GATE_SECONDS:
        print("FAIL: median check is not under 1 ms")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
