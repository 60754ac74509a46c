"""Descriptor synonyms in a real browser with a real Celery worker: a retailer admin adds their own
word on the Synonyms page, imports a file whose builds say "stocky" and "athletic", and reads in the
report that every row was kept, what was read as what, and the one value left out."""

from __future__ import annotations

import json

import pytest

from events.models import EventPerson, ImportJob
from tests.browser.test_import import worker  # noqa: F401 - the fixture
from tests.events.import_helpers import row

pytestmark = pytest.mark.timeout(180)


def test_add_a_word_then_import_and_read_the_report(page, browser_world, login_as, worker, tmp_path,  # noqa: F811
                                                    screenshot):
    w = browser_world
    login_as(page, w.admin)
    page.goto(page.base_url + "/")
    page.get_by_role("navigation", name="Main").locator("summary", has_text="Matching").click()  # the group
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Synonyms").click()
    page.wait_for_url(page.base_url + "/events/synonyms/")
    assert page.get_by_role("heading", name="Descriptor synonyms").is_visible()
    page.get_by_label("Descriptor", exact=True).select_option("build")
    page.get_by_label("Your data's word").fill("Big Lad")
    page.get_by_label("Read as").select_option("heavy")
    page.get_by_role("button", name="Add word").click()
    page.wait_for_url(page.base_url + "/events/synonyms/")
    assert "“Big Lad” is read as heavy" in page.content()
    assert page.locator("#own-synonyms").get_by_text("Big Lad").is_visible()
    screenshot(page, "synonyms-added")

    builds = ["stocky", "athletic", "big lad", "Stocky", "ATHLETIC", "lanky-ish"]
    rows = [row(n, persons=[{"ref": "p1", "name": f"Jon Smith {n}", "build": b, "gender": "M"}])
            for n, b in enumerate(builds, start=1)]
    path = tmp_path / "old-system.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    assert page.get_by_role("link", name="See the synonym table").is_visible()
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_url(page.base_url + "/events/import/*/")
    page.wait_for_selector("#import-report", timeout=120_000)
    screenshot(page, "import-report-synonyms")

    job = ImportJob.objects.get()
    assert (job.status, job.created, job.refused) == ("done", 6, 0), job.message
    assert "Every row was imported." in page.content()
    left_out = page.locator("#import-warnings tbody tr").all()
    assert len(left_out) == 1
    assert left_out[0].locator("td").all_inner_texts() == [
        "6", "persons.0.build", "lanky-ish", "“lanky-ish” is not a known build: left empty"]
    mapped = {tuple(r.locator("td").all_inner_texts()[:3]): r.locator("td").all_inner_texts()[3]
              for r in page.locator("#import-mapped tbody tr").all()}
    assert mapped[("build", "stocky", "heavy")] == "2" and mapped[("build", "athletic", "muscular")] == "2"
    assert mapped[("build", "big lad", "heavy")] == "1" and mapped[("gender", "M", "male")] == "6"
    assert sorted(EventPerson.objects.values_list("build", flat=True)) == [
        "", "heavy", "heavy", "heavy", "muscular", "muscular"]

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the values left out (CSV)").click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert lines == ["line,field,value,action", "6,persons.0.build,lanky-ish,“lanky-ish” is not a known build: left empty"]
