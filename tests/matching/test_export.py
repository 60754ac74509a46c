"""export_suggestions: the CONTRACTS.md format, and nothing of another retailer's side."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.sharing.helpers import ACME_PERSON, ACME_PLATE, BMART_PERSON, BMART_PLATE, opt_in, record

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
