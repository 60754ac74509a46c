"""The evidence section works without JavaScript: a multi-file upload form, the list, item pages."""

from __future__ import annotations

from django.template import Context, Template
from django.test import RequestFactory

from evidence.models import EvidenceItem
from tests.evidence import corpus
from tests.evidence.conftest import upload


def test_staff_uploads_several_files_with_the_plain_form(world, event, as_user):
    browser = as_user(world.staff)
    page = browser.get(f"/evidence/event/{event.pk}/").content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="files"' in page and "multiple" in page
    r = browser.post(f"/evidence/event/{event.pk}/upload/",
                     {"files": [upload("a.jpg", corpus.jpeg_with_gps()), upload("b.pdf", corpus.pdf()),
                                upload("c.exe", corpus.EXE)],
                      "person": str(event.persons.get().pk), "next": f"/evidence/event/{event.pk}/"})
    assert r.status_code == 302 and r["Location"] == f"/evidence/event/{event.pk}/"
    page = browser.get(r["Location"]).content.decode()
    assert "2 files added to the evidence." in page
    assert "“c.exe” was not accepted: its content is a Windows program" in page
    assert "a.jpg" in page and "b.pdf" in page
    assert set(EvidenceItem.objects.values_list("person__ref", flat=True)) == {"p1"}


def test_next_must_stay_on_this_site(world, event, as_user):
    r = as_user(world.staff).post(f"/evidence/event/{event.pk}/upload/",
                                  {"files": [upload("a.png", corpus.png())], "next": "https://evil.example/"})
    assert r["Location"] == f"/evidence/event/{event.pk}/"


def test_no_file_chosen_is_a_form_error(world, event, as_user):
    r = as_user(world.staff).post(f"/evidence/event/{event.pk}/upload/", {})
    assert r.status_code == 400 and "Choose at least one file." in r.content.decode()


def test_readers_without_change_rights_see_the_list_but_no_form(world, event, as_user, api_as):
    api_as(world.staff).post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload("a.png", corpus.png())]},
                             format="multipart")
    page = as_user(world.officer).get(f"/evidence/event/{event.pk}/").content.decode()
    assert "a.png" in page and 'name="files"' not in page


def test_partial_can_be_included_in_any_event_page(world, event):
    """What the event page does: {% include "evidence/_event_evidence.html" with event=object %}."""
    request = RequestFactory().get(f"/events/{event.pk}/")
    request.user = world.staff
    html = Template('{% include "evidence/_event_evidence.html" with event=object %}').render(
        Context({"object": event, "request": request, "csrf_token": "x"}))
    assert 'id="evidence"' in html and f'action="/evidence/event/{event.pk}/upload/"' in html
    assert 'value="/events/' in html  # comes back to the event page after uploading


def test_upload_form_keeps_csrf_protection(world, event):
    """The size cap is installed before CSRF reads the body; CSRF is still enforced after it."""
    from django.test import Client

    from tests.evidence.conftest import sign_in

    browser = sign_in(Client(enforce_csrf_checks=True), world.staff)
    r = browser.post(f"/evidence/event/{event.pk}/upload/", {"files": [upload("a.png", corpus.png())]})
    assert r.status_code == 403
    assert not EvidenceItem.objects.exists()
    page = browser.get(f"/evidence/event/{event.pk}/")
    token = page.cookies["csrftoken"].value
    r = browser.post(f"/evidence/event/{event.pk}/upload/", {"files": [upload("a.png", corpus.png())],
                                                             "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and EvidenceItem.objects.count() == 1
