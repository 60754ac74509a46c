"""Event create/read/update/delete through the API, with nested people, products and vehicles."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from events.models import Event, EventPerson, Product


@pytest.fixture
def client_for():
    def make(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    return make


def theft(**over):
    body = {
        "external_id": "ACME-2026-000123",
        "store": "ACME-001",
        "occurred_at": "2026-10-03T14:22:00+13:00",
        "type": "theft",
        "threatened_violence": True,
        "weapon": "knife",
        "narrative": "Two men filled a bag with razor blades and left past the tills.",
        "products": [{"sku": "9300601", "description": "Razor blades 8pk", "quantity": 6, "unit_value": "24.99"}],
        "persons": [{"ref": "p1", "role": "offender", "name": "Jon Smith", "aliases": ["Johnny"],
                     "age_band": "25-34", "gender": "male", "height_cm": 180, "build": "slim",
                     "hair": "short brown", "clothing": "black hoodie, grey trackpants",
                     "marks": "tattoo of a star on left hand"}],
        "vehicles": [{"plate": "abc-123", "make": "Toyota", "model": "Corolla", "colour": "silver", "person_ref": "p1"}],
    }
    body.update(over)
    return body


def test_create_nested_and_read_back(world, client_for):
    r = client_for(world.staff).post("/api/v1/events/", theft(), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["persons"][0]["name"] == "Jon Smith"
    assert body["vehicles"][0]["plate"] == "ABC-123"
    assert body["vehicles"][0]["person_ref"] == "p1"
    event = Event.objects.get(pk=body["id"])
    assert str(event.total_value) == "149.94"
    assert event.vehicles.get().plate_normalised == "ABC123"
    assert event.created_by == world.staff
    row = AuditEntry.objects.get(action="event.create", object_id=str(event.pk))
    assert row.detail["after"]["persons"][0]["name"] == "Jon Smith"


def test_catalogue_fills_value_and_description(world, client_for):
    Product.objects.create(organisation=world.acme, sku="111", description="Infant formula 900g", unit_value="39.50")
    body = theft(products=[{"sku": "111", "quantity": 2}])
    r = client_for(world.staff).post("/api/v1/events/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["products"][0] == {"sku": "111", "description": "Infant formula 900g", "quantity": 2,
                                       "unit_value": "39.50"}


def test_idempotency_key_creates_one_event(world, client_for):
    c = client_for(world.staff)
    key = str(uuid.uuid4())
    r1 = c.post("/api/v1/events/", theft(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    r2 = c.post("/api/v1/events/", theft(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["id"] == r2.json()["id"]
    assert Event.objects.count() == 1


@pytest.mark.parametrize("field,value,name", [
    ("type", "shoplifting", "type"),
    ("store", "NOPE-9", "store"),
    ("occurred_at", "yesterday", "occurred_at"),
    ("persons", [{"height_cm": 900}], "persons.0.height_cm"),
    ("vehicles", [{"plate": "AB$12"}], "vehicles.0.plate"),
    ("vehicles", [{"plate": "AB12", "person_ref": "p9"}], "vehicles.0.person_ref"),
    ("products", [{"quantity": 0, "description": "x"}], "products.0.quantity"),
])
def test_bad_input_names_the_field_and_stores_nothing(world, client_for, field, value, name):
    r = client_for(world.staff).post("/api/v1/events/", theft(**{field: value}), format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "Invalid request"
    assert name.split(".")[0] in body["errors"]
    assert body["detail"].startswith(name.split(".")[0])
    assert Event.objects.count() == 0 and EventPerson.objects.count() == 0


def test_staff_cannot_record_at_another_store(world, client_for):
    r = client_for(world.staff).post("/api/v1/events/", theft(store="ACME-002"), format="json")
    assert r.status_code == 403
    assert Event.objects.count() == 0


def test_other_retailers_store_code_is_unknown(world, client_for):
    r = client_for(world.staff).post("/api/v1/events/", theft(store="BM-001"), format="json")
    assert r.status_code == 400 and "store" in r.json()["errors"]


def test_police_cannot_create(world, client_for):
    r = client_for(world.officer).post("/api/v1/events/?purpose=x&case_reference=y", theft(), format="json")
    assert r.status_code == 403


def test_update_by_author_audits_before_and_after(world, client_for):
    c = client_for(world.staff)
    event_id = c.post("/api/v1/events/", theft(), format="json").json()["id"]
    person_id = EventPerson.objects.get(event_id=event_id).pk
    r = c.patch(f"/api/v1/events/{event_id}/", {"type": "robbery", "persons": [
        {"ref": "p1", "name": "Jon Smyth", "clothing": "red jacket"}]}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["type"] == "robbery"
    assert EventPerson.objects.get(event_id=event_id).pk == person_id  # same person row, corrected in place
    row = AuditEntry.objects.get(action="event.update", object_id=str(event_id))
    assert row.detail["changes"]["type"] == {"before": "theft", "after": "robbery"}


def test_update_rights(world, client_for, event_factory):
    e = event_factory(store=world.acme_akl)  # not authored by staff
    assert client_for(world.staff).patch(f"/api/v1/events/{e.pk}/", {"type": "fraud"}, format="json").status_code == 403
    assert client_for(world.investigator).patch(f"/api/v1/events/{e.pk}/", {"type": "fraud"}, format="json").status_code == 200
    assert client_for(world.other_investigator).patch(f"/api/v1/events/{e.pk}/", {"type": "fraud"}, format="json").status_code == 404


def test_delete_is_admin_only(world, client_for, event_factory):
    e = event_factory(store=world.acme_akl)
    assert client_for(world.investigator).delete(f"/api/v1/events/{e.pk}/").status_code == 403
    assert client_for(world.other_admin).delete(f"/api/v1/events/{e.pk}/").status_code == 404
    assert client_for(world.admin).delete(f"/api/v1/events/{e.pk}/").status_code == 204
    assert not Event.objects.filter(pk=e.pk).exists()
    assert AuditEntry.objects.filter(action="event.delete", object_id=str(e.pk)).exists()


def test_sensitive_phrase_refused_naming_field(world, client_for):
    body = theft(persons=[{"ref": "p1", "clothing": "black hoodie", "marks": "", "name": "", "hair": "",
                           "aliases": []}], narrative="A black guy took razor blades.")
    r = client_for(world.staff).post("/api/v1/events/", body, format="json")
    assert r.status_code == 400
    assert "narrative" in r.json()["errors"]
    assert "persons" not in r.json()["errors"]  # "black hoodie" passes
    assert Event.objects.count() == 0
