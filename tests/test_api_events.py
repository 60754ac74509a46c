from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tokens import token_create
from audit.models import AuditEntry


@pytest.fixture
def api():
    return APIClient()


def bearer(api, user):
    _, raw = token_create(organisation=user.organisation, user=user, name="test")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def test_list_is_paginated_and_scoped(world, event_factory, api):
    for _ in range(3):
        event_factory(store=world.acme_akl)
    event_factory(store=world.bmart_akl)
    r = bearer(api, world.investigator).get("/api/v1/events/?page_size=2")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert {"id", "external_id"} <= set(body["results"][0])


def test_other_tenant_event_is_404(world, event_factory, api):
    other = event_factory(store=world.bmart_akl)
    r = bearer(api, world.investigator).get(f"/api/v1/events/{other.pk}/")
    assert r.status_code == 404
    assert r.json()["status"] == 404


def test_police_must_state_purpose_and_case(world, event_factory, api):
    e = event_factory(store=world.acme_akl)
    client = bearer(api, world.officer)
    r = client.get("/api/v1/events/")
    assert r.status_code == 400 and "purpose" in r.json()["errors"]
    r = client.get("/api/v1/events/?purpose=robbery+inquiry")
    assert r.status_code == 400 and "case_reference" in r.json()["errors"]
    r = client.get(f"/api/v1/events/{e.pk}/?purpose=robbery+inquiry")
    assert r.status_code == 400 and "case_reference" in r.json()["errors"]
    r = client.get(f"/api/v1/events/{e.pk}/?purpose=robbery+inquiry&case_reference=C-1")
    assert r.status_code == 200
    row = AuditEntry.objects.filter(action="event.view", object_id=str(e.pk)).get()
    assert "robbery inquiry" in row.purpose and "C-1" in row.purpose


@pytest.mark.django_db(transaction=True)
def test_every_token_use_is_audited_and_revoked_token_refused(api, event_factory):
    from accounts.tokens import token_revoke
    from tests.conftest import build_world

    world = build_world()
    token, raw = token_create(organisation=world.acme, user=world.investigator, name="t")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/events/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    # The search row carries the token; no extra row for a request that audited itself.
    assert AuditEntry.objects.filter(action="event.search", token_id=token.pk).count() == 1
    assert AuditEntry.objects.filter(action="token.use", token_id=token.pk).count() == 0
    # A request that audits nothing of its own (here a 404) still records the token's use.
    other = event_factory(store=world.bmart_akl)
    assert api.get(f"/api/v1/events/{other.pk}/").status_code == 404
    use = AuditEntry.objects.get(action="token.use", token_id=token.pk)
    assert use.detail["status"] == 404 and use.actor_email == world.investigator.email
    token_revoke(token=token, actor=world.investigator)
    assert api.get("/api/v1/events/").status_code == 401


def test_unauthenticated_is_refused(db, api):
    assert api.get("/api/v1/events/").status_code in (401, 403)
