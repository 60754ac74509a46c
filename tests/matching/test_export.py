"""export_suggestions: the CONTRACTS.md format, and nothing of another retailer's side."""

from __future__ import annotations

import collections
import hashlib
import io
import itertools
import json
import re

import pytest
from django.core.management import call_command

from matching import synthetic
from matching.cross import cross_match_id
from matching.models import MatchState, Suggestion
from matching.services import index_organisation, rematch_organisation
from tests.sharing.helpers import (
    ACME_PERSON,
    ACME_PLATE,
    BMART_PERSON,
    BMART_PLATE,
    cross_pair,
    opt_in,
    record,
    rerun,
)

pytestmark = pytest.mark.django_db


def export(slug: str) -> list[dict]:
    out = io.StringIO()
    call_command("export_suggestions", "--org", slug, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_own_suggestions_in_contract_format(world):
    first = record(world.acme_akl, BMART_PERSON, BMART_PLATE, days_ago=5)
    first.external_id = "ACME-1"
    first.save(update_fields=["external_id"])
    second = record(world.acme_akl, ACME_PERSON, ACME_PLATE, days_ago=1)
    rows = export("acme")
    [row] = [r for r in rows if r["event"] == second.pk]
    assert set(row) >= {"id", "event", "person", "target_events", "target_profile", "score", "status", "reasons"}
    assert row["target_events"] == ["ACME-1"]
    assert row["status"] == "pending" and 0 < row["score"] <= 1
    assert any(r["feature"] == "plate" and r["detail"] for r in row["reasons"])


def test_cross_retailer_rows_carry_nothing_of_the_other_side(world):
    opt_in(world.acme, world.bmart)
    held = record(world.bmart_akl, BMART_PERSON, BMART_PLATE, days_ago=3)
    held.external_id = "BM-SECRET-9"
    held.save(update_fields=["external_id"])
    record(world.acme_akl, ACME_PERSON, ACME_PLATE)
    rows = export("acme")
    assert rows, "the cross-retailer suggestion is exported"
    text = json.dumps(rows)
    for secret in ("BM-SECRET-9", BMART_PLATE, BMART_PERSON["name"]):
        assert secret not in text
    assert all(r.get("held_by_another_participant") for r in rows)


# --- Cross-retailer pairs: one id on both sides, nothing of either ---------------------------------


def cross_rows(slug: str) -> list[dict]:
    return [r for r in export(slug) if "cross_match" in r]


def test_cross_match_is_the_same_on_both_sides_and_reveals_nothing(world, settings):
    acme_event, bmart_event, s = cross_pair(world)
    bmart_event.external_id = "BM-SECRET-9"
    bmart_event.save(update_fields=["external_id"])
    acme_event.external_id = "ACME-77"
    acme_event.save(update_fields=["external_id"])
    [mine] = cross_rows("acme")
    [theirs] = cross_rows("bmart")
    xid = mine["cross_match"]
    assert xid == theirs["cross_match"] and re.fullmatch(r"[0-9a-f]{32}", xid)
    assert (mine["event"], theirs["event"]) == ("ACME-77", "BM-SECRET-9")
    assert mine["target_events"] == theirs["target_events"] == [] and mine["target_profile"] is None
    assert set(mine) == set(theirs) == {"id", "event", "person", "target_events", "target_profile", "score", "status",
                                        "reasons", "held_by_another_participant", "cross_match"}

    # Not any value of either side, nor a plain hash of one or of a pair of them.
    values = [bmart_event.pk, "BM-SECRET-9", s.target_person_id, BMART_PERSON["name"], "BM-001", BMART_PLATE,
              world.bmart.pk, "bmart", acme_event.pk, "ACME-77", s.person_id, ACME_PERSON["name"], "ACME-001",
              ACME_PLATE, world.acme.pk, "acme", "p1"]
    texts = {str(v) for v in values} | {str(v).lower() for v in values}
    ids = [s.person_id, s.target_person_id, acme_event.pk, bmart_event.pk, "ACME-77", "BM-SECRET-9"]
    texts |= {f"{a}{sep}{b}" for a, b in itertools.permutations(ids, 2) for sep in ("", ":", "-", ",", " ", "|", "/")}
    for text in texts:
        assert text.lower() != xid and (len(text) < 6 or text.lower() not in xid)  # 5 hex digits turn up by chance
        for algorithm in ("md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"):
            digest = hashlib.new(algorithm, text.encode()).hexdigest()
            assert xid not in digest and digest[:32] != xid, (text, algorithm)

    # Keyed: under another SECRET_KEY the same pair has another id, so it cannot be worked out from the data.
    rerun(acme_event)
    assert [r["cross_match"] for r in cross_rows("acme")] == [xid]  # stable across runs
    settings.SECRET_KEY = "another deployment's secret key, long enough to be one " * 2
    assert [r["cross_match"] for r in cross_rows("acme")] != [xid]
    assert cross_match_id(s.person_id, s.target_person_id) == cross_match_id(s.target_person_id, s.person_id)


TWO_RETAILERS = synthetic.WorldConfig(events=600, retailers=(
    ("freshco", "FreshCo Supermarkets", "FC", 6), ("harbour", "Harbour Pharmacy", "HP", 5)))


def _rematch_everything(world, *, estimate: bool) -> None:
    from accounts.models import Organisation

    orgs = list(Organisation.objects.unscoped().filter(slug__in=list(world.retailers)).order_by("slug"))
    for org in orgs:
        index_organisation(organisation_id=org.pk)
    for org in orgs:
        rematch_organisation(organisation_id=org.pk, estimate=estimate)


def test_export_pairs_every_cross_retailer_row_of_a_two_retailer_world(django_db_reset_sequences):
    """A real world of two opted-in retailers, each estimating its own weights: every cross-retailer
    row of one export has exactly one row of the other with the same `cross_match`, about the same two
    people, and the pairs found are mostly the same person (what an evaluation joins them for)."""
    world = synthetic.generate(600, seed=21, config=TWO_RETAILERS)
    ids = synthetic.load(world)
    _rematch_everything(world, estimate=True)
    person_of = {(ext, ref): pid for (ext, ref), pid in ids.items()}

    def paired() -> dict[str, tuple[dict, dict]]:
        rows = {slug: cross_rows(slug) for slug in world.retailers}
        counts = {slug: collections.Counter(r["cross_match"] for r in rs) for slug, rs in rows.items()}
        assert all(n == 1 for c in counts.values() for n in c.values())  # one row per pair and side: ids differ per pair
        assert set(counts["freshco"]) == set(counts["harbour"])  # every row has its other side
        other = {r["cross_match"]: r for r in rows["harbour"]}
        return {r["cross_match"]: (r, other[r["cross_match"]]) for r in rows["freshco"]}

    pairs = paired()
    assert len(pairs) >= 10
    same = 0
    for mine, theirs in pairs.values():
        a, b = person_of[(mine["event"], mine["person"])], person_of[(theirs["event"], theirs["person"])]
        assert Suggestion.objects.get(pk=mine["id"]).target_person_id == b
        assert Suggestion.objects.get(pk=theirs["id"]).target_person_id == a
        same += world.truth[(mine["event"], mine["person"])].person == world.truth[(theirs["event"], theirs["person"])].person
    assert same >= 0.7 * len(pairs), (same, len(pairs))

    # Run both sides again from scratch: the pairs kept keep their ids, and every row still has its other side.
    before = {r["id"]: r["cross_match"] for r in cross_rows("freshco")}
    MatchState.objects.update(status=MatchState.Status.PENDING)
    _rematch_everything(world, estimate=False)
    again = paired()
    assert all(before[mine["id"]] == xid for xid, (mine, _) in again.items() if mine["id"] in before)
    assert len(again) >= len(pairs)
