"""Imports keep what retailers send: descriptor synonyms are read ("stocky" → heavy), a value still
unknown is left out of its row (which is kept) with a warning, and the "refuse unknown values" mode
refuses such rows instead. JSONL, CSV, the command, and rows checked in helper processes."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from events.imports.writer import events_import
from events.models import Event, EventPerson
from events.services_vocabulary import descriptor_synonym_add
from tests.events.import_helpers import row, write_jsonl

UNKNOWN_LINE = 7


def person(**over) -> dict:
    body = {"ref": "p1", "role": "offender", "name": "Jon Smith", "age_band": "25-34", "gender": "male",
            "build": "slim", "clothing": "black hoodie"}
    body.update(over)
    return body


def spreadsheet_rows() -> list[dict]:
    """Twelve rows as a retailer's own system writes them: builds "stocky" and "athletic", its own
    words for gender, role and age; line 7's build is a word nobody knows."""
    builds = ["stocky", "athletic", "Stocky", "ATHLETIC", "stocky", "athletic"] * 2
    rows = []
    for n, build in enumerate(builds, start=1):
        p = person(name=f"Jon Smith {n}", build=build, gender="M" if n % 2 else "female", role="Shoplifter",
                   age_band="30-40" if n % 3 else "32")
        if n == UNKNOWN_LINE:
            p["build"] = "lanky-ish"
        rows.append(row(n, persons=[p]))
    return rows


def test_stocky_and_athletic_keep_every_row_and_read_as_heavy_and_muscular(world, tmp_path):
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", spreadsheet_rows()))
    assert (result.rows, result.created, result.refused) == (12, 12, 0)
    builds = dict(EventPerson.objects.values_list("event__external_id", "build"))
    assert builds["ACME-2026-000001"] == "heavy" and builds["ACME-2026-000002"] == "muscular"
    assert builds["ACME-2026-000003"] == "heavy" and builds["ACME-2026-000004"] == "muscular"
    first = EventPerson.objects.get(event__external_id="ACME-2026-000001")
    assert (first.gender, first.role, first.age_band) == ("male", "offender", "35-44")
    assert EventPerson.objects.get(event__external_id="ACME-2026-000003").age_band == "25-34"  # "32"
    # The value nobody knows: the row is kept without it, and the warning says where and what was done.
    unknown = EventPerson.objects.get(event__external_id=f"ACME-2026-{UNKNOWN_LINE:06d}")
    assert unknown.build == "" and unknown.name == f"Jon Smith {UNKNOWN_LINE}" and unknown.gender == "male"
    [left_out] = [w for w in result.warnings if w.outcome == "not_known"]
    assert (left_out.line, left_out.field, left_out.value) == (UNKNOWN_LINE, "persons.0.build", "lanky-ish")
    assert left_out.action == "“lanky-ish” is not a known build: left empty"
    mapped = [(w.line, w.field, w.value, w.maps_to) for w in result.warnings if w.outcome == "mapped"]
    assert (1, "persons.0.build", "stocky", "heavy") in mapped and (2, "persons.0.build", "athletic", "muscular") in mapped
    assert (1, "persons.0.gender", "M", "male") in mapped and (1, "persons.0.role", "Shoplifter", "offender") in mapped
    finish = AuditEntry.objects.get(action="event.import.finish")
    assert finish.detail["values_left_out"] == 1 and finish.detail["strict_values"] is False


def test_the_command_prints_the_warnings_and_the_values_it_mapped(world, tmp_path, capsys):
    call_command("import_events", str(write_jsonl(tmp_path / "a.jsonl", spreadsheet_rows())), org="acme")
    out, err = capsys.readouterr()
    assert f"line {UNKNOWN_LINE}: persons.0.build: warning: “lanky-ish” is not a known build: left empty" in err
    assert "12 created, 0 updated, 0 refused, 1 descriptor value left out" in out
    assert "read as a synonym: build “stocky” → heavy (5 values)" in out  # "stocky" and "Stocky", one word
    assert "read as a synonym: build “athletic” → muscular (6 values)" in out
    assert "read as a synonym: role “Shoplifter” → offender (12 values)" in out
    assert Event.objects.count() == 12


def test_strict_values_refuses_the_row_naming_line_and_field_and_keeps_nothing_of_it(world, tmp_path, capsys):
    path = write_jsonl(tmp_path / "a.jsonl", spreadsheet_rows())
    with pytest.raises(CommandError) as exc:
        call_command("import_events", str(path), "--org", "acme", "--strict-values")
    assert exc.value.returncode == 1 and "11 created" in str(exc.value)
    err = capsys.readouterr().err
    assert f"line {UNKNOWN_LINE}: persons.0.build: “lanky-ish” is not a known build: use one of slim, medium, " in err
    assert not Event.objects.filter(external_id=f"ACME-2026-{UNKNOWN_LINE:06d}").exists()
    assert not EventPerson.objects.filter(name=f"Jon Smith {UNKNOWN_LINE}").exists()
    # Synonyms are still read: strict refuses only what nothing reads.
    assert EventPerson.objects.get(event__external_id="ACME-2026-000001").build == "heavy"


def test_all_or_nothing_with_strict_values_rolls_back_everything(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", spreadsheet_rows())
    result = events_import(organisation=world.acme, path=path, atomic=True, strict_values=True)
    assert result.rolled_back and result.created == 0
    assert [(e.line, e.field) for e in result.errors] == [(UNKNOWN_LINE, "persons.0.build")]
    assert Event.objects.count() == 0 and EventPerson.objects.count() == 0


def test_all_or_nothing_without_strict_keeps_a_row_with_a_value_left_out(world, tmp_path):
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", spreadsheet_rows()),
                           atomic=True)
    assert not result.rolled_back and result.created == 12


def test_csv_reads_synonyms_and_reports_the_files_own_line(world, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "external_id,store,occurred_at,type,persons.0.name,persons.0.build,persons.0.gender,persons.0.age_band,"
        "persons.0.role,persons.1.name,persons.1.role\n"
        "C-1,ACME-001,2026-03-03T14:22:00+13:00,theft,Jon Smith,Stocky,M,30-40,Shoplifter,Ann Lee,Lookout\n"
        "C-2,ACME-001,2026-03-04T14:22:00+13:00,theft,Ann Smith,  Well-Built ,F,mid 30s,suspect,,\n"
        "C-3,ACME-001,2026-03-05T14:22:00+13:00,theft,Bo Smith,lanky-ish,woman,forty-ish,bouncer,,\n",
        encoding="utf-8")
    result = events_import(organisation=world.acme, path=path)
    assert (result.created, result.refused) == (3, 0)
    jon, ann = EventPerson.objects.filter(event__external_id="C-1").order_by("ref")
    assert (jon.build, jon.gender, jon.age_band, jon.role) == ("heavy", "male", "35-44", "offender")
    assert ann.role == "accomplice"
    second = EventPerson.objects.get(event__external_id="C-2")
    assert (second.build, second.gender, second.age_band) == ("muscular", "female", "35-44")
    bo = EventPerson.objects.get(event__external_id="C-3")
    assert (bo.build, bo.gender, bo.age_band, bo.role) == ("", "female", "35-44", "other")
    left_out = sorted((w.line, w.field, w.value) for w in result.warnings if w.outcome == "not_known")
    assert left_out == [(4, "persons.0.build", "lanky-ish"), (4, "persons.0.role", "bouncer")]
    [role] = [w for w in result.warnings if w.field == "persons.0.role" and w.line == 4]
    assert role.action == "“bouncer” is not a known role: recorded as other, not as an offender"


def test_a_retailers_own_word_applies_to_that_retailer_only(world, tmp_path):
    descriptor_synonym_add(actor=world.admin, organisation=world.acme, field="build", value="big lad",
                           maps_to="heavy")
    descriptor_synonym_add(actor=world.other_admin, organisation=world.bmart, field="build", value="lanky-ish",
                           maps_to="slim")
    rows = [row(1, persons=[person(build="Big Lad")]), row(2, persons=[person(build="lanky-ish")])]
    acme = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows))
    bmart_rows = [{**r, "store": "BM-001", "external_id": f"BM-{i}"} for i, r in enumerate(rows, start=1)]
    bmart = events_import(organisation=world.bmart, path=write_jsonl(tmp_path / "b.jsonl", bmart_rows))
    built = dict(EventPerson.objects.values_list("event__external_id", "build"))
    assert (built["ACME-2026-000001"], built["ACME-2026-000002"]) == ("heavy", "")  # B-Mart's word is not Acme's
    assert (built["BM-1"], built["BM-2"]) == ("", "slim")  # nor Acme's B-Mart's
    assert [(w.line, w.value) for w in acme.warnings if w.outcome == "not_known"] == [(2, "lanky-ish")]
    assert [(w.line, w.value) for w in bmart.warnings if w.outcome == "not_known"] == [(1, "Big Lad")]
    assert "your organisation's synonym" in next(w.action for w in acme.warnings if w.line == 1)


def test_a_sensitive_characteristic_in_a_descriptor_is_refused_not_left_out(world, tmp_path):
    rows = [row(1), row(2, persons=[person(build="black guy")])]
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows))
    assert result.created == 1
    [error] = result.errors
    assert (error.line, error.field) == (2, "persons.0.build") and "skin colour or ethnicity" in error.reason
    assert not result.warnings


def test_reimport_reads_the_synonyms_again(world, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", spreadsheet_rows())
    events_import(organisation=world.acme, path=path)
    EventPerson.objects.filter(event__external_id="ACME-2026-000001").update(build="slim")
    again = events_import(organisation=world.acme, path=path)
    assert again.updated == 12
    assert EventPerson.objects.get(event__external_id="ACME-2026-000001").build == "heavy"
    assert [(w.line, w.value) for w in again.warnings if w.outcome == "not_known"] == [(UNKNOWN_LINE, "lanky-ish")]


@pytest.mark.django_db(transaction=True)
def test_rows_checked_in_helper_processes_carry_their_warnings(tmp_path, settings):
    from events.imports import parallel as import_parallel
    from tests.conftest import build_world

    world = build_world()
    descriptor_synonym_add(actor=world.admin, organisation=world.acme, field="build", value="big lad",
                           maps_to="heavy")
    rows = [row(n, persons=[person(build=["stocky", "big lad", "slim"][n % 3])]) for n in range(1, 301)]
    rows[279] = row(280, persons=[person(build="lanky-ish")])
    settings.IMPORT_VALIDATION_PROCESSES = 2
    assert import_parallel.can_use_helpers()
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows), batch_size=100)
    assert (result.created, result.refused) == (300, 0)
    assert [(w.line, w.field) for w in result.warnings if w.outcome == "not_known"] == [(280, "persons.0.build")]
    assert sum(1 for w in result.warnings if w.outcome == "mapped") == 199
    assert EventPerson.objects.filter(build="heavy").count() == 199
