"""The API reads descriptor synonyms like an import: `POST /api/v1/events/` maps them, leaves out what
it cannot read, and lists both in the 201's `warnings`; `?strict_values=true` refuses instead."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tokens import token_create
from events.models import Event, EventPerson
from events.services_vocabulary import descriptor_synonym_add


def bearer(user) -> APIClient:
    _, raw = token_create(organisation=user.organisation, user=user, name="synonyms test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def theft(**person) -> dict:
    return {"store": "ACME-001", "occurred_at": "2026-01-03T14:22:00+13:00", "type": "theft",
            "products": [{"sku": "1", "description": "Razor blades", "quantity": 1, "unit_value": "9.99"}],
            "persons": [{"name": "Jon Smith", **person}]}


def test_the_api_reads_synonyms_and_says_so(world):
    r = bearer(world.staff).post("/api/v1/events/", theft(build="stocky", gender="M", age_band="30-40",
                                                          role="Shoplifter"), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert {k: body["persons"][0][k] for k in ("build", "gender", "age_band", "role")} == {
        "build": "heavy", "gender": "male", "age_band": "35-44", "role": "offender"}
    by_field = {w["field"]: w for w in body["warnings"]}
    assert set(by_field) == {"persons.0.build", "persons.0.gender", "persons.0.age_band", "persons.0.role"}
    assert by_field["persons.0.build"] == {"field": "persons.0.build", "value": "stocky", "outcome": "mapped",
                                           "maps_to": "heavy", "action": "“stocky” read as heavy (built-in synonym)"}
    assert by_field["persons.0.age_band"]["action"] == "“30-40” read as 35-44 (the age band holding most of it)"
    assert EventPerson.objects.get().build == "heavy"


def test_a_value_nothing_reads_is_left_out_and_the_event_created(world):
    r = bearer(world.staff).post("/api/v1/events/", theft(build="lanky-ish", role="bouncer"), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["persons"][0]["build"] == "" and body["persons"][0]["role"] == "other"
    assert {w["field"]: (w["outcome"], w["maps_to"]) for w in body["warnings"]} == {
        "persons.0.build": ("not_known", ""), "persons.0.role": ("not_known", "other")}


def test_values_of_the_field_give_no_warning(world):
    r = bearer(world.staff).post("/api/v1/events/", theft(build="slim", gender="male"), format="json")
    assert r.status_code == 201 and r.json()["warnings"] == []


def test_strict_values_refuses_naming_the_field_and_stores_nothing(world):
    r = bearer(world.staff).post("/api/v1/events/?strict_values=true", theft(build="lanky-ish"), format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["invalid_params"][0]["name"] == "persons.0.build"
    assert "“lanky-ish” is not a known build" in body["invalid_params"][0]["reason"]
    assert not Event.objects.exists()
    # A synonym is still read in strict mode.
    r = bearer(world.staff).post("/api/v1/events/?strict_values=true", theft(build="stocky"), format="json")
    assert r.status_code == 201 and r.json()["persons"][0]["build"] == "heavy"


def test_the_callers_retailers_own_words_apply_and_no_other_retailers(world):
    descriptor_synonym_add(actor=world.other_admin, organisation=world.bmart, field="build", value="big lad",
                           maps_to="heavy")
    r = bearer(world.staff).post("/api/v1/events/", theft(build="big lad"), format="json")
    assert r.json()["persons"][0]["build"] == "" and r.json()["warnings"][0]["outcome"] == "not_known"
    descriptor_synonym_add(actor=world.admin, organisation=world.acme, field="build", value="big lad",
                           maps_to="muscular")
    r = bearer(world.staff).post("/api/v1/events/", theft(build="big lad"), format="json")
    assert r.json()["persons"][0]["build"] == "muscular"
    assert r.json()["warnings"][0]["action"] == "“big lad” read as muscular (your organisation's synonym)"


def test_an_update_reads_synonyms_too(world):
    created = bearer(world.staff).post("/api/v1/events/", theft(build="slim"), format="json").json()
    body = dict(theft(build="athletic"), persons=[{"ref": "p1", "name": "Jon Smith", "build": "athletic"}])
    r = bearer(world.staff).put(f"/api/v1/events/{created['id']}/", body, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["persons"][0]["build"] == "muscular" and r.json()["warnings"][0]["maps_to"] == "muscular"


@pytest.mark.parametrize("bad", [["heavy"], {"a": 1}, True])
def test_a_value_of_the_wrong_type_is_still_refused(world, bad):
    r = bearer(world.staff).post("/api/v1/events/", theft(build=bad), format="json")
    assert r.status_code == 400 and r.json()["invalid_params"][0]["name"] == "persons.0.build"
