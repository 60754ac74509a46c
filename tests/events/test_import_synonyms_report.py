"""The browser's import report for descriptor values: what was left out (line, field, value, what was
done; as CSV too) and what was read as a synonym, counted; the "refuse unknown values" choice."""

from __future__ import annotations

import csv
import io

import pytest

from audit.models import AuditEntry
from events.imports.jobs import import_job_run
from events.models import Event, EventPerson, ImportJob
from tests.admin.conftest import sign_in
from tests.events.import_helpers import row
from tests.events.test_import_synonyms import UNKNOWN_LINE, spreadsheet_rows
from tests.events.test_import_views import jsonl_upload


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_upload(client, user, django_capture_on_commit_callbacks, rows=None, **form):
    c = sign_in(client, user)
    with django_capture_on_commit_callbacks(execute=False):
        r = c.post("/events/import/", {"file": jsonl_upload(rows or spreadsheet_rows()), "mode": "keep_good", **form})
    assert r.status_code == 302, r.content
    job = ImportJob.objects.get()
    assert import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    return c, job


def test_the_report_lists_values_left_out_and_counts_those_read_as_synonyms(client, world,
                                                                          django_capture_on_commit_callbacks):
    c, job = run_upload(client, world.investigator, django_capture_on_commit_callbacks)
    assert (job.created, job.refused, job.strict_values) == (12, 0, False)
    assert job.warnings == [{"line": UNKNOWN_LINE, "field": "persons.0.build", "value": "lanky-ish",
                             "outcome": "not_known", "maps_to": "",
                             "action": "“lanky-ish” is not a known build: left empty"}]
    mapped = {(m["field"], m["value"].lower(), m["maps_to"]): m["count"] for m in job.mapped}
    assert mapped[("build", "stocky", "heavy")] == 5 and mapped[("build", "athletic", "muscular")] == 6
    assert mapped[("role", "shoplifter", "offender")] == 12

    page = c.get(f"/events/import/{job.pk}/").content.decode()
    assert "Every row was imported." in page
    assert "Descriptor values left out" in page and "1 value could not be read and was left out" in page
    assert (f"<tr><td>{UNKNOWN_LINE}</td><td><code>persons.0.build</code></td><td>lanky-ish</td>"
            "<td>“lanky-ish” is not a known build: left empty</td></tr>") in page
    assert "Values read as synonyms" in page and "<td>build</td><td>stocky</td><td>heavy</td><td>5</td>" in page
    assert 'href="/events/synonyms/"' in page  # where to add the words the data uses

    report = c.get(f"/events/import/{job.pk}/left-out.csv")
    assert report["Content-Type"].startswith("text/csv") and "values-left-out.csv" in report["Content-Disposition"]
    assert list(csv.reader(io.StringIO(report.content.decode()))) == [
        ["line", "field", "value", "action"],
        [str(UNKNOWN_LINE), "persons.0.build", "lanky-ish", "“lanky-ish” is not a known build: left empty"]]
    assert AuditEntry.objects.filter(action="event.import.report", detail__report="warnings").count() == 1


def test_refusing_unknown_values_in_the_browser(client, world, django_capture_on_commit_callbacks):
    c, job = run_upload(client, world.admin, django_capture_on_commit_callbacks, strict_values="on")
    assert (job.strict_values, job.created, job.refused, job.warnings) == (True, 11, 1, [])
    assert [(e["line"], e["field"]) for e in job.errors] == [(UNKNOWN_LINE, "persons.0.build")]
    assert not Event.objects.filter(external_id=f"ACME-2026-{UNKNOWN_LINE:06d}").exists()
    page = c.get(f"/events/import/{job.pk}/").content.decode()
    assert "unknown descriptor values refused" in page and "1 row refused" in page
    assert "“lanky-ish” is not a known build" in page
    upload_audit = AuditEntry.objects.get(action="event.import.upload")
    assert upload_audit.detail["strict_values"] is True


def test_all_or_nothing_job_records_the_warnings_of_what_it_imported(client, world,
                                                                     django_capture_on_commit_callbacks):
    _, job = run_upload(client, world.admin, django_capture_on_commit_callbacks, mode="all_or_nothing")
    assert (job.created, job.refused, len(job.warnings)) == (12, 0, 1)
    assert EventPerson.objects.filter(build="heavy").count() == 5


def test_a_resumed_job_adds_to_its_counts(client, world, django_capture_on_commit_callbacks):
    """A worker killed after its first batch left the job with that batch's counts: the resumed job
    counts on from there, and lists each value left out once."""
    rows = spreadsheet_rows()
    c = sign_in(client, world.admin)
    with django_capture_on_commit_callbacks(execute=False):
        c.post("/events/import/", {"file": jsonl_upload(rows), "mode": "keep_good"})
    job = ImportJob.objects.get()
    for r in rows[:4]:
        Event.objects.create(organisation=world.acme, store=world.acme_akl, occurred_at=r["occurred_at"],
                             type="theft", external_id=r["external_id"])
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed=4, created=4,
                                               mapped=[{"field": "build", "value": "stocky", "maps_to": "heavy",
                                                        "count": 2}])
    assert import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    mapped = {(m["field"], m["value"].lower()): m["count"] for m in job.mapped}
    assert mapped[("build", "stocky")] == 5 and [w["line"] for w in job.warnings] == [UNKNOWN_LINE]


def test_the_import_page_offers_the_choice_and_links_the_table(client, world):
    page = sign_in(client, world.investigator).get("/events/import/").content.decode()
    assert 'name="strict_values"' in page and 'href="/events/synonyms/"' in page


def test_a_row_with_only_known_values_gives_no_warning_section(client, world, django_capture_on_commit_callbacks):
    c, job = run_upload(client, world.admin, django_capture_on_commit_callbacks, rows=[row(1), row(2)])
    assert job.warnings == [] and job.mapped == []
    page = c.get(f"/events/import/{job.pk}/").content.decode()
    assert "Descriptor values left out" not in page and "Values read as synonyms" not in page
