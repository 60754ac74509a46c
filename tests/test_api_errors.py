"""API errors are RFC 9457 problem details (application/problem+json): a 400 names the bad field (by
its dotted path, however deep), and 401/403/404/405 have the same shape. The OpenAPI schema of the
whole API generates with no warning."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.tokens import token_create
from events.models import Event

PROBLEM = "application/problem+json"


def bearer(user) -> APIClient:
    _, raw = token_create(organisation=user.organisation, user=user, name="errors test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    return body


def theft(**over) -> dict:
    body = {"store": "ACME-001", "occurred_at": "2026-01-03T14:22:00+13:00", "type": "theft",
            "products": [{"sku": "1", "quantity": 1, "unit_value": "9.99"}]}
    body.update(over)
    return body


@pytest.fixture
def own_event(world, event_factory):
    return event_factory(store=world.acme_akl, created_by=world.staff)


@pytest.fixture
def other_event(world, event_factory):
    return event_factory(store=world.bmart_akl, created_by=world.other_staff)


# --- 400: the field is named ---------------------------------------------------------------------


@pytest.mark.parametrize("over, field, words", [
    ({"store": "NOPE-9"}, "store", "No store with code"),
    ({"type": "shoplifting"}, "type", "not a valid choice"),
    ({"occurred_at": "yesterday"}, "occurred_at", "Datetime has wrong format"),
    ({"products": [{"sku": "1", "quantity": 1, "unit_value": "1"}, {"sku": "2", "quantity": 0, "unit_value": "1"}]},
     "products.1.quantity", "greater than or equal to 1"),
])
def test_400_names_the_field_and_stores_nothing(world, over, field, words):
    body = problem(bearer(world.staff).post("/api/v1/events/", theft(**over), format="json"), 400)
    assert body["title"] == "Invalid request"
    assert body["detail"].startswith(f"{field}: ")
    assert words in body["detail"]
    assert body["invalid_params"][0]["name"] == field
    assert field.split(".")[0] in body["errors"]  # DRF's own shape is kept alongside
    assert not Event.objects.exists()


def test_400_lists_every_bad_field(world):
    body = problem(bearer(world.staff).post("/api/v1/events/", {"type": "nope"}, format="json"), 400)
    names = {p["name"] for p in body["invalid_params"]}
    assert {"store", "occurred_at", "type"} <= names


def test_400_for_a_missing_police_purpose_names_it(world, own_event):
    body = problem(bearer(world.officer).get("/api/v1/events/"), 400)
    assert body["detail"].startswith("purpose: ")
    body = problem(bearer(world.officer).get(f"/api/v1/events/{own_event.pk}/", {"purpose": "robbery"}), 400)
    assert body["invalid_params"] == [{"name": "case_reference",
                                       "reason": "Police requests must state a purpose and a case reference."}]


def test_400_for_a_body_that_is_not_json(world):
    response = bearer(world.staff).post("/api/v1/events/", "{not json", content_type="application/json")
    body = problem(response, 400)
    assert "JSON parse error" in body["detail"]


# --- 401, 403, 404, 405 ----------------------------------------------------------------------------


def test_401_without_or_with_a_bad_token(world):
    body = problem(APIClient().get("/api/v1/events/"), 401)
    assert body["title"] == "Not authenticated"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer aur_not-a-real-token")
    response = client.get("/api/v1/events/")
    problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_403_for_a_visible_record_the_role_may_not_delete(world, own_event):
    body = problem(bearer(world.staff).delete(f"/api/v1/events/{own_event.pk}/"), 403)
    assert body["title"] == "Forbidden" and body["detail"]
    assert Event.objects.filter(pk=own_event.pk).exists()


def test_404_for_another_tenants_record_is_the_404_of_a_missing_one(world, other_event):
    client = bearer(world.investigator)
    theirs = problem(client.get(f"/api/v1/events/{other_event.pk}/"), 404)
    missing = problem(client.get("/api/v1/events/987654321/"), 404)
    assert theirs == missing == {"type": "about:blank", "title": "Not found", "status": 404,
                                 "detail": "Not found."}
    problem(client.delete(f"/api/v1/events/{other_event.pk}/"), 404)
    problem(client.get(f"/api/v1/events/{other_event.pk}/evidence/"), 404)


def test_404_for_a_page_past_the_end(world, own_event):
    body = problem(bearer(world.investigator).get("/api/v1/events/", {"page": 99}), 404)
    assert "Invalid page" in body["detail"]


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/events/{pk}/"),
    ("put", "/api/v1/events/"),
    ("patch", "/api/v1/evidence/"),
    ("put", "/api/v1/evidence/1/"),
])
def test_405_for_a_method_the_endpoint_does_not_have(world, own_event, method, path):
    response = getattr(bearer(world.admin), method)(path.format(pk=own_event.pk), {}, format="json")
    body = problem(response, 405)
    assert body["title"] == "Method not allowed"
    assert method.upper() in body["detail"]
    assert method.upper() not in response["Allow"]


# --- the schema --------------------------------------------------------------------------------------


def test_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert text.startswith("openapi: 3.")
    assert "/api/v1/events/" in text and "bearerToken" in text


def test_schema_is_served(world, client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer",
        "description": "A personal or service API token (`manage.py create_token`, or the Security page)."}
    assert "/api/v1/events/{id}/" in schema["paths"]


def test_the_browsable_docs_load_nothing_from_the_internet(world, client):
    """Swagger UI's script and styles are served by the site itself (drf-spectacular-sidecar), so the
    docs work on a machine with no internet access."""
    import re

    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert links and not [u for u in links if u.startswith(("http:", "https:", "//"))], links
    script = next(u for u in links if u.endswith("swagger-ui-bundle.js"))
    asset = client.get(script)
    assert asset.status_code == 200
    body = b"".join(asset.streaming_content) if asset.streaming else asset.content
    assert b"SwaggerUIBundle" in body


def test_404_for_a_url_that_is_no_endpoint(world, client):
    body = problem(bearer(world.investigator).get("/api/v1/no-such-thing/"), 404)
    assert body["detail"] == "No API endpoint at this URL."
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
