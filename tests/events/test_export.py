"""Export in the interchange format: command, browser and API; scoped, audited, and round-tripping
through the importer."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Organisation, OrgKind, Store
from audit.models import AuditEntry
from events.imports.writer import events_import
from events.models import Event
from events.synthetic import synthetic_events
from tests.admin.conftest import sign_in
from tests.events.import_helpers import row, write_jsonl


def comparable(line: dict) -> dict:
    out = {k: v for k, v in line.items() if k != "id"}
    out["persons"] = [{k: v for k, v in p.items() if k != "profile"} for p in out["persons"]]
    return out


def export_lines(org_slug: str) -> list[dict]:
    out = io.StringIO()
    call_command("export_events", org=org_slug, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_export_round_trips_into_a_fresh_retailer(world, tmp_path):
    rows = list(synthetic_events(60, store_codes=["ACME-001", "ACME-002"], seed=5, id_prefix="RT"))
    rows += [row(1, external_id="", police_sharing="internal"), row(2, sensitive=True, sensitive_reason="minor")]
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "in.jsonl", rows))
    assert result.refused == 0, result.errors
    exported = export_lines("acme")
    assert len(exported) == 62
    assert all(isinstance(e["id"], int) and all("profile" in p for p in e["persons"]) for e in exported)

    fresh = Organisation.objects.create(slug="fresh", name="Fresh Retail", kind=OrgKind.RETAILER,
                                        police_sharing_default=world.acme.police_sharing_default)
    for store in Store.objects.filter(organisation=world.acme):
        Store.objects.create(organisation=fresh, code=store.code, name=store.name, region=store.region,
                             timezone=store.timezone)
    again = events_import(organisation=fresh, path=write_jsonl(tmp_path / "out.jsonl", exported))
    assert (again.created, again.refused) == (62, 0), again.errors
    assert Event.objects.filter(organisation=fresh).count() == 62

    def key(e):
        return (e["external_id"], e["occurred_at"], e["narrative"])

    assert sorted(map(comparable, export_lines("fresh")), key=key) == sorted(map(comparable, exported), key=key)


def test_export_command_is_audited_and_only_that_retailer(world, event_factory):
    event_factory(store=world.acme_akl, external_id="A-1")
    event_factory(store=world.bmart_akl, external_id="B-1")
    assert [e["external_id"] for e in export_lines("acme")] == ["A-1"]
    entry = AuditEntry.objects.get(action="event.export")
    assert entry.actor_email == "export command" and entry.detail["count"] == 1
    assert entry.organisation_id == world.acme.pk


# --- browser ---------------------------------------------------------------------------------------


def signed_in(client, user):
    return sign_in(client, user)  # with a verified second factor where the role requires one


def lines_of(response) -> list[dict]:
    return [json.loads(x) for x in b"".join(response.streaming_content).decode().splitlines()]


@pytest.fixture
def events(world, event_factory):
    return {
        "akl": event_factory(store=world.acme_akl, external_id="A-AKL", type="theft"),
        "wlg": event_factory(store=world.acme_wlg, external_id="A-WLG", type="fraud"),
        "internal": event_factory(store=world.acme_akl, external_id="A-INT", police_sharing="internal"),
        "sensitive": event_factory(store=world.acme_akl, external_id="A-SENS", sensitive=True,
                                   sensitive_reason="minor"),
        "bmart": event_factory(store=world.bmart_akl, external_id="B-AKL"),
    }


def test_browser_export_applies_the_list_filters_and_scope(client, world, events):
    r = signed_in(client, world.investigator).get("/events/export/?type=theft")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in r["Content-Disposition"]
    assert {e["external_id"] for e in lines_of(r)} == {"A-AKL", "A-INT"}  # not sensitive, not B-Mart's
    entry = AuditEntry.objects.filter(action="event.export").latest("seq")
    assert entry.actor_id == world.investigator.pk and entry.detail["filters"] == {"type": "theft"}
    assert entry.detail["count"] == 2


def test_browser_export_store_filter(client, world, events):
    r = signed_in(client, world.admin).get(f"/events/export/?store={world.acme_wlg.pk}")
    assert [e["external_id"] for e in lines_of(r)] == ["A-WLG"]


def test_browser_export_roles(client, world, events):
    assert signed_in(client, world.staff).get("/events/export/").status_code == 403
    client.logout()
    assert signed_in(client, world.operator).get("/events/export/").status_code == 403
    client.logout()
    assert signed_in(client, world.investigator).post("/events/export/").status_code == 405


def test_browser_export_police_need_purpose_and_see_only_shared(client, world, events):
    c = signed_in(client, world.officer)
    r = c.get("/events/export/")
    assert r.status_code == 400 and b"purpose" in r.content
    r = c.get("/events/export/?purpose=investigation")
    assert r.status_code == 400 and b"case reference" in r.content
    r = c.get("/events/export/?purpose=Shoplifting%20ring&case_reference=CASE-9")
    assert r.status_code == 200
    # Acme shares with agencies whose jurisdiction covers the store (AKL); B-Mart with all agencies.
    assert {e["external_id"] for e in lines_of(r)} == {"A-AKL", "B-AKL"}
    entry = AuditEntry.objects.filter(action="event.export").latest("seq")
    assert entry.purpose == "Shoplifting ring (case CASE-9)"
    assert all(p["profile"] is None for e in lines_of(c.get("/events/export/?purpose=p&case_reference=c"))
               for p in e["persons"])


# --- API -------------------------------------------------------------------------------------------


def api_for(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_api_export_streams_jsonl_and_is_audited(world, events):
    r = api_for(world.investigator_sensitive).get(f"/api/v1/events/export/?store={world.acme_akl.pk}")
    assert r.status_code == 200
    assert {e["external_id"] for e in lines_of(r)} == {"A-AKL", "A-INT", "A-SENS"}
    entry = AuditEntry.objects.filter(action="event.export").latest("seq")
    assert entry.detail["via"] == "api" and entry.detail["count"] == 3


def test_api_export_police_purpose_roles_and_methods(world, events):
    r = api_for(world.officer).get("/api/v1/events/export/")
    assert r.status_code == 400 and "purpose" in r.json()["errors"]
    r = api_for(world.officer_wlg).get("/api/v1/events/export/?purpose=x&case_reference=y")
    # Wellington's jurisdiction covers Acme's Cuba St store, not its Auckland ones; B-Mart shares with all.
    assert {e["external_id"] for e in lines_of(r)} == {"A-WLG", "B-AKL"}
    assert api_for(world.staff).get("/api/v1/events/export/").status_code == 403
    assert api_for(world.investigator).post("/api/v1/events/export/").status_code == 405
    assert APIClient().get("/api/v1/events/export/").status_code in (401, 403)


def test_list_links_to_an_export_of_its_filters(client, world, events):
    page = signed_in(client, world.investigator).get("/events/?type=theft&prevented=no").content.decode()
    assert "/events/export/?type=theft&amp;prevented=no" in page
    client.logout()
    assert "/events/export/" not in signed_in(client, world.staff).get("/events/").content.decode()


def test_export_filters_are_the_lists_and_bad_ones_are_named(client, world, events):
    Event.objects.filter(external_id="A-AKL").update(occurred_at="2026-01-10T10:00:00+13:00")
    c = signed_in(client, world.investigator)
    r = c.get("/events/export/?date_from=2026-01-09&date_to=2026-01-11")
    assert [e["external_id"] for e in lines_of(r)] == ["A-AKL"]
    r = c.get("/events/export/?date_from=2026-01-12&date_to=2026-01-11")
    assert r.status_code == 400 and b"date_to" in r.content
    r = api_for(world.investigator).get("/api/v1/events/export/?value_min=lots")
    assert r.status_code == 400 and "value_min" in r.json()["errors"]
