"""Import through the browser: upload page, job page with progress and report, status JSON, refused
rows as CSV; who may see which job; the job itself (idempotent, resumable)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from events.imports.jobs import import_job_run
from events.models import Event, ImportJob
from tests.admin.conftest import sign_in
from tests.events.import_helpers import row


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def jsonl_upload(rows, name="events.jsonl"):
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    return SimpleUploadedFile(name, text.encode(), content_type="application/x-ndjson")


ROWS = [row(1), row(2, store="BM-001"), row(3), row(4, type="shoplifting"), row(5)]


def upload(client, user, rows=ROWS, mode="keep_good", django_capture_on_commit_callbacks=None, name="events.jsonl"):
    c = sign_in(client, user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = c.post("/events/import/", {"file": jsonl_upload(rows, name), "mode": mode})
    return c, r, callbacks


def test_upload_queues_a_job_that_imports_and_reports(client, world, django_capture_on_commit_callbacks):
    c, r, callbacks = upload(client, world.investigator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/events/import/{job.pk}/"
    assert len(callbacks) == 1  # the Celery job is sent when the upload's transaction commits
    assert (job.status, job.user, job.organisation, job.original_name) == ("queued", world.investigator, world.acme,
                                                                          "events.jsonl")
    assert len(job.sha256) == 64
    page = c.get(f"/events/import/{job.pk}/")
    assert b"<progress" in page.content and b'http-equiv="refresh"' in page.content

    assert import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.created, job.refused) == ("done", 5, 5, 3, 2)
    assert [(e["line"], e["field"]) for e in job.errors] == [(2, "store"), (4, "type")]
    assert not job.file  # the upload is not kept once imported
    assert set(Event.objects.values_list("created_by", flat=True)) == {world.investigator.pk}
    entries = AuditEntry.objects.filter(object_type="events.importjob", object_id=str(job.pk))
    assert {"event.import.upload", "event.import", "event.import.finish"} <= set(entries.values_list("action", flat=True))

    status = c.get(f"/events/import/{job.pk}/status/").json()
    assert status["finished"] and status["percent"] == 100 and status["refused"] == 2
    page = c.get(f"/events/import/{job.pk}/").content.decode()
    assert "2 rows refused" in page and "shoplifting" in page and 'http-equiv="refresh"' not in page
    report = c.get(f"/events/import/{job.pk}/refused.csv")
    assert report["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.content.decode())))
    assert lines[0] == ["line", "field", "reason"] and [x[:2] for x in lines[1:]] == [["2", "store"], ["4", "type"]]


def test_all_or_nothing_job_keeps_nothing(client, world, django_capture_on_commit_callbacks):
    upload(client, world.admin, mode="all_or_nothing", django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created, job.refused) == ("done", 0, 2)
    assert len(job.errors) == 2 and "Nothing was imported" in job.message
    assert Event.objects.count() == 0


def test_running_a_job_twice_does_not_import_twice(client, world, django_capture_on_commit_callbacks):
    rows = [row(n, external_id="") for n in range(1, 4)]
    upload(client, world.admin, rows=rows, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert import_job_run(job_id=job.pk) == "done"
    assert import_job_run(job_id=job.pk) == "done"
    assert Event.objects.count() == 3


def test_a_job_whose_worker_died_resumes_after_its_last_committed_batch(client, world,
                                                                      django_capture_on_commit_callbacks):
    rows = [row(n, external_id="") for n in range(1, 8)]
    upload(client, world.admin, rows=rows, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    # What a worker killed after committing the first 4 rows leaves behind: their events, and the job
    # running with processed=4 (both written in the batch's one transaction).
    for r in rows[:4]:
        Event.objects.create(organisation=world.acme, store=world.acme_akl, occurred_at=r["occurred_at"], type="theft")
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed=4, created=4)
    assert import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.processed, job.created) == (7, 7)
    assert Event.objects.count() == 7


def test_a_file_refused_as_a_whole_fails_the_job_with_its_reason(client, world, django_capture_on_commit_callbacks):
    c = sign_in(client, world.admin)
    bad = SimpleUploadedFile("events.csv", b"external_id,nonsense\nA-1,x\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=False):
        c.post("/events/import/", {"file": bad, "mode": "keep_good"})
    job = ImportJob.objects.get()
    assert import_job_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "Unknown column(s) in the CSV header: nonsense" in job.message
    assert "nonsense" in c.get(f"/events/import/{job.pk}/").content.decode()


@pytest.mark.parametrize("files,reason", [
    ({"events.jsonl": b"{}\n", "filler.jpg": b"\0" * (20 * 1024 * 1024)}, "zip bomb"),
    ({"../../evil.jsonl": b"{}\n"}, "points outside"),
    (None, "not a valid zip"),
])
def test_unsafe_archives_are_refused_at_upload(client, world, files, reason):
    import zipfile

    buf = io.BytesIO()
    if files is None:
        buf.write(b"PK but not really a zip")
    else:
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
    c = sign_in(client, world.admin)
    r = c.post("/events/import/", {"file": SimpleUploadedFile("bundle.zip", buf.getvalue()), "mode": "keep_good"})
    assert r.status_code == 400
    assert reason in " ".join(r.context["form"].errors["file"])
    assert ImportJob.objects.count() == 0


def test_bad_upload_names_the_field(client, world):
    c = sign_in(client, world.investigator)
    r = c.post("/events/import/", {"file": jsonl_upload(ROWS, name="events.xlsx"), "mode": "keep_good"})
    assert r.status_code == 400 and "file" in r.context["form"].errors
    r = c.post("/events/import/", {"file": jsonl_upload(ROWS), "mode": "sometimes"})
    assert r.status_code == 400 and "mode" in r.context["form"].errors
    r = c.post("/events/import/", {"mode": "keep_good"})
    assert r.status_code == 400 and "file" in r.context["form"].errors
    assert ImportJob.objects.count() == 0


def test_page_roles_and_methods(client, world):
    for user, expected in [(world.investigator, 200), (world.admin, 200), (world.staff, 403), (world.officer, 403),
                           (world.operator, 403)]:
        client.logout()
        assert sign_in(client, user).get("/events/import/").status_code == expected, user
    client.logout()
    assert client.get("/events/import/").status_code == 302
    assert sign_in(client, world.admin).put("/events/import/").status_code == 405


@pytest.fixture
def job(client, world, django_capture_on_commit_callbacks):
    upload(client, world.investigator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    client.logout()
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    return job


@pytest.mark.parametrize("suffix", ["", "status/", "refused.csv"])
def test_who_sees_a_job(client, world, job, suffix):
    url = f"/events/import/{job.pk}/{suffix}"
    expected = [(world.investigator, 200), (world.admin, 200),  # the importer, and their retailer's admin
                (world.investigator_sensitive, 404),           # another investigator's job
                (world.other_admin, 404), (world.other_investigator, 404),  # another tenant's job
                (world.staff, 403), (world.officer, 403)]
    for user, status in expected:
        client.logout()
        assert sign_in(client, user).get(url).status_code == status, (user, suffix)
    client.logout()
    assert sign_in(client, world.investigator).post(url).status_code == 405
    assert sign_in(client, world.investigator).get("/events/import/999999/").status_code == 404


def test_import_page_lists_the_users_jobs(client, world, job):
    page = sign_in(client, world.admin).get("/events/import/").content.decode()
    assert f"/events/import/{job.pk}/" in page and "events.jsonl" in page
    client.logout()
    page = sign_in(client, world.other_admin).get("/events/import/").content.decode()
    assert f"/events/import/{job.pk}/" not in page


def test_image_paths_in_an_uploaded_file_cannot_reach_other_temporary_files(client, world,
                                                                          django_capture_on_commit_callbacks):
    import tempfile
    from pathlib import Path

    from tests.events.import_helpers import jpeg_bytes

    with tempfile.NamedTemporaryFile(suffix=".jpg", dir=tempfile.gettempdir()) as other:
        other.write(jpeg_bytes())
        other.flush()
        r = row(1)
        r["persons"][0]["images"] = [Path(other.name).name]
        upload(client, world.admin, rows=[r], django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        job = ImportJob.objects.get()
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert [(e["line"], e["field"]) for e in job.errors] == [(1, "persons.0.images.0")]
    assert "No image" in job.errors[0]["reason"]
    assert Event.objects.count() == 0
