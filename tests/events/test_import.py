"""Bulk import of events (events.imports): JSONL and CSV, keep-good and all-or-nothing, re-import."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from events.imports.report import ImportFileError
from events.imports.writer import audit_entries_for_event, events_import
from events.models import Event, EventPerson, EventProduct, EventVehicle, Product
from events.tasks import match_imported_events
from matching.models import MatchState
from tests.events.import_helpers import row, write_jsonl

BAD_ROWS = {
    # line number → (the row, the field the report must name)
    4: (row(4, store="NOPE-9"), "store"),
    23: (row(23, type="shoplifting"), "type"),
    41: ('{"external_id": "ACME-2026-000041", "store": ', "non_field_errors"),
    62: (row(62, persons=[{"ref": "p1", "clothing": "black hoodie", "height_cm": 900}]), "persons.0.height_cm"),
    87: (row(87, vehicles=[{"plate": "AB12", "person_ref": "p9"}]), "vehicles.0.person_ref"),
}


def five_percent_bad(tmp_path):
    rows = [BAD_ROWS[n][0] if n in BAD_ROWS else row(n) for n in range(1, 101)]
    return write_jsonl(tmp_path / "events.jsonl", rows)


def test_five_percent_bad_rows_keeps_the_rest_and_reports_each(world, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = events_import(organisation=world.acme, path=five_percent_bad(tmp_path), batch_size=50)
    assert (result.rows, result.created, result.refused) == (100, 95, 5)
    assert Event.objects.filter(organisation=world.acme).count() == 95
    reported = {(e.line, e.field) for e in result.errors}
    assert reported == {(line, name) for line, (_, name) in BAD_ROWS.items()}
    by_line = {e.line: e.reason for e in result.errors}
    assert "NOPE-9" in by_line[4]
    assert "shoplifting" in by_line[23]
    assert "JSON" in by_line[41]
    imported = set(Event.objects.values_list("external_id", flat=True))
    assert "ACME-2026-000004" not in imported and "ACME-2026-000005" in imported
    # The parts came with the events.
    assert EventPerson.objects.count() == 95 and EventProduct.objects.count() == 95
    assert EventVehicle.objects.get(event__external_id="ACME-2026-000001").plate_normalised == "ABC123"
    assert str(Event.objects.get(external_id="ACME-2026-000001").total_value) == "49.98"
    # Matching recomputes every imported event: one job per committed batch hands them over.
    assert len(callbacks) == 2
    assert match_imported_events(world.acme.pk, result.event_ids) == 95
    assert MatchState.objects.filter(event__organisation=world.acme, status="pending").count() == 95


def test_all_or_nothing_keeps_nothing_but_reports_every_bad_row(world, tmp_path):
    result = events_import(organisation=world.acme, path=five_percent_bad(tmp_path), atomic=True)
    assert result.rolled_back and result.created == 0
    assert {e.line for e in result.errors} == set(BAD_ROWS)
    assert Event.objects.count() == 0 and EventPerson.objects.count() == 0
    assert not AuditEntry.objects.filter(action="event.import").exists()
    summary = AuditEntry.objects.get(action="event.import.finish")
    assert summary.detail["rolled_back"] is True and summary.detail["refused"] == 5


def test_all_or_nothing_with_a_clean_file_imports_everything(world, tmp_path):
    path = write_jsonl(tmp_path / "ok.jsonl", [row(n) for n in range(1, 6)])
    result = events_import(organisation=world.acme, path=path, atomic=True, batch_size=2)
    assert (result.created, result.refused, result.rolled_back) == (5, 0, False)
    assert Event.objects.count() == 5


def test_reimport_updates_without_duplicating_and_audits_before_after(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1), row(2)])
    events_import(organisation=world.acme, path=path)
    first = Event.objects.get(external_id="ACME-2026-000001")
    person_id = first.persons.get().pk
    changed = row(1, type="robbery", narrative="Corrected: a robbery.", persons=[
        {"ref": "p1", "name": "Jon Smyth", "clothing": "red jacket"}, {"ref": "p2", "name": "Ann Lee"}],
        vehicles=[])
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "b.jsonl", [changed, row(2)]))
    assert (result.created, result.updated, result.refused) == (0, 2, 0)
    assert Event.objects.count() == 2
    first.refresh_from_db()
    assert first.type == "robbery" and first.narrative == "Corrected: a robbery."
    persons = list(first.persons.order_by("ref"))
    assert [p.ref for p in persons] == ["p1", "p2"]
    assert persons[0].pk == person_id and persons[0].name == "Jon Smyth"  # kept by ref, corrected in place
    assert not first.vehicles.exists()
    entry = AuditEntry.objects.filter(audit_entries_for_event(first.pk)).order_by("-seq").first()
    update = next(u for u in entry.detail["updated"] if u["id"] == first.pk)
    assert update["changes"]["type"] == {"before": "theft", "after": "robbery"}
    assert update["line"] == 1
    unchanged = next(u for u in entry.detail["updated"] if u["external_id"] == "ACME-2026-000002")
    assert unchanged["changes"] == {}


def test_every_created_event_is_findable_in_the_audit_log(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(n) for n in range(1, 8)])
    result = events_import(organisation=world.acme, path=path, batch_size=3)
    assert result.created == 7
    assert AuditEntry.objects.filter(action="event.import").count() == 3  # one per batch
    for event in Event.objects.all():
        entry = AuditEntry.objects.get(audit_entries_for_event(event.pk))
        assert entry.actor_email == "import command" and entry.organisation_id == world.acme.pk
        created = next(c for c in entry.detail["created"] if c["id"] == event.pk)
        assert created["external_id"] == event.external_id


def test_rows_without_external_id_always_create(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1, external_id=""), row(2, external_id="")])
    events_import(organisation=world.acme, path=path)
    events_import(organisation=world.acme, path=path)
    assert Event.objects.count() == 4


def test_the_same_external_id_twice_in_a_file_makes_one_event(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1), row(2), row(1, type="fraud")])
    result = events_import(organisation=world.acme, path=path)
    assert (result.created, result.updated) == (2, 1)
    assert Event.objects.get(external_id="ACME-2026-000001").type == "fraud"


def test_other_tenants_store_code_is_refused(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1, store="BM-001"), row(2)])
    result = events_import(organisation=world.acme, path=path)
    assert [(e.line, e.field) for e in result.errors] == [(1, "store")]
    assert not Event.objects.filter(store=world.bmart_akl).exists()


def test_other_tenants_external_id_is_not_updated(world, tmp_path, event_factory):
    theirs = event_factory(store=world.bmart_akl, external_id="ACME-2026-000001", type="fraud")
    events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", [row(1)]))
    theirs.refresh_from_db()
    assert theirs.type == "fraud"  # untouched: external ids are unique per retailer
    assert Event.objects.filter(organisation=world.acme, external_id="ACME-2026-000001").exists()


def test_sensitive_phrase_refused_naming_the_field(world, tmp_path):
    bad = row(1, persons=[{"ref": "p1", "clothing": "black hoodie", "marks": "", "name": ""}],
              narrative="A black guy took razor blades.")
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", [bad]))
    assert [(e.line, e.field) for e in result.errors] == [(1, "narrative")]


def test_catalogue_fills_missing_values(world, tmp_path):
    Product.objects.create(organisation=world.acme, sku="111", description="Infant formula 900g", unit_value="39.50")
    path = write_jsonl(tmp_path / "a.jsonl", [row(1, products=[{"sku": "111", "quantity": 2}])])
    events_import(organisation=world.acme, path=path)
    product = EventProduct.objects.get()
    assert (product.description, str(product.unit_value), product.product.sku) == ("Infant formula 900g", "39.50", "111")
    assert str(product.event.total_value) == "79.00"


def test_acting_user_is_held_to_their_rights(world, tmp_path, event_factory):
    other = event_factory(store=world.acme_akl, external_id="ACME-2026-000003")  # not authored by staff
    rows = [row(1), row(2, store="ACME-002"), row(3)]
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows), actor=world.staff)
    assert [(e.line, e.field) for e in result.errors] == [(2, "store"), (3, "external_id")]
    assert result.created == 1
    assert Event.objects.get(external_id="ACME-2026-000001").created_by == world.staff
    other.refresh_from_db()
    assert other.narrative == ""
    entry = AuditEntry.objects.get(action="event.import")
    assert entry.actor_id == world.staff.pk


def test_investigator_without_sensitive_access_cannot_overwrite_a_sensitive_event(world, tmp_path, event_factory):
    event_factory(store=world.acme_akl, external_id="ACME-2026-000001", sensitive=True, sensitive_reason="minor")
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", [row(1)]),
                           actor=world.investigator)
    assert [(e.line, e.field) for e in result.errors] == [(1, "external_id")]
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", [row(1)]),
                           actor=world.investigator_sensitive)
    assert result.updated == 1


def test_police_and_members_of_other_orgs_cannot_import(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1)])
    with pytest.raises(ImportFileError):
        events_import(organisation=world.pol_akl, path=path)
    with pytest.raises(ImportFileError):
        events_import(organisation=world.acme, path=path, actor=world.other_admin)
    assert Event.objects.count() == 0


def test_not_a_data_file_is_refused(world, tmp_path):
    path = tmp_path / "events.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ImportFileError, match=".jsonl, .csv or .zip"):
        events_import(organisation=world.acme, path=path)


# --- the command (shared/CONTRACTS.md) --------------------------------------------------------------


def test_command_reports_each_refused_row_keeps_the_rest_and_exits_1(world, tmp_path, capsys):
    with pytest.raises(CommandError) as exc:
        call_command("import_events", str(five_percent_bad(tmp_path)), org="acme")
    assert exc.value.returncode == 1
    err = capsys.readouterr().err
    for line, (_, name) in BAD_ROWS.items():
        assert f"line {line}: {name}: " in err
    assert "95 created" in str(exc.value)
    assert Event.objects.count() == 95


def test_command_all_or_nothing(world, tmp_path, capsys):
    with pytest.raises(CommandError) as exc:
        call_command("import_events", str(five_percent_bad(tmp_path)), org="acme", atomic=True)
    assert exc.value.returncode == 1 and "nothing was imported" in str(exc.value)
    assert Event.objects.count() == 0


def test_command_clean_file_exits_0_and_can_act_as_a_user(world, tmp_path, capsys):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1), row(2)])
    call_command("import_events", str(path), "--org", "acme", "--as", world.investigator.email)
    assert "2 created, 0 updated, 0 refused" in capsys.readouterr().out
    assert set(Event.objects.values_list("created_by", flat=True)) == {world.investigator.pk}


def test_command_refuses_unknown_org_and_bad_file(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1)])
    with pytest.raises(CommandError, match="No organisation"):
        call_command("import_events", str(path), org="nope")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_events", str(tmp_path / "missing.jsonl"), org="acme")


def test_jsonl_non_object_and_blank_lines(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1), "", "[1, 2]", json.dumps(row(2))])
    result = events_import(organisation=world.acme, path=path)
    assert [(e.line, e.field) for e in result.errors] == [(3, "non_field_errors")]
    assert result.created == 2
