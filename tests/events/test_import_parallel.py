"""Rows checked in helper processes (events.imports.parallel) give the same import as in-process."""

from __future__ import annotations

import pytest

from events.imports.writer import events_import
from events.models import Event
from tests.conftest import build_world
from tests.events.import_helpers import row, write_jsonl

pytestmark = pytest.mark.django_db(transaction=True)


def rows():
    out = [row(n) for n in range(1, 601)]
    out[9] = row(10, store="BM-001")
    out[299] = row(300, type="shoplifting")
    out[449] = row(450, narrative="A black guy took razor blades.")
    out[599] = "{not json"
    return out


def test_helper_processes_check_rows_like_this_process(tmp_path, settings):
    from events.imports import parallel as import_parallel

    world = build_world()
    path = write_jsonl(tmp_path / "a.jsonl", rows())
    settings.IMPORT_VALIDATION_PROCESSES = 2
    assert import_parallel.can_use_helpers()
    result = events_import(organisation=world.acme, path=path, batch_size=100)
    assert (result.rows, result.created, result.refused) == (600, 596, 4)
    assert [(e.line, e.field) for e in result.errors] == [(10, "store"), (300, "type"), (450, "narrative"),
                                                          (600, "non_field_errors")]
    assert Event.objects.filter(organisation=world.acme).count() == 596
    assert Event.objects.get(external_id="ACME-2026-000001").store == world.acme_akl
    # The same file checked in this process gives the same report, and (all updates now) no new events.
    settings.IMPORT_VALIDATION_PROCESSES = 0
    again = events_import(organisation=world.acme, path=path, batch_size=100)
    assert [(e.line, e.field, e.reason) for e in again.errors] == [(e.line, e.field, e.reason) for e in result.errors]
    assert (again.updated, Event.objects.count()) == (596, 596)


def test_all_or_nothing_with_helpers(tmp_path, settings):
    from events.imports import parallel as import_parallel

    world = build_world()
    settings.IMPORT_VALIDATION_PROCESSES = 1
    assert import_parallel.can_use_helpers()
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows()), atomic=True)
    assert result.rolled_back and len(result.errors) == 4
    assert Event.objects.count() == 0
