"""In a phone-size browser: store staff upload evidence with the plain form, and the SHA-256 of the
downloaded file matches the one the item page shows (issue 3 acceptance)."""

from __future__ import annotations

import hashlib

import pytest

from tests.evidence import corpus

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(p, user, password):
    p.goto(p.base_url + "/accounts/login/")
    p.get_by_label("Email").fill(user.email)
    p.get_by_label("Password").fill(password)
    p.get_by_role("button", name="Sign in").click()
    p.wait_for_url(p.base_url + "/")


def test_upload_then_download_matches_the_sha256_shown(phone_page, browser_world, screenshot, tmp_path):  # noqa: F811
    from events.models import EventPerson
    from tests.factories import EventFactory

    w = browser_world
    event = EventFactory(store=w.acme_akl, created_by=w.staff)
    EventPerson.objects.create(event=event, ref="p1", name="Jo Bloggs")
    photo = tmp_path / "till.jpg"
    photo.write_bytes(corpus.jpeg_with_gps(size=(800, 600)))
    bad = tmp_path / "invoice.pdf"
    bad.write_bytes(corpus.pdf_javascript())

    p = phone_page
    _sign_in(p, w.staff, w.password)
    p.goto(p.base_url + f"/evidence/event/{event.pk}/")
    p.get_by_label("Photos, videos or documents").set_input_files([str(photo), str(bad)])
    p.get_by_role("button", name="Upload").click()
    p.wait_for_selector("text=1 file added to the evidence.")
    assert "“invoice.pdf” was not accepted: the PDF contains JavaScript" in p.content()
    screenshot(p, "evidence-event-phone")

    p.get_by_role("link", name="till.jpg").first.click()
    shown = p.locator("#sha256").inner_text().strip()
    assert len(shown) == 64
    screenshot(p, "evidence-item-phone")
    with p.expect_download() as info:
        p.locator("#download").click()
    download = info.value
    path = tmp_path / "downloaded.jpg"
    download.save_as(str(path))
    assert download.suggested_filename == "till.jpg"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == shown
    p.reload()
    assert "Downloaded" in p.locator("#custody-heading + table").inner_text()
