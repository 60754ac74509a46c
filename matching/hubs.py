"""Hubs: blocking-key values shared by too many people to find candidates by (matching_hubkey),
met and stored as searches find them, and counted in full by `refresh_hubs` (after a rematch stores
its keys, and nightly). The candidate search that reads them is matching.engine.CANDIDATE_SQL."""

from __future__ import annotations

from django.db import transaction

from matching.records import raw_cursor

# A hub newly met, per organisation: (organisation id, kind, value, rows, entities).
HubCount = tuple[int, str, str, int, int]


def _identity_hub_counts(keys: set[tuple[str, str]], organisation_ids: list[int]) -> list[HubCount]:
    """Exact rows and entities per organisation of newly met name, plate or mark hubs: a hub's
    frequency still weighs an agreement found through another key, so "John Smith" counts for little."""
    if not keys:
        return []
    kinds, values = zip(*sorted(keys), strict=True)
    with raw_cursor() as cur:
        cur.execute(
            """SELECT b.organisation_id, b.kind, b.value, COUNT(*),
                      COUNT(DISTINCT COALESCE(b.profile_id, b.signature, -b.person_id))
               FROM matching_blockingkey b
               JOIN unnest(%s::text[], %s::text[]) AS w(kind, value) ON b.kind = w.kind AND b.value = w.value
               WHERE b.organisation_id = ANY(%s) GROUP BY b.organisation_id, b.kind, b.value""",
            [list(kinds), list(values), organisation_ids])
        return [tuple(r) for r in cur.fetchall()]


HUB_UPSERT_SQL = """
INSERT INTO matching_hubkey (organisation_id, kind, value, rows, entities, counted_at)
SELECT org, kind, value, n, entities, now()
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::int[]) AS h(org, kind, value, n, entities)
ORDER BY kind, value, org
ON CONFLICT (kind, value, organisation_id) DO UPDATE
SET rows = GREATEST(matching_hubkey.rows, EXCLUDED.rows), entities = GREATEST(matching_hubkey.entities, EXCLUDED.entities),
    counted_at = EXCLUDED.counted_at
"""


def remember_hubs(counts: list[HubCount]) -> None:
    """Store newly met hubs, so that no later search reads their rows again (counts only grow here;
    refresh_hubs makes them exact)."""
    largest: dict[tuple[int, str, str], tuple[int, int]] = {}
    for org, kind, value, n, entities in counts:  # one row per hub: an upsert may not touch a row twice
        seen = largest.get((org, kind, value), (0, 0))
        largest[(org, kind, value)] = (max(seen[0], n), max(seen[1], entities))
    if largest:
        rows = [(*k, *v) for k, v in sorted(largest.items())]
        with raw_cursor() as cur:
            cur.execute(HUB_UPSERT_SQL, [list(col) for col in zip(*rows, strict=True)])


REFRESH_HUBS_SQL = """
WITH caps AS (SELECT * FROM unnest(%(orgs)s::bigint[], %(floors)s::int[], %(row_caps)s::int[]) AS c(org, floor, row_cap)),
counted AS (
    SELECT b.organisation_id AS org, b.kind, b.value, COUNT(*) AS n,
           COUNT(DISTINCT COALESCE(b.profile_id, b.signature, -b.person_id)) AS entities
    FROM matching_blockingkey b WHERE b.organisation_id = ANY(%(orgs)s)
    GROUP BY b.kind, b.value, b.organisation_id HAVING COUNT(*) > %(min_floor)s
),
hubs AS (SELECT counted.* FROM counted JOIN caps ON caps.org = counted.org
         WHERE counted.entities > caps.floor OR counted.n >= caps.row_cap),
gone AS (
    DELETE FROM matching_hubkey h WHERE h.organisation_id = ANY(%(orgs)s)
    AND NOT EXISTS (SELECT 1 FROM hubs WHERE hubs.org = h.organisation_id AND hubs.kind = h.kind AND hubs.value = h.value)
)
INSERT INTO matching_hubkey (organisation_id, kind, value, rows, entities, counted_at)
SELECT org, kind, value, n, entities, now() FROM hubs ORDER BY kind, value, org
ON CONFLICT (kind, value, organisation_id) DO UPDATE
SET rows = EXCLUDED.rows, entities = EXCLUDED.entities, counted_at = EXCLUDED.counted_at
"""


def refresh_hubs(*organisation_ids: int) -> int:
    """Count every hub of these retailers in one pass over the blocking keys (rematch, after storing
    the keys; nightly, as hubs grow and retention shrinks them): exact sizes, and values no longer
    shared by many forgotten. Returns the hubs stored."""
    if not organisation_ids:
        return 0
    from matching.engine import _row_cap, settings_for

    caps = {org: settings_for(org).hub_cap for org in organisation_ids}
    orgs = sorted(caps)
    with transaction.atomic(), raw_cursor() as cur:
        cur.execute(REFRESH_HUBS_SQL, {
            "orgs": orgs, "floors": [caps[o] + 1 for o in orgs],
            "row_caps": [_row_cap(caps[o]) for o in orgs],
            "min_floor": min(caps.values()) + 1})
        n = cur.rowcount
        cur.execute("ANALYZE matching_hubkey")  # the table may have gone from nothing to thousands of rows
        return n
