"""Bulk import in a real browser with a real Celery worker process: upload a file, watch the progress
bar, read the report of refused rows."""

from __future__ import annotations

import json

import pytest

from auror.celery import app
from events.models import Event, ImportJob
from events.synthetic import synthetic_events
from tests.processes import start_worker

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def worker(tmp_path, settings):
    """A `celery -A auror worker` subprocess on the test database, sharing the uploads folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    app.control.purge()
    proc = start_worker(tmp_path, "import", MEDIA_ROOT=str(settings.MEDIA_ROOT))
    yield proc
    proc.stop()
    app.control.purge()


def test_upload_shows_progress_then_the_refused_rows(page, browser_world, worker, tmp_path, screenshot):
    w = browser_world
    rows = list(synthetic_events(4000, store_codes=["ACME-001", "ACME-002"], seed=11, id_prefix="PW"))
    bad_lines = {}
    for n in range(7, 4000, 20):  # 5% bad: an unknown store, or a type that does not exist
        if n % 40 == 7:
            rows[n - 1]["store"] = "BM-001"  # another retailer's store
            bad_lines[n] = "store"
        else:
            rows[n - 1]["type"] = "shoplifting"
            bad_lines[n] = "type"
    path = tmp_path / "acme-history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Email").fill(w.investigator.email)
    page.get_by_label("Password").fill(w.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(page.base_url + "/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_label("Keep the good rows").check()
    screenshot(page, "import-upload")
    page.get_by_role("button", name="Upload and import").click()

    page.wait_for_url(page.base_url + "/events/import/*/")
    bar = page.locator("#import-bar")
    assert bar.is_visible()
    # The bar moves while the worker commits batch after batch (the page polls the status endpoint).
    page.wait_for_function("document.getElementById('import-bar') && document.getElementById('import-bar').value > 0",
                           timeout=60_000)
    screenshot(page, "import-progress")
    page.wait_for_selector("#import-report", timeout=120_000)
    screenshot(page, "import-report")

    job = ImportJob.objects.get()
    assert job.status == "done", job.message
    assert (job.processed, job.refused, job.created) == (4000, 200, 3800)
    assert bar.get_attribute("value") == "100"
    assert page.locator("#import-refused").inner_text() == "200"
    assert "200 rows refused" in page.content()
    cells = page.locator("#import-report tbody tr").first.locator("td").all_inner_texts()
    assert cells[:2] == ["7", bad_lines[7]]
    assert Event.objects.filter(organisation=w.acme).count() == 3800

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the refused rows (CSV)").click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert len(lines) == 201 and lines[1].startswith("7,")
