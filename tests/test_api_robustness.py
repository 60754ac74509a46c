"""What the security probe's fuzzing found (issue 11, finding 4): inputs that made the API answer
500. Each is a 4xx problem document now, naming the field where there is one, with nothing stored;
and a 500 that still happens is a problem document too, never the HTML error page."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.tokens import token_create
from audit.models import AuditEntry
from events.models import Event, EventDraft
from tests.test_api_errors import PROBLEM, problem, theft  # noqa: F401 (PROBLEM: the content type asserted here too)


def bearer(user) -> APIClient:
    _, raw = token_create(organisation=user.organisation, user=user, name="robustness test")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- a non-numeric id on a detail route -----------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/events/AAA/",
    "/api/v1/events/1e3/",
    "/api/v1/evidence/AAA/",
    "/api/v1/evidence/AAA/download/",
    "/api/v1/events/99999999999999999999999/",
])
def test_a_non_numeric_id_is_the_404_of_a_missing_one(world, path):
    body = problem(bearer(world.staff).get(path), 404)
    assert body["title"] == "Not found"


def test_a_non_numeric_id_on_a_write_is_404_too(world):
    client = bearer(world.staff)
    problem(client.patch("/api/v1/events/AAA/", {"narrative": "x"}, format="json"), 404)
    problem(client.delete("/api/v1/events/AAA/"), 404)
    problem(bearer(world.investigator).get("/api/v1/cross-matches/AAA/"), 404)


# --- a duplicate external_id ----------------------------------------------------------------------


def test_a_duplicate_external_id_on_create_is_400_naming_the_field(world):
    client = bearer(world.staff)
    assert client.post("/api/v1/events/", theft(external_id="X-1"), format="json").status_code == 201
    body = problem(client.post("/api/v1/events/", theft(external_id="X-1", narrative="again"), format="json"), 400)
    assert body["invalid_params"][0]["name"] == "external_id"
    assert body["detail"].startswith("external_id: ")
    assert "already" in body["detail"]
    assert Event.objects.count() == 1
    assert AuditEntry.objects.unscoped().filter(action="event.create").count() == 1  # the refused one wrote none


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_duplicate_external_id_on_update_is_400_and_changes_nothing(world, method):
    client = bearer(world.staff)
    client.post("/api/v1/events/", theft(external_id="X-1"), format="json")
    second = client.post("/api/v1/events/", theft(external_id="X-2", narrative="second"), format="json").json()
    body = problem(getattr(client, method)(f"/api/v1/events/{second['id']}/",
                                           theft(external_id="X-1", narrative="changed"), format="json"), 400)
    assert body["invalid_params"][0]["name"] == "external_id"
    event = Event.objects.get(pk=second["id"])
    assert (event.external_id, event.narrative) == ("X-2", "second")


def test_another_retailers_external_id_is_no_conflict(world):
    assert bearer(world.staff).post("/api/v1/events/", theft(external_id="X-1"), format="json").status_code == 201
    other = theft(external_id="X-1", store="BM-001")
    assert bearer(world.other_staff).post("/api/v1/events/", other, format="json").status_code == 201


# --- a NUL character ------------------------------------------------------------------------------


@pytest.mark.parametrize("path, params, field", [
    ("/api/v1/events/", {"q": "a\x00b"}, "q"),
    ("/api/v1/events/", {"store": "\x00"}, "store"),
    ("/api/v1/events/", {"page_size": "1\x00"}, "page_size"),
    ("/api/v1/evidence/", {"event": "1\x00"}, "event"),
    ("/api/v1/events/export/", {"q": "\x00"}, "q"),
])
def test_a_nul_in_a_query_parameter_is_400_naming_it(world, path, params, field):
    client = bearer(world.staff)
    body = problem(client.get(path, params), 400)
    assert body["invalid_params"][0]["name"] == field
    assert body["detail"].startswith(f"{field}: ")
    assert not AuditEntry.objects.unscoped().exclude(action__startswith="token.").exists()


def test_a_nul_in_a_query_parameter_name_is_400(world):
    body = problem(bearer(world.staff).get("/api/v1/events/?a%00b=1"), 400)
    assert "NUL" in body["detail"]


@pytest.mark.parametrize("over, field", [
    ({"narrative": "a\x00b"}, "narrative"),
    ({"external_id": "X\x00"}, "external_id"),
    ({"persons": [{"ref": "p1", "role": "offender", "name": "Jo\x00n"}]}, "persons.0.name"),
    ({"persons": [{"ref": "p1", "role": "offender", "aliases": ["\x00"]}]}, "persons.0.aliases.0"),
])
def test_a_nul_in_a_json_body_is_400_naming_the_field(world, over, field):
    body = problem(bearer(world.staff).post("/api/v1/events/", theft(**over), format="json"), 400)
    assert body["invalid_params"][0]["name"] == field
    assert not Event.objects.exists()


def test_a_nul_in_a_form_encoded_api_body_is_400(world):
    client = bearer(world.investigator)
    body = problem(client.post("/api/v1/disclosure-requests/1/decision/", "decision=approve&reason=a%00b",
                               content_type="application/x-www-form-urlencoded"), 400)
    assert body["invalid_params"][0]["name"] == "reason"


def test_a_nul_in_a_page_query_is_a_400_page_naming_the_field(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.investigator)
    response = client.get("/profiles/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "q" in response.content.decode() and "NUL" in response.content.decode()


def test_a_nul_in_the_event_form_is_a_form_error_on_the_field_and_stores_nothing(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.staff)
    form = {"store": "ACME-001", "occurred_at": "2026-01-03T14:22", "type": "theft", "narrative": "Took\x00 it",
            "products.0.sku": "1", "products.0.quantity": "1", "products.0.unit_value": "9.99",
            "draft_key": "7b1f4c1e-9f58-4a55-8a3c-3d8a5c0b4f10"}
    response = client.post("/events/new/", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="f-narrative-error"' in html and "NUL" in html
    assert not Event.objects.exists()
    assert not EventDraft.objects.exists()
    response = client.post("/events/new/", {**form, "action": "save"})  # "save draft" with a NUL: refused too
    assert response.status_code == 400 and 'id="f-narrative-error"' in response.content.decode()
    assert not EventDraft.objects.exists()


def test_a_nul_in_a_draft_sent_by_the_page_is_400_naming_the_field(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.staff)
    response = client.post("/events/drafts/7b1f4c1e-9f58-4a55-8a3c-3d8a5c0b4f10/",
                           {"data": {"narrative": "a\x00"}}, content_type="application/json")
    assert response.status_code == 400
    assert "narrative" in response.content.decode()
    assert not EventDraft.objects.exists()


# --- a JSON body that is not an object ------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "post"])
@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "3", "null", "true"])
def test_a_json_body_that_is_not_an_object_is_400(world, method, raw):
    client = bearer(world.staff)
    event = client.post("/api/v1/events/", theft(narrative="kept"), format="json").json()
    path = "/api/v1/events/" if method == "post" else f"/api/v1/events/{event['id']}/"
    body = problem(getattr(client, method)(path, raw, content_type="application/json"), 400)
    assert "JSON object" in body["detail"]
    assert Event.objects.get().narrative == "kept"


def test_json_nested_too_deep_is_400_not_500(world):
    body = problem(bearer(world.staff).post("/api/v1/events/", "[" * 50_000 + "]" * 50_000,
                                            content_type="application/json"), 400)
    assert "deep" in body["detail"]
    nested: list = []
    for _ in range(40):
        nested = [nested]
    body = problem(bearer(world.staff).post("/api/v1/events/", theft(narrative={"a": nested}), format="json"), 400)
    assert "deep" in body["detail"]


# --- a 500 is a problem document under /api/ ------------------------------------------------------


@override_settings(DEBUG=False)
def test_an_unexpected_error_under_api_is_a_problem_document(world, monkeypatch):
    from events import api

    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(api.EventViewSet, "list", boom)
    body = problem(bearer(world.staff).get("/api/v1/events/"), 500)
    assert body["title"] == "Internal error"
    assert "unexpected" not in body.get("detail", "")  # no internals leak


def test_an_unexpected_error_on_a_page_is_still_the_html_page(world, monkeypatch):
    from profiles import views

    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(views.ProfileListView, "get", boom)
    client = Client(raise_request_exception=False)
    client.force_login(world.investigator)
    response = client.get("/profiles/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")
