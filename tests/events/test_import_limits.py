"""A keep-good import refuses a line nested too deep, or too large, alone, naming its line; the good
rows still land (issue 11, finding 5: a deeply nested line was a RecursionError that failed the
whole import as an "internal error")."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from events.imports.jobs import import_job_run
from events.imports.writer import events_import
from events.models import Event, ImportJob
from tests.admin.conftest import sign_in
from tests.events.import_helpers import row, write_jsonl

DEEP_ARRAY = "[" * 200_000 + "]" * 200_000  # 400 kB: inside the line-size limit, far past any depth


def deep_value(levels: int):
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def deep_in_a_field(n: int) -> str:
    """A row valid but for one descriptor nested 5,000 deep (more than json.dumps itself can write)."""
    body = json.dumps(row(n, narrative="PLACEHOLDER"))
    return body.replace('"PLACEHOLDER"', "[" * 5000 + "]" * 5000)


@pytest.mark.parametrize("bad", [DEEP_ARRAY, '{"external_id": "X", "persons": ' + DEEP_ARRAY + "}", "deep field"])
def test_a_deep_line_is_refused_alone_and_the_good_rows_land(world, tmp_path, bad):
    bad = deep_in_a_field(2) if bad == "deep field" else bad
    path = write_jsonl(tmp_path / "events.jsonl", [row(1), bad, row(3)])
    result = events_import(organisation=world.acme, path=path)
    assert (result.rows, result.created, result.refused) == (3, 2, 1)
    [error] = result.errors
    assert error.line == 2 and error.field == "non_field_errors"
    assert "deeper than 20 levels" in error.reason
    assert set(Event.objects.values_list("external_id", flat=True)) == {"ACME-2026-000001", "ACME-2026-000003"}


def test_nesting_within_the_limit_is_read_as_usual(world, tmp_path):
    # Deeper than any interchange row, but within the limit: an ordinary field error, not a depth one.
    path = write_jsonl(tmp_path / "events.jsonl", [row(1, narrative=deep_value(10))])
    [error] = events_import(organisation=world.acme, path=path).errors
    assert error.field == "narrative" and "deeper" not in error.reason


def test_a_line_too_large_is_refused_alone(world, tmp_path, settings):
    settings.IMPORT_MAX_LINE_BYTES = 4096
    path = write_jsonl(tmp_path / "events.jsonl", [row(1), row(2, narrative="x" * 5000), row(3)])
    result = events_import(organisation=world.acme, path=path)
    assert result.created == 2
    assert [(e.line, e.reason) for e in result.errors] == [(2, "The line is longer than 4096 bytes.")]


def test_the_command_names_the_deep_line_keeps_the_rest_and_exits_1(world, tmp_path, capsys):
    path = write_jsonl(tmp_path / "events.jsonl", [row(1), DEEP_ARRAY, row(3)])
    with pytest.raises(CommandError) as exc:
        call_command("import_events", str(path), org="acme")
    assert exc.value.returncode == 1
    assert "line 2: non_field_errors: " in capsys.readouterr().err
    assert "2 created" in str(exc.value)
    assert Event.objects.count() == 2


def test_the_upload_job_refuses_the_deep_line_alone(client, world, settings, tmp_path,
                                                    django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path / "media"
    text = "\n".join([json.dumps(row(1)), DEEP_ARRAY, json.dumps(row(3))]) + "\n"
    c = sign_in(client, world.investigator)
    with django_capture_on_commit_callbacks(execute=False):
        c.post("/events/import/", {"file": SimpleUploadedFile("events.jsonl", text.encode()), "mode": "keep_good"})
    job = ImportJob.objects.get()
    assert import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.created, job.refused) == ("done", 2, 1)
    assert job.errors[0]["line"] == 2 and "deeper than 20 levels" in job.errors[0]["reason"]
