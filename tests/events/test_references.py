"""Every event gets a human reference at creation, from its retailer's own sequence, whatever the
channel (issue 10): the web form, the API and an import alike; an import's `external_id` is kept
beside it. Search finds an event by its reference and by any descriptor of its people."""

from __future__ import annotations

import re
import uuid

import pytest
from rest_framework.test import APIClient

from events.imports.writer import events_import
from events.models import Event
from events.references import reference_prefix
from tests.admin.conftest import sign_in
from tests.events.import_helpers import write_jsonl
from tests.events.test_api_crud import theft as api_theft
from tests.events.test_views_capture import NEW
from tests.events.test_views_capture import theft as form_theft

pytestmark = pytest.mark.django_db


def number(reference: str) -> int:
    return int(reference.rsplit("-", 1)[1])


def api(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_a_form_recorded_event_has_a_reference_shown_on_its_page(world, client):
    staff = sign_in(client, world.staff)
    key = uuid.uuid4()
    r = staff.post(NEW, form_theft(draft_key=str(key)))
    event = Event.objects.get(client_key=key)
    assert re.fullmatch(r"ACME-\d{6}", event.reference)
    html = staff.get(r["Location"]).content.decode()
    assert f"<dt>Reference</dt><dd>{event.reference}</dd>" in html
    assert str(event) == event.reference


def test_each_channel_takes_the_next_number_of_its_own_retailer(world, client, tmp_path):
    form = sign_in(client, world.staff)
    form.post(NEW, form_theft(draft_key=str(uuid.uuid4())))
    r = api(world.staff).post("/api/v1/events/", api_theft(), format="json")
    assert r.status_code == 201
    rows = [{**api_theft(external_id=f"FC-2026-{n:06d}")} for n in (141, 142, 143)]
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows))
    assert result.created == 3
    acme = list(Event.objects.unscoped().filter(organisation=world.acme).order_by("id"))
    numbers = [number(e.reference) for e in acme]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5 and numbers[-1] - numbers[0] == 4
    imported = acme[-3:]
    assert [e.external_id for e in imported] == ["FC-2026-000141", "FC-2026-000142", "FC-2026-000143"]
    assert all(e.reference.startswith("ACME-") for e in imported)  # the sender's id is kept beside it

    # Another retailer's sequence is its own.
    other = api(world.other_investigator).post(
        "/api/v1/events/", api_theft(store=world.bmart_akl.code, external_id=""), format="json")
    assert other.status_code == 201, other.content
    theirs = Event.objects.unscoped().get(pk=other.json()["id"])
    assert theirs.reference.startswith(reference_prefix(world.bmart.slug) + "-")
    assert number(theirs.reference) == 1


def test_a_reimport_keeps_the_reference_it_was_given(world, tmp_path):
    row = api_theft(external_id="FC-2026-000200")
    events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", [row]))
    event = Event.objects.get(external_id="FC-2026-000200")
    first = event.reference
    events_import(organisation=world.acme, path=write_jsonl(tmp_path / "b.jsonl", [dict(row, narrative="Corrected.")]))
    event.refresh_from_db()
    assert (event.reference, event.narrative) == (first, "Corrected.")


def test_the_api_lists_the_reference_and_finds_the_event_by_it(world):
    c = api(world.investigator)
    created = c.post("/api/v1/events/", api_theft(), format="json").json()
    event = Event.objects.get(pk=created["id"])
    listed = c.get("/api/v1/events/", {"q": event.reference}).json()
    assert [(r["id"], r["reference"], r["external_id"]) for r in listed["results"]] == [
        (event.pk, event.reference, "ACME-2026-000123")]


@pytest.mark.parametrize("q", ["hoodie", "trackpants", "tattoo", "slim", "brown"])
def test_search_finds_an_event_by_what_its_people_wore_and_looked_like(world, client, q):
    staff = sign_in(client, world.staff)
    key = uuid.uuid4()
    staff.post(NEW, form_theft(draft_key=str(key)))
    event = Event.objects.get(client_key=key)
    page = staff.get("/events/", {"q": q})
    assert [e.pk for e in page.context["object_list"]] == [event.pk]


@pytest.mark.parametrize(("slug", "prefix"), [("acme", "ACME"), ("food-corp-nz", "FOODCORP"), ("--", "EV")])
def test_the_prefix_is_the_retailers_slug(slug, prefix):
    assert reference_prefix(slug) == prefix
