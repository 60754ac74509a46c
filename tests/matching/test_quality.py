"""The synthetic world with ground truth, the batched rematch, the shared Fellegi–Sunter core on
FEBRL4, and the comparison levels the quality figures rest on."""

from __future__ import annotations

import collections
import datetime as dt
import functools
import re

import pytest
from django.core.cache import cache
from django.db import transaction

from events.models import Event, EventPerson
from matching import synthetic
from matching.engine import RunMemory, index_events, run_match_state, run_match_states
from matching.models import BlockingKey, MatchState, Suggestion
from matching.records import load_records
from matching.scoring import RETAIL, Level, Params, compare
from matching.services import index_organisation, pending_events, rematch_organisation


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture(scope="module")
def small_world():
    return synthetic.generate(250, seed=11)


def _matched(world):
    return {(e["external_id"], p["ref"]) for e in world.events for p in e["persons"]
            if p["role"] in ("offender", "accomplice")}


# --- The generator -------------------------------------------------------------------------------


def test_generator_is_deterministic_for_a_seed(small_world):
    again = synthetic.generate(250, seed=11)
    assert again.events == small_world.events
    assert {k: t.as_dict() for k, t in again.truth.items()} == {k: t.as_dict() for k, t in small_world.truth.items()}
    other = synthetic.generate(250, seed=12)
    assert other.events != small_world.events


def test_noise_knobs_at_their_defaults_leave_a_seeds_world_as_it_was(small_world):
    defaults = synthetic.WorldConfig(events=250, **{k: 1.0 for k in synthetic.NOISE_KNOBS})
    assert synthetic.generate(250, seed=11, config=defaults).events == small_world.events
    assert all(getattr(synthetic.WorldConfig(), k) == 1.0 for k in synthetic.NOISE_KNOBS)
    noisy = synthetic.WorldConfig(events=250, **{k: 2.0 for k in synthetic.NOISE_KNOBS})
    assert synthetic.generate(250, seed=11, config=noisy).events == synthetic.generate(250, seed=11, config=noisy).events
    assert synthetic.generate(250, seed=11, config=noisy).events != small_world.events


def _records(world):
    for e in world.events:
        for p in e["persons"]:
            if p["role"] in ("offender", "accomplice"):
                yield e, p, world.truth[(e["external_id"], p["ref"])]


def _name_parts(t):
    given, family = t.name.split(" ", 1)
    return given, family


def _nickname_share(world):
    """Of recorded "Given Family" names with the true family name, those not using the true given name."""
    full = [(p["name"].lower().split(), _name_parts(t)) for _, p, t in _records(world) if p["name"] and t.name]
    full = [(tokens, (given, family)) for tokens, (given, family) in full
            if len(tokens) >= 2 and " ".join(tokens[1:]) == family]
    return sum(tokens[0] != given for tokens, (given, _) in full) / len(full)


def _typo_share(world):
    """Recorded names with a word that is neither part of the true name nor one of its usual short forms."""
    n = hit = 0
    for _, p, t in _records(world):
        if p["name"] and t.name:
            given, family = _name_parts(t)
            ok = {given, *family.split(), *synthetic.MALE_GIVEN.get(given, []), *synthetic.FEMALE_GIVEN.get(given, []),
                  "lee", "jay", "ann", "marie", "james", "john"}
            n += 1
            hit += any(w not in ok for w in p["name"].lower().replace(",", " ").split() if len(w) > 1)
    return hit / n


def _missing_share(world):
    values = [p[f] for _, p, _ in _records(world) for f in ("age_band", "gender", "height_cm", "build", "hair", "clothing")]
    return sum(v in ("", None) for v in values) / len(values)


def _plate_share(world):
    """Recorded plates not written exactly as the true plate."""
    seen = [(v["plate"], world.truth[(e["external_id"], "p1")].vehicle) for e in world.events for v in e["vehicles"]]
    return sum(text != true for text, true in seen if true) / sum(1 for _, true in seen if true)


def _drift_share(world):
    """Age bands, builds and hair given that differ from the person's own."""
    people = {p.id: p for p in world.people}
    pairs = [(p[f], getattr(people[t.person], f)) for _, p, t in _records(world) if t.person in people
             for f in ("age_band", "build", "hair") if p[f]]
    return sum(a != b for a, b in pairs) / len(pairs)


def _mark_wordings(world):
    """Entropy (bits) of the wordings marks are written in, the mark's own words taken out."""
    import math
    import re

    people = {p.id: p for p in world.people}
    forms = collections.Counter()
    for _, p, t in _records(world):
        if t.person in people and t.marks:
            shown = [m for m in people[t.person].marks if m.id in t.marks]
            texts = p["marks"].split("; ")
            if len(texts) != len(shown):
                continue  # two alike marks, one of them seen: which text is which is not known
            for m, text in zip(shown, texts, strict=True):
                for value, slot in ((m.obj, "{obj}"), (m.place, "{place}"), (m.side, "{side}")):
                    text = re.sub(rf"\b{re.escape(value)}\b", slot, text) if value else text
                forms[(m.kind, text)] += 1
    total = sum(forms.values())
    return -sum(c / total * math.log2(c / total) for c in forms.values())


KNOB_MEASURES = {"name_typos": _typo_share, "nicknames": _nickname_share, "missing_fields": _missing_share,
                 "mark_paraphrase": _mark_wordings, "plate_noise": _plate_share, "descriptor_drift": _drift_share}


@pytest.fixture(scope="module")
def knob_base():
    return synthetic.generate(1500, seed=7)


@functools.cache
def _at(knob, value):
    return synthetic.generate(1500, seed=7, config=synthetic.WorldConfig(events=1500, **{knob: value}))


@pytest.mark.parametrize("knob", synthetic.NOISE_KNOBS)
def test_each_noise_knob_changes_what_it_says(knob, knob_base):
    assert set(KNOB_MEASURES) == set(synthetic.NOISE_KNOBS)
    measure = KNOB_MEASURES[knob]
    half, default, double = measure(_at(knob, 0.5)), measure(knob_base), measure(_at(knob, 2.0))
    assert half < 0.9 * default and default < 0.9 * double, (half, default, double)
    # The other kinds of noise stay about where they were.
    for other, m in KNOB_MEASURES.items():
        if other not in (knob, "name_typos") and not (knob == "name_typos" and other == "nicknames"):
            assert m(_at(knob, 2.0)) == pytest.approx(m(knob_base), rel=0.25), other


def test_double_noise_brings_in_wider_habits(knob_base):
    def given_names(world):
        return {p["name"].lower().split()[0] for _, p, t in _records(world)
                if p["name"] and t.name and p["name"].lower().split()[0] != _name_parts(t)[0]}

    usual = {n for names in (*synthetic.MALE_GIVEN.values(), *synthetic.FEMALE_GIVEN.values()) for n in names}
    assert given_names(_at("nicknames", 2.0)) - usual - given_names(knob_base)  # "shelly", "jessie", "robbo"…
    marks = [p["marks"] for _, p, _ in _records(_at("mark_paraphrase", 2.0)) if p["marks"]]
    assert any(re.search(r"\b\w+ tattoo \(", m) for m in marks)  # "neck tattoo (snake)"
    assert any(re.search(r"tattoo (left|right) \w+", m) for m in marks)  # "star tattoo left hand"
    plates = [v["plate"] for e in _at("plate_noise", 2.0).events for v in e["vehicles"]]
    assert any(re.fullmatch(r"[a-z0-9]{3} [a-z0-9]+", p) for p in plates)  # "rux 246"


def test_the_generator_knows_nothing_of_the_matchers_tables():
    """The noise is the generator's own: it imports none of the matcher's normalisation, keys,
    scoring or nickname data (a matcher tuned to its generator would be measured on its own answers)."""
    import ast
    from pathlib import Path

    root = Path(synthetic.__file__).parent
    refused = ("matching.normalise", "matching.keys", "matching.scoring", "matching.records", "matching.weights",
               "matching.engine", "nicknames")
    for name in ("synthetic.py", "synthetic_vocab.py", "synthetic_quality.py"):
        source = (root / name).read_text()
        tree = ast.parse(source)
        imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in imported if m.startswith(refused)}, (name, imported)
        assert "nicknames.txt" not in source and "matching/data" not in source.replace("matching/data/,", "")


def test_every_event_person_has_a_true_identity(small_world):
    refs = {(e["external_id"], p["ref"]) for e in small_world.events for p in e["persons"]}
    assert refs == set(small_world.truth)
    assert len({e["external_id"] for e in small_world.events}) == len(small_world.events) == 250
    for e in small_world.events:
        assert {p["ref"] for p in e["persons"]} == {f"p{i + 1}" for i in range(len(e["persons"]))}
        for p in e["persons"]:
            t = small_world.truth[(e["external_id"], p["ref"])]
            # A recorded name stands for a true name; no name recorded, no name in the truth.
            assert bool(t.name) == bool(p["name"] or p["aliases"])
            assert bool(t.marks) <= bool(p["marks"])
    stamps = [e["occurred_at"] for e in small_world.events]
    assert stamps == sorted(stamps)


def test_repeat_offending_is_skewed_and_noisy():
    world = synthetic.generate(3000, seed=3)
    counts = collections.Counter(world.truth[k].person for k in _matched(world))
    top = counts.most_common()
    assert top[0][1] >= 20  # a prolific offender
    assert sum(1 for _, n in top if n == 1) > len(top) / 2  # most people are seen once
    # The same person is described differently from event to event.
    names = collections.defaultdict(set)
    for e in world.events:
        for p in e["persons"]:
            if p["name"]:
                names[world.truth[(e["external_id"], p["ref"])].person].add(p["name"])
    assert names[top[0][0]] and max(len(v) for v in names.values()) >= 3


def test_hard_negatives_are_there():
    world = synthetic.generate(3000, seed=3)
    by_name = collections.defaultdict(set)
    by_plate = collections.defaultdict(set)
    for key in _matched(world):
        t = world.truth[key]
        if t.name:
            by_name[t.name].add(t.person)
        if t.vehicle:
            by_plate[t.vehicle].add(t.person)
    assert any(len(people) >= 3 for people in by_name.values())  # "John Smith" is several people
    shared = [plate for plate, people in by_plate.items() if len(people) >= 2]
    assert shared  # a family car or a hire car
    families = [p for p in world.people if p.family_id is not None]
    assert families and any(len({m.family for m in families if m.family_id == f.family_id}) == 1 for f in families)
    groups = collections.defaultdict(set)
    for p in world.people:
        if p.group_id is not None:
            groups[p.group_id].update(s.split("-")[0] for s in p.stores)
    assert any(len(retailers) > 1 for retailers in groups.values())  # groups across retailers


def test_plates_arrive_with_ocr_confusions_and_typing_noise():
    world = synthetic.generate(3000, seed=3)
    seen = collections.defaultdict(set)
    for e in world.events:
        for v in e["vehicles"]:
            seen[world.truth[(e["external_id"], "p1")].vehicle or "?"].add(v["plate"])
    variants = [plates for true, plates in seen.items() if true != "?" and len(plates) > 1]
    assert variants
    folded = [true for true, plates in seen.items() if true != "?" and any(
        p.replace(" ", "").replace("-", "").upper() != true for p in plates)]
    assert folded


def test_evaluate_counts_cards_people_and_the_gate_subset():
    t = {1: synthetic.Truth(person=10, name="john smith"), 2: synthetic.Truth(person=10, name="john smith"),
         3: synthetic.Truth(person=11, name="john smith"), 4: synthetic.Truth(person=12),
         5: synthetic.Truth(person=12)}
    events = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    q = synthetic.evaluate([(2, 1), (3, 1)], t, events)
    assert (q.suggestions, q.correct, q.linkable, q.found) == (2, 1, 4, 2)
    assert q.precision == 0.5 and q.recall == 0.5
    # Both cards share a name: one true match, one hard negative ("John Smith" twice).
    assert (q.gate_suggestions, q.gate_correct, q.gate_linkable, q.gate_found) == (2, 1, 2, 2)
    cards = synthetic.top_per_person([(1, 2, 0.9), (1, 3, 0.6), (4, 5, 0.4)], threshold=0.5, top=1)
    assert cards == [(1, 2), (1, 3)]  # 3's best is 1, though 1's best is 2


# --- Writing a world, rematching it ---------------------------------------------------------------


def _load(world, *, opt_in: bool = False):
    synthetic.setup_retailers(world, ctd_opt_in=opt_in)
    return synthetic.load(world)


@pytest.mark.django_db
def test_load_writes_every_event_and_person(small_world):
    ids = _load(small_world)
    assert Event.objects.unscoped().count() == 250
    assert set(ids) == set(small_world.truth)
    assert EventPerson.objects.count() == len(ids)
    e = small_world.events[0]
    stored = Event.objects.unscoped().get(external_id=e["external_id"])
    assert stored.store.code == e["store"]
    assert [p.name for p in stored.persons.order_by("ref")] == [p["name"] for p in e["persons"]]
    assert stored.total_value > 0 or not e["products"]


def _snapshot():
    return sorted((s.person_id, s.target_person_id, s.target_profile_id, round(s.score, 6), s.status,
                   [(r["feature"], r.get("level"), r["weight"]) for r in s.reasons])
                  for s in Suggestion.objects.unscoped().all())


@pytest.mark.django_db
def test_batched_rematch_equals_one_event_at_a_time(small_world):
    _load(small_world)
    slug = next(iter(small_world.retailers))
    from accounts.models import Organisation

    org = Organisation.objects.unscoped().get(slug=slug)
    index_organisation(organisation_id=org.pk)
    order = pending_events(org.pk)
    assert len(order) > 40
    for event_id in order:  # the Celery job's path, one event at a time
        assert run_match_state(event_id)
    one_by_one = _snapshot()
    assert len(one_by_one) > 20

    Suggestion.objects.unscoped().all().delete()
    MatchState.objects.update(status=MatchState.Status.PENDING)
    assert rematch_organisation(organisation_id=org.pk, batch=37) == len(order)
    assert _snapshot() == one_by_one
    # Idempotent: nothing left to do, nothing changes.
    assert rematch_organisation(organisation_id=org.pk) == 0
    assert _snapshot() == one_by_one


@pytest.mark.django_db(transaction=True)
def test_rematch_reading_ahead_in_another_thread_equals_one_event_at_a_time(small_world, monkeypatch):
    """Outside a transaction, rematch reads the next batch ahead on another connection while it
    scores the current one: the suggestions are the same as one event at a time."""
    import matching.engine as engine

    _load(small_world)
    from accounts.models import Organisation

    org = Organisation.objects.unscoped().get(slug=next(iter(small_world.retailers)))
    index_organisation(organisation_id=org.pk)
    order = pending_events(org.pk)
    for event_id in order:
        assert run_match_state(event_id)
    one_by_one = _snapshot()
    assert len(one_by_one) > 20

    used = []
    real = engine.prepare_ahead

    def spy(event_ids, *, memory):
        prepared = real(event_ids, memory=memory)
        used.append(prepared is not None)
        return prepared

    monkeypatch.setattr(engine, "prepare_ahead", spy)
    Suggestion.objects.unscoped().all().delete()
    MatchState.objects.update(status=MatchState.Status.PENDING)
    assert rematch_organisation(organisation_id=org.pk, batch=37) == len(order)
    assert len(used) >= 2 and all(used)  # every batch was read ahead, and the read-ahead was used
    assert _snapshot() == one_by_one


@pytest.mark.django_db
def test_a_killed_batch_leaves_its_events_pending_and_nothing_written(small_world):
    _load(small_world)
    from accounts.models import Organisation

    org = Organisation.objects.unscoped().get(slug=next(iter(small_world.retailers)))
    index_organisation(organisation_id=org.pk)
    batch = pending_events(org.pk)[:60]

    class Killed(Exception):
        pass

    with pytest.raises(Killed), transaction.atomic():
        assert run_match_states(batch, memory=RunMemory()) == sorted(batch)
        assert Suggestion.objects.unscoped().exists()
        raise Killed  # the worker dies before its transaction commits
    assert not Suggestion.objects.unscoped().exists()
    assert set(MatchState.objects.filter(event_id__in=batch).values_list("status", flat=True)) == {"pending"}
    assert run_match_states(batch) == sorted(batch)  # redelivered: done now
    assert not MatchState.objects.filter(event_id__in=batch).exclude(status="done").exists()


@pytest.mark.django_db
def test_rematch_with_estimation_finds_most_repeat_offenders():
    """A regression guard on a small world (the figures come from bench/matching_quality.py)."""
    world = synthetic.generate(700, seed=5)
    ids = _load(world)
    from accounts.models import Organisation

    for org in Organisation.objects.unscoped().filter(slug__in=list(world.retailers)):
        index_organisation(organisation_id=org.pk)
    for org in Organisation.objects.unscoped().filter(slug__in=list(world.retailers)):
        rematch_organisation(organisation_id=org.pk, estimate=True)
    truth_of, event_of = {}, {}
    for key in _matched(world):
        truth_of[ids[key]] = world.truth[key]
        event_of[ids[key]] = key[0]
    pairs = list(Suggestion.objects.unscoped().exclude(status="superseded").filter(target_person__isnull=False)
                 .values_list("person_id", "target_person_id"))
    q = synthetic.evaluate(pairs, truth_of, event_of)
    assert q.gate_precision >= 0.85 and q.gate_recall >= 0.8, q
    assert q.precision >= 0.75 and q.recall >= 0.6, q


# --- Comparison levels ------------------------------------------------------------------------------


def _rec(name="", **extra):
    from matching.records import PersonRecord, record_from_values

    values = {"id": extra.pop("id", 1), "event_id": extra.pop("event_id", 1), "role": "offender", "name": name,
              "aliases": extra.pop("aliases", []), "age_band": "", "gender": "", "height_cm": None, "build": "",
              "hair": "", "clothing": "", "marks": extra.pop("marks", ""), "event__organisation_id": 1,
              "event__store_id": 1, "event__store__region": "AKL",
              "event__occurred_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "profile_member__profile_id": None}
    rec: PersonRecord = record_from_values(values)
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def _level(a, b, feature):
    return next(lv for lv in compare(a, b) if lv.feature == feature).level


@pytest.mark.parametrize(("a", "b", "level"), [
    ("John Smith", "Jon Smith", "nickname"),  # a nickname of the same name
    ("Shelly Ngata", "Michelle Ngata", "nickname"),  # a diminutive with another initial
    ("Jess Brown", "JESSICA BROWN", "nickname"),  # and another case
    ("Mick Tane", "Mike Tane", "nickname"),  # two nicknames of one name
    ("Jonno Tipene", "John Tipene", "nickname"),  # a New Zealand form (the local supplement)
    ("Shelly Ngata", "Michelle Ngaat", "partial"),  # a nickname, the family name misspelled
    ("Smith, John", "John Smith", "exact"),  # surname first
    ("John Smith", "John Smyth", "phonetic"),
    ("Andrew Wirght", "Andrew Wright", "fuzzy"),  # a transposition that changes the sound
    ("J Smith", "John Smith", "partial"),  # an initial
    ("Craig Harris", "Joseph Harris", "family"),  # brothers: the given names conflict
    ("Gus Wilson", "Gus Harrison", "else"),  # a shared start is not a spelling
])
def test_name_levels(a, b, level):
    assert _level(_rec(a), _rec(b), "name") == level


def test_plate_and_mark_levels():
    a = _rec(plates={"A8C123": "ABC123"}, marks="scar on left chin; tattoo of a rose on right hand")
    assert _level(a, _rec(plates={"A8C123": "A8C123"}), "plate") == "ocr"
    assert _level(a, _rec(plates={"A8C723": "ABC723"}), "plate") == "near"
    assert _level(a, _rec(plates={"XYZ999": "XYZ999"}), "plate") == "else"
    assert _level(a, _rec(marks="chin scar"), "mark") == "place"
    assert _level(a, _rec(marks="rose tattoo, right hand"), "mark") == "strong"
    assert _level(a, _rec(marks="rose tat on neck"), "mark") == "some"
    assert _level(a, _rec(marks="nose ring"), "mark") == "else"
    # Word order, stop words and punctuation say nothing; a side said by both does.
    neck = _rec(marks="neck tattoo (snake)")
    assert _level(neck, _rec(marks="tattoo of a snake, neck"), "mark") == "strong"
    assert _level(neck, _rec(marks="snake tattoo on neck"), "mark") == "strong"
    star = _rec(marks="star tattoo left hand")
    assert _level(star, _rec(marks="tattoo of a star on left hand"), "mark") == "strong"
    assert _level(star, _rec(marks="tattoo of a star on the back of his hand"), "mark") == "strong"
    assert _level(star, _rec(marks="star tattoo, right hand"), "mark") == "some"
    assert _level(_rec(marks="rose tattoo on hand"), _rec(marks="skull tattoo on hand"), "mark") == "else"


def test_prior_follows_the_number_of_records_and_hubs_weigh_little():
    p = Params.default()
    assert p.for_population(1001).prior == pytest.approx(p.matches_per_record / 1000)
    assert p.for_population(100_001).prior < p.for_population(1001).prior
    lv = Level("plate", "exact", "", ("plate", "H1RE01"))
    rare = p.weight(lv, {("plate", "H1RE01"): (1, 10)})
    hub = p.weight(lv, {("plate", "H1RE01"): (8, 10, True)})
    assert hub < 0.5 < rare  # shared by most records: no evidence; a rare plate in a small store: shrunk, still evidence


# --- The shared Fellegi–Sunter core on FEBRL4 ----------------------------------------------------


def test_febrl4_slice_through_the_shared_core():
    from matching import febrl
    from matching.weights import em

    result = febrl.febrl4_quality(limit=400)
    assert result["true_links"] == 400
    assert result["f1"] >= 0.97, result
    assert febrl.FEBRL.levels is not RETAIL.levels and febrl.em is em  # one EM, two models


def test_febrl1_dedupe_through_the_shared_core():
    from matching import febrl

    result = febrl.dedupe_quality(1)
    assert (result["records"], result["linkable"]) == (1000, 1000)  # 500 originals, one duplicate each
    assert result["f1"] >= 0.97 and result["cards"] <= 5 * result["records"], result
    with pytest.raises(ValueError, match="number"):
        febrl.load_dedupe(4)


def test_febrl_comparisons_name_swaps_one_address_and_a_prior_over_all_pairs():
    from matching import febrl

    def rec(**values):
        return febrl.FebrlRecord("rec-1-org", {f: values.get(f, "") for f in febrl.FIELDS})

    a = rec(given_name="georgia", surname="pettigrove", street_number="154", address_1="badimara street")
    swapped = rec(given_name="pettigrove", surname="georgia", street_number="154", address_1="badimara street")
    levels = {lv.feature: lv.level for lv in febrl.compare(a, swapped)}
    assert levels["given_name"] == levels["surname"] == "exact"  # family name first on one form
    assert levels["address"] == "exact" and "street_number" not in levels and "address_1" not in levels
    other = rec(given_name="georgia", surname="mason", street_number="92", address_1="badimara street")
    levels = {lv.feature: lv.level for lv in febrl.compare(a, other)}
    assert (levels["surname"], levels["address"]) == ("else", "street")
    assert levels["date_of_birth"] == "null"  # missing on both: unknown, never a disagreement
    dob = {lv.feature: lv.level for lv in febrl.compare(rec(date_of_birth="19540225"), rec(date_of_birth="19540252"))}
    assert dob["date_of_birth"] == "one_edit"  # a transposed pair of digits

    # The prior is the share of matches among all pairs (u comes from random pairs), not among the
    # candidates: FEBRL1 has 500 true pairs among 1000 × 999 / 2.
    result = febrl.dedupe_quality(1)
    assert 0.5 * 500 / 499_500 < result["prior"] < 2 * 500 / 499_500, result


@pytest.mark.django_db
def test_the_quality_bench_reads_its_cards_from_the_exports():
    """bench/matching_quality.py counts what a user gets: every card it reads from the exports is a
    live suggestion of the engine, and every cross-retailer one finds its other side by cross_match."""
    from bench.matching_quality import cards_from_exports, run_ours

    config = synthetic.WorldConfig(events=400, retailers=(("freshco", "FreshCo", "FC", 5), ("harbour", "Harbour", "HP", 4)))
    world = synthetic.generate(400, seed=8, config=config)
    synthetic.load(world)
    run_ours(list(world.retailers))
    cards = cards_from_exports(list(world.retailers))
    pending = Suggestion.objects.unscoped().filter(status="pending")
    live = set(pending.values_list("person_id", "target_person_id"))
    live_likely = set(pending.filter(score__gte=0.5).values_list("person_id", "target_person_id"))
    assert cards.cross_rows > 10 and cards.cross_unpaired == 0 and cards.cross_likely > 0
    # Likely cards are the suggestions at or over the review threshold; possible ones are counted apart.
    assert cards.likely and set(cards.likely) <= live_likely
    assert len(live_likely) - cards.beyond_top <= len(cards.likely) <= len(live_likely)
    assert len(cards.with_possible) == len(live) - cards.beyond_top and len(cards.with_possible) > len(cards.likely)


@pytest.mark.django_db
def test_keys_and_records_of_a_loaded_event(small_world):
    ids = _load(small_world)
    event_ids = list(Event.objects.unscoped().values_list("id", flat=True)[:20])
    assert index_events(event_ids) > 0
    person = BlockingKey.objects.values_list("person_id", flat=True).first()
    rec = load_records([person])[person]
    assert rec.id in ids.values()
    assert set(BlockingKey.objects.filter(person_id=person).values_list("kind", flat=True)) <= {
        "name", "name_token", "plate", "mark", "sku", "desc"}


# --- Across retailers: a prior of their own ----------------------------------------------------------


def test_a_pair_across_retailers_starts_from_its_own_prior_and_no_same_store():
    params = Params.default()
    params.matches_per_record = 4.0
    params.cross_matches = {7: 1.0}
    within = params.for_population(2001)
    across = params.for_partner(7, 1000)
    assert within.prior == pytest.approx(4.0 / 2000)
    assert across.prior == pytest.approx(1.0 / 1000)
    # Two retailers' stores are never one store: place given that, for matches and strangers alike.
    m, u = across.m["place"], across.u["place"]
    assert m["same_store"] < 1e-6 and u["same_store"] < 1e-6
    assert sum(m.values()) == pytest.approx(1.0) and sum(u.values()) == pytest.approx(1.0)
    assert across.table()["place"]["same_region"] > within.table()["place"]["same_region"]
    assert params.for_partner(8, 1000).prior == pytest.approx(4.0 / 999)  # no estimate yet: as within


@pytest.mark.django_db
def test_the_cross_retailer_prior_is_estimated_from_the_data():
    """Fewer people offend at two retailers than twice at one: EM over the pairs two opted-in
    retailers' name, plate and mark keys make gives each pair of retailers its own rate, near the
    world's true one and below the within-retailer prior."""
    from accounts.models import Organisation
    from matching.engine import entity_count
    from matching.weights import estimate_weights, params_for

    config = synthetic.WorldConfig(events=1500, retailers=(("freshco", "FreshCo", "FC", 5), ("harbour", "Harbour", "HP", 4)))
    world = synthetic.generate(1500, seed=11, config=config)
    ids = synthetic.load(world)
    orgs = {o.slug: o for o in Organisation.objects.unscoped().filter(slug__in=["freshco", "harbour"])}
    for org in orgs.values():
        index_organisation(organisation_id=org.pk)
    fc, hp = orgs["freshco"], orgs["harbour"]
    estimate_weights(fc.pk)
    params = params_for(fc.pk)
    assert set(params.cross_matches) == {hp.pk}

    # The truth: pairs of records of one person, one at each retailer, over all such pairs.
    matched = {key: t.person for key, t in world.truth.items() if key in ids and
               EventPerson.objects.filter(pk=ids[key], role__in=["offender", "accomplice"]).exists()}
    by_org = collections.defaultdict(collections.Counter)
    for (ext, _ref), person in matched.items():
        by_org[ext[:2]][person] += 1
    true_pairs = sum(n * by_org["HP"][p] for p, n in by_org["FC"].items())
    true_rate = true_pairs / (sum(by_org["FC"].values()) * sum(by_org["HP"].values()))
    across = params.for_partner(hp.pk, entity_count([hp.pk]))
    within = params.for_population(entity_count([fc.pk]))
    assert true_rate / 2 < across.prior < true_rate * 2, (across.prior, true_rate)
    assert across.prior < within.prior
