"""Splink 5 (DuckDB) on the same records as our engine, for bench/matching_quality.py.

The event people are exported from PostgreSQL to a pandas frame with the preprocessing a Splink
user would do (lower case; the name split into first name and surname, "Surname, Given" swapped;
plates upper case without spaces or dashes; marks, clothing and hair as word arrays; products as a
SKU array), then a model with comparisons for every feature, term-frequency adjustments on names
and plates, u by random sampling, m by EM over several blocking rules, λ from deterministic rules,
and predictions over blocking rules on names, plates, marks and aliases. Nothing from the truth is
used here; the caller scores the predictions.
"""

from __future__ import annotations

import re

STOP = set(("a an and the of on in with at to his her their left right upper lower small large big has had wearing "
            "wore looked look like possibly maybe about above below under near side").split())
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return sorted({w for w in _WORD.findall((text or "").lower()) if w not in STOP and len(w) > 1}) or None


def export_frame(person_ids: list[int]):
    """One row per event person: the columns Splink compares."""
    import pandas as pd
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT p.id, p.name, p.aliases, p.age_band, p.gender, p.height_cm, p.build, p.hair, p.clothing, p.marks,
                      s.code, s.region, e.occurred_at::date::text, e.id,
                      (SELECT COUNT(*) FROM events_eventperson q WHERE q.event_id = p.event_id
                         AND q.role IN ('offender', 'accomplice'))
               FROM events_eventperson p JOIN events_event e ON e.id = p.event_id JOIN accounts_store s ON s.id = e.store_id
               WHERE p.id = ANY(%s)""", [person_ids])
        people = cur.fetchall()
        event_ids = list({r[13] for r in people})
        cur.execute("SELECT event_id, person_id, plate_normalised FROM events_eventvehicle "
                    "WHERE event_id = ANY(%s) AND plate_normalised <> ''", [event_ids])
        vehicles = cur.fetchall()
        cur.execute("SELECT event_id, array_agg(DISTINCT sku) FROM events_eventproduct WHERE event_id = ANY(%s) "
                    "AND sku <> '' GROUP BY event_id", [event_ids])
        skus = dict(cur.fetchall())
    plate_of: dict[int, str] = {}
    unlinked: dict[int, str] = {}
    for event_id, person_id, plate in vehicles:
        if person_id:
            plate_of.setdefault(person_id, plate)
        else:
            unlinked.setdefault(event_id, plate)
    rows = []
    for pid, name, aliases, age, gender, height, build, hair, clothing, marks, store, region, day, event_id, n in people:
        text = (name or "").strip().lower()
        if "," in text:
            last, _, first = text.partition(",")
            text = f"{first.strip()} {last.strip()}"
        tokens = _WORD.findall(text)
        first = tokens[0] if tokens else None
        surname = tokens[-1] if len(tokens) > 1 else None
        plate = plate_of.get(pid) or (unlinked.get(event_id) if n == 1 else None)
        rows.append({
            "unique_id": pid, "first_name": first, "surname": surname,
            "alias": (aliases[0].lower() if aliases else None),
            "age_band": age or None, "gender": gender if gender not in ("", "unknown") else None,
            "height_cm": height, "build": build or None, "hair": _words(hair), "clothing": _words(clothing),
            "marks": _words(marks), "plate": plate, "skus": sorted(skus.get(event_id) or []) or None,
            "store": store, "region": region, "occurred": day,
        })
    frame = pd.DataFrame(rows)
    frame["height_cm"] = frame["height_cm"].astype("float")
    return frame


def settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    height = cl.CustomComparison(output_column_name="height_cm", comparison_levels=[
        cll.NullLevel("height_cm"),
        cll.CustomLevel("abs(height_cm_l - height_cm_r) <= 5", "within 5 cm"),
        cll.CustomLevel("abs(height_cm_l - height_cm_r) <= 12", "within 12 cm"),
        cll.ElseLevel(),
    ])
    place = cl.CustomComparison(output_column_name="place", comparison_levels=[
        cll.CustomLevel("store_l = store_r", "same store"),
        cll.CustomLevel("region_l = region_r", "same region"),
        cll.ElseLevel(),
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.ExactMatch("alias").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("plate", [1]).configure(term_frequency_adjustments=True),
            cl.ArrayIntersectAtSizes("marks", [3, 1]),
            cl.ExactMatch("age_band"),
            cl.ExactMatch("gender"),
            height,
            cl.ExactMatch("build"),
            cl.ArrayIntersectAtSizes("hair", [2, 1]),
            cl.ArrayIntersectAtSizes("clothing", [3, 1]),
            cl.ArrayIntersectAtSizes("skus", [1]),
            place,
            cl.AbsoluteDateDifferenceAtThresholds("occurred", input_is_string=True, metrics=["day", "day"],
                                                  thresholds=[7, 92]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("surname"),
            block_on("first_name", "region"),
            block_on("plate"),
            block_on("substr(plate, 1, 3)", "region"),
            block_on("alias"),
            block_on("marks", arrays_to_explode=["marks"]),
            block_on("skus", "store", arrays_to_explode=["skus"]),
        ],
        retain_matching_columns=False,
    )


def _em(linker, rules, notes: list[str] | None) -> None:
    """EM sessions over these blocking rules. Splink refuses a session whose m underflows (a level
    never seen among the pairs a rule blocks); a Splink user would drop that session, so it is
    dropped and said."""
    for rule in rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except ValueError as exc:
            if notes is not None:
                notes.append(f"splink EM on {rule.get_blocking_rule('duckdb').blocking_rule_sql} skipped: "
                             f"{str(exc).split('. ')[0]}")


def run_splink(person_ids: list[int], *, seed: int = 42, notes: list[str] | None = None) -> list[tuple[int, int, float]]:
    """Train Splink on these event people and return its scored pairs (a, b, match probability)."""
    import logging

    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    frame = export_frame(person_ids)
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings(), log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "age_band"), block_on("plate")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    _em(linker, (block_on("surname"), block_on("plate"), block_on("store", "age_band", "gender"),
                 block_on("first_name", "region")), notes)
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    return [(int(a), int(b), float(p)) for a, b, p in
            predictions[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(index=False)]


# --- FEBRL1-3 (dedupe), the same records our core deduplicates (matching.febrl) -----------------------


def febrl_settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("postcode", [1]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("state"),
            cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("date_of_birth"), block_on("soc_sec_id"),
            block_on("postcode"), block_on("suburb"),
        ],
        retain_matching_columns=False,
    )


def run_splink_febrl(records, *, seed: int = 42, notes: list[str] | None = None) -> list[tuple[int, int, float]]:
    """Train Splink on FEBRL records (matching.febrl.FebrlRecord: the fields our core compares, blanks
    as nulls) and return its scored pairs (index, index, match probability), p ≥ 0.01."""
    import logging

    import pandas as pd
    from splink import DuckDBAPI, Linker, block_on

    from matching.febrl import FIELDS

    logging.getLogger("splink").setLevel(logging.ERROR)
    frame = pd.DataFrame([{"unique_id": i, **{f: (r.values[f] or None) for f in FIELDS}} for i, r in enumerate(records)])
    linker = Linker(DuckDBAPI().register(frame), febrl_settings(), log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id", "date_of_birth"), block_on("given_name", "surname", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    _em(linker, (block_on("date_of_birth"), block_on("given_name", "surname"), block_on("postcode")), notes)
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    return [(int(a), int(b), float(p)) for a, b, p in
            predictions[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(index=False)]
