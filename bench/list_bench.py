"""Event list and search at 1,000,000 events (issue 3 figure: p95 under 300 ms).

    .venv/bin/python bench/list_bench.py [--events 1000000] [--requests 40] [--reload]

Loads the events once into its own database (auror_list_bench, or DATABASE_URL) with
generate_series in SQL — four retailers (one large), 120 stores, people with names and aliases
drawn from the synthetic pools, products from a 2,000-SKU catalogue per retailer, vehicles with
plates — then requests the HTML event list through Django's test client (the whole stack:
middleware, access policy, filters, search, capped count, template, the audit row each search
writes) as an investigator, a store worker and a police officer, and prints median and p95 per
scenario and overall. `--reload` drops and reloads the data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import bench_env, ensure_database, percentile  # noqa: E402

DB_NAME = "auror_list_bench"

# Every random() below is in a row-correlated expression, so PostgreSQL draws it per row.
SQL_LOAD = """
SET synchronous_commit = off;
SELECT setseed(0.42);
DROP TABLE IF EXISTS b_plan;
CREATE TEMP TABLE b_plan AS
  SELECT o.id AS org_id, o.slug,
         (SELECT array_agg(s.id ORDER BY s.id) FROM accounts_store s WHERE s.organisation_id = o.id) AS stores,
         floor(coalesce(sum(w.share) OVER (ORDER BY o.slug ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
               * %(n)s)::bigint AS lo,
         floor(sum(w.share) OVER (ORDER BY o.slug) * %(n)s)::bigint AS hi
  FROM accounts_organisation o
  JOIN (VALUES ('bench-acme', 0.60), ('bench-bmart', 0.25), ('bench-c', 0.075), ('bench-d', 0.075)) AS w(slug, share)
    ON w.slug = o.slug;
-- Rows go in in the order events happen, as they arrive in a live system (the newest together).
INSERT INTO events_event (organisation_id, store_id, external_id, occurred_at, type, police_sharing, sensitive,
                          sensitive_reason, prevented, threatened_violence, used_violence, weapon, injury, injury_detail,
                          narrative, police_reference, total_value, client_key, created_by_id, created_at, updated_at)
SELECT * FROM (SELECT p.org_id,
       p.stores[1 + floor(random() * array_length(p.stores, 1))::int],
       CASE WHEN g %% 2 = 0 THEN upper(split_part(p.slug, '-', 2)) || '-' || (2023 + g %% 3) || '-' || lpad(g::text, 7, '0')
            ELSE '' END,
       now() - (random() * interval '1095 days'),
       (ARRAY['theft','theft','theft','theft','theft','theft','theft','theft','theft','theft','theft','theft','theft',
              'theft','burglary','robbery','fraud','assault','threat','abuse','damage','trespass','antisocial',
              'other'])[1 + floor(random() * 24)::int],
       CASE WHEN r.x < 0.05 THEN 'internal' WHEN r.x < 0.10 THEN 'all' ELSE '' END,
       r.sens, CASE WHEN r.sens THEN 'minor' ELSE '' END,
       random() < 0.15, r.thr, r.thr AND random() < 0.4,
       CASE WHEN r.thr AND random() < 0.25 THEN 'knife' ELSE '' END,
       r.thr AND random() < 0.1, '',
       array_to_string(ARRAY(SELECT (%(words)s::text[])[1 + floor(random() * %(nw)s)::int]
                             FROM generate_series(1, 8 + (g %% 7)::int)), ' ') || ' and left past the tills.',
       '', round((random() * random() * 400)::numeric, 2), NULL::uuid, NULL::bigint, now(), now()
FROM b_plan p
CROSS JOIN LATERAL generate_series(p.lo, p.hi - 1) AS g
CROSS JOIN LATERAL (SELECT random() + 0 * g AS x, random() + 0 * g < 0.02 AS sens, random() + 0 * g < 0.08 AS thr) AS r
) AS rows ORDER BY 4;
"""

SQL_PARTS = """
SET synchronous_commit = off;
INSERT INTO events_eventperson (event_id, ref, role, name, aliases, age_band, gender, height_cm, build, hair, clothing, marks)
SELECT e.id, 'p' || k, CASE WHEN k = 1 THEN 'offender' ELSE 'accomplice' END,
       CASE WHEN random() < 0.7 THEN (%(first)s::text[])[1 + floor(random() * %(nf)s)::int] || ' ' ||
                                     (%(last)s::text[])[1 + floor(random() * %(nl)s)::int] ELSE '' END,
       CASE WHEN random() < 0.2 THEN ARRAY[(%(nick)s::text[])[1 + floor(random() * %(nn)s)::int]] ELSE '{}'::text[] END,
       '25-34', 'male', 150 + floor(random() * 50)::int, 'slim', 'short brown', 'black hoodie, grey trackpants', ''
FROM events_event e CROSS JOIN LATERAL generate_series(1, CASE WHEN e.id %% 5 = 0 THEN 2 ELSE 1 END) AS k
WHERE e.organisation_id IN (SELECT org_id FROM b_plan);
INSERT INTO events_eventproduct (event_id, product_id, sku, description, quantity, unit_value)
SELECT e.id, NULL, (9300000 + floor(random() * 2000)::int + 0 * k)::text, 'Bench product',
       1 + floor(random() * 4)::int, 24.99
FROM events_event e CROSS JOIN LATERAL generate_series(1, 1 + (e.id %% 2)::int) AS k
WHERE e.organisation_id IN (SELECT org_id FROM b_plan);
INSERT INTO events_eventvehicle (event_id, plate, plate_normalised, make, model, colour, person_id)
SELECT e.id, v.pl, v.pl, 'Toyota', 'Corolla', 'silver', NULL
FROM events_event e
CROSS JOIN LATERAL (SELECT chr(65 + floor(random() * 26)::int + 0 * e.id::int) || chr(65 + floor(random() * 26)::int)
                           || chr(65 + floor(random() * 26)::int) || lpad(floor(random() * 1000)::int::text, 3, '0')
                           AS pl) AS v
WHERE e.organisation_id IN (SELECT org_id FROM b_plan) AND e.id %% 10 < 3;
"""

WORDS = """filled bag razor blades walked out tills without paying concealed jacket main entrance took shelf ran
waiting car store entered hours forced rear door stockroom demanded till opened cash attempted refund receipt
match transaction pushed staff member asked check threatened shouting kicking display swore checkout operator
refused leave smashed cabinet damaged stock trespass notice loitering intimidating customers throwing trolleys seen
acting suspiciously near before leaving honey infant formula baby wipes nappies vodka whisky wine beer chocolate
butter cheese coffee beans meat lamb beef salmon perfume moisturiser sunscreen toothbrush vitamins fish oil drill
driver earbuds headphones charger lighter cigarettes gift card protein powder olive oil mince pain relief hair
straightener backpack trolley basket pram handbag sleeve pocket waistband pants boots hat cap beanie hoodie mask
gloves sunglasses scooter bike van ute hatchback sedan security guard manager duty supervisor cctv footage camera
alarm gate exit doors carpark footpath bus stop alley loading dock""".split()


def load(env: dict, n: int, reload: bool) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from accounts.models import Organisation, Store, User
    from events.models import Event
    from events.synthetic import FIRST_NAMES, LAST_NAMES, NICKNAMES, NZ_PLACES

    if Organisation.objects.filter(slug="bench-acme").exists() and not reload:
        have = Event.objects.unscoped().count()
        if have >= n:
            print(f"bench data present: {have:,} events")
            return
    print(f"loading {n:,} events …", flush=True)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE events_eventvehicle, events_eventproduct, events_eventperson, events_eventdraft, "
                    "events_event CASCADE")
    orgs = {}
    for slug, name, count, prefix in (("bench-acme", "Bench Acme", 60, "BA"), ("bench-bmart", "Bench B-Mart", 30, "BB"),
                                      ("bench-c", "Bench C", 15, "BC"), ("bench-d", "Bench D", 15, "BD")):
        org, _ = Organisation.objects.get_or_create(slug=slug, defaults={"name": name, "kind": "retailer"})
        orgs[slug] = org
        for i in range(count):
            place, region = NZ_PLACES[i % len(NZ_PLACES)]
            Store.objects.get_or_create(organisation=org, code=f"{prefix}-{i + 1:03d}",
                                        defaults={"name": f"{name} {place} {i + 1}", "region": region})
    police, _ = Organisation.objects.get_or_create(slug="bench-pol", defaults={
        "name": "Bench Police", "kind": "law_enforcement", "jurisdictions": ["AKL"]})
    acme = orgs["bench-acme"]
    store = Store.objects.filter(organisation=acme).order_by("code").first()
    for email, org, role in (("inv@bench.test", acme, "investigator"), ("staff@bench.test", acme, "store_staff"),
                             ("officer@bench.test", police, "police_officer")):
        user, _ = User.objects.get_or_create(email=email, defaults={"username": email, "organisation": org, "role": role})
        if role == "store_staff":
            user.stores.set([store])
    started = time.perf_counter()
    # One transaction: if the load fails, the dropped indexes come back with the rollback.
    with transaction.atomic(), connection.cursor() as cur:
        # Building the indexes once after the load is much faster than maintaining them row by row.
        cur.execute("""SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
                       AND tablename IN ('events_event', 'events_eventperson', 'events_eventproduct',
                                         'events_eventvehicle')
                       AND indexname NOT IN (SELECT conname FROM pg_constraint)""")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(SQL_LOAD, {"words": WORDS, "nw": len(WORDS), "n": n})
        print(f"  events: {time.perf_counter() - started:.0f} s", flush=True)
        cur.execute(SQL_PARTS, {"first": FIRST_NAMES, "nf": len(FIRST_NAMES), "last": LAST_NAMES, "nl": len(LAST_NAMES),
                                "nick": NICKNAMES, "nn": len(NICKNAMES)})
        print(f"  people, products, vehicles: {time.perf_counter() - started:.0f} s", flush=True)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred foreign-key checks now, so indexes can be built
        cur.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cur.execute(definition)
        print(f"  {len(indexes)} indexes: {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE events_event")
        cur.execute("VACUUM ANALYZE events_eventperson")
        cur.execute("VACUUM ANALYZE events_eventproduct")
        cur.execute("VACUUM ANALYZE events_eventvehicle")
    print(f"loaded in {time.perf_counter() - started:.0f} s: {Event.objects.unscoped().count():,} events", flush=True)


def client_for(email: str):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User

    user = User.objects.get(email=email)
    c = Client(HTTP_HOST="localhost")
    c.force_login(user, backend="accounts.backends.EmailBackend")
    if user.mfa_required:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="bench", confirmed=True)
        session = c.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return c


def scenarios() -> list[tuple[str, str, str]]:
    from django.utils import timezone

    from accounts.models import Store
    from events.models import Event, EventPerson, EventProduct, EventVehicle

    acme_store = Store.objects.filter(organisation__slug="bench-acme").order_by("code").first()
    sample = Event.objects.unscoped().filter(organisation__slug="bench-acme").exclude(external_id="").order_by("-id").first()
    plate = EventVehicle.objects.filter(event__organisation__slug="bench-acme").order_by("-id").first().plate
    sku = EventProduct.objects.order_by("-id").first().sku
    rare = EventPerson.objects.exclude(name="").order_by("-id").first().name
    month_ago = (timezone.now() - timezone.timedelta(days=30)).date().isoformat()
    week_ago = (timezone.now() - timezone.timedelta(days=7)).date().isoformat()
    police = "purpose=Theft+inquiry&case_reference=B-1"
    return [
        ("investigator: list, page 1", "inv@bench.test", ""),
        ("investigator: list, page 10", "inv@bench.test", "page=10"),
        ("investigator: search common surname", "inv@bench.test", "q=smith"),
        ("investigator: search first + last name", "inv@bench.test", "q=" + rare.replace(" ", "+")),
        ("investigator: search name prefix", "inv@bench.test", "q=tuil"),
        ("investigator: search alias", "inv@bench.test", "q=dazza"),
        ("investigator: search plate", "inv@bench.test", "q=" + plate),
        ("investigator: search SKU", "inv@bench.test", "q=" + sku),
        ("investigator: search external id", "inv@bench.test", "q=" + sample.external_id),
        ("investigator: search narrative words", "inv@bench.test", "q=whisky+carpark"),
        ("investigator: type robbery", "inv@bench.test", "type=robbery"),
        ("investigator: violence used + weapon", "inv@bench.test", "violence=weapon"),
        ("investigator: prevented, value 200-400", "inv@bench.test", "prevented=yes&value_min=200&value_max=400"),
        ("investigator: last 30 days at one store", "inv@bench.test", f"store={acme_store.pk}&date_from={month_ago}"),
        ("investigator: search + filters", "inv@bench.test", f"q=smith&type=theft&date_from={month_ago}"),
        ("investigator: search, last week", "inv@bench.test", f"q=honey&date_from={week_ago}"),
        ("store staff: list", "staff@bench.test", ""),
        ("store staff: search", "staff@bench.test", "q=smith"),
        ("police: list", "officer@bench.test", police),
        ("police: search", "officer@bench.test", police + "&q=smith"),
        ("police: plate", "officer@bench.test", police + "&q=" + plate),
    ]


class DbTimer:
    """Time spent in the database during a request (the rest is Python: middleware, template)."""

    def __init__(self):
        self.total = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started


def run(requests_each: int, compare_rls: bool = False) -> None:
    import django

    django.setup()
    if compare_rls:
        return run_compare_rls(requests_each)
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()  # so responses carry their context (the page's row count)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores shared with other work)")
    everything: list[float] = []
    db_everything: list[float] = []
    rows = []
    for name, email, query in scenarios():
        c = client_for(email)
        url = "/events/?" + query
        r = c.get(url)
        assert r.status_code == 200, (name, r.status_code)
        c.get(url)  # warm
        times, db_times = [], []
        for _ in range(requests_each):
            timer = DbTimer()
            t = time.perf_counter()
            with connection.execute_wrapper(timer):
                r = c.get(url)
            times.append((time.perf_counter() - t) * 1000)
            db_times.append(timer.total * 1000)
            assert r.status_code == 200
        page = r.context["page_obj"] if r.context else None
        count = (page.total if page.total is not None else f"{page.end_index}+") if page else "?"
        everything.extend(times)
        db_everything.extend(db_times)
        rows.append((name, statistics.median(times), percentile(times, 95), count))
        print(f"{name:42s} median {rows[-1][1]:6.1f} ms  p95 {rows[-1][2]:6.1f} ms   "
              f"(database: median {statistics.median(db_times):5.1f}, p95 {percentile(db_times, 95):5.1f})   "
              f"{count} events", flush=True)
    print(f"\nall {len(everything)} requests: median {statistics.median(everything):.1f} ms, "
          f"p95 {percentile(everything, 95):.1f} ms, max {max(everything):.1f} ms; time in the database: "
          f"median {statistics.median(db_everything):.1f} ms, p95 {percentile(db_everything, 95):.1f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def run_compare_rls(requests_each: int) -> None:
    """Each scenario's requests with row-level security on and off in turn (on, off, on, off ...),
    the same process, database and data: the backstop's cost per request (issue 11)."""
    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores shared with other work)")
    alls: dict[bool, list[float]] = {True: [], False: []}
    for name, email, query in scenarios():
        c = client_for(email)
        url = "/events/?" + query
        for on in (True, False):  # warm both
            settings.AUROR_RLS = on
            assert c.get(url).status_code == 200
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(requests_each):
            for on in (True, False):
                settings.AUROR_RLS = on
                t = time.perf_counter()
                r = c.get(url)
                times[on].append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
        for on in (True, False):
            alls[on].extend(times[on])
        print(f"{name:42s} RLS on: median {statistics.median(times[True]):6.1f} ms p95 {percentile(times[True], 95):6.1f}"
              f" | off: median {statistics.median(times[False]):6.1f} ms p95 {percentile(times[False], 95):6.1f}"
              f" | on/off {statistics.median(times[True]) / statistics.median(times[False]):.3f}", flush=True)
    settings.AUROR_RLS = True
    on, off = alls[True], alls[False]
    print(f"\nall {len(on)} requests each: RLS on median {statistics.median(on):.1f} ms, p95 {percentile(on, 95):.1f} ms;"
          f" off median {statistics.median(off):.1f} ms, p95 {percentile(off, 95):.1f} ms;"
          f" on/off medians {statistics.median(on) / statistics.median(off):.3f}, p95 {percentile(on, 95) / percentile(off, 95):.3f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=40, help="timed requests per scenario")
    ap.add_argument("--reload", action="store_true")
    ap.add_argument("--compare-rls", action="store_true",
                    help="each request with row-level security on and off in turn, and their ratio (issue 11)")
    args = ap.parse_args()
    env = bench_env(DB_NAME)
    os.environ.update(env)
    ensure_database(env)
    load(env, args.events, args.reload)
    run(args.requests, compare_rls=args.compare_rls)


if __name__ == "__main__":
    main()
