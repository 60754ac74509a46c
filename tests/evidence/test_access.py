"""Evidence is visible exactly when its event is; uploading needs change rights on the event;
deleting is for retailer admins. Another tenant's item is a 404, a too-low role a 403."""

from __future__ import annotations

import pytest

from evidence.models import EvidenceItem
from evidence.services import evidence_upload
from tests.evidence import corpus
from tests.evidence.conftest import NamedBytes, upload


@pytest.fixture
def item(world, event):
    return evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.png(), "a.png")]).stored[0]


@pytest.fixture
def other_item(world, other_event):
    return evidence_upload(actor=world.other_staff, event=other_event,
                           files=[NamedBytes(corpus.png(), "b.png")]).stored[0]


def test_visible_exactly_when_the_event_is(world, item, other_item):
    from events.models import Event

    for user in world.users.values():
        events = set(Event.objects.visible_to(user).values_list("pk", flat=True))
        items = set(EvidenceItem.objects.visible_to(user).values_list("event_id", flat=True))
        assert items == events & {item.event_id, other_item.event_id}, user.email


@pytest.mark.parametrize("path", ["/evidence/{pk}/", "/evidence/{pk}/download/", "/evidence/{pk}/thumbnail/",
                                  "/evidence/{pk}/delete/"])
def test_html_other_tenant_is_404(path, world, other_item, as_user):
    assert as_user(world.admin).get(path.format(pk=other_item.pk)).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/evidence/{pk}/", "/api/v1/evidence/{pk}/download/"])
def test_api_other_tenant_is_404(path, world, other_item, api_as):
    assert api_as(world.investigator).get(path.format(pk=other_item.pk)).status_code == 404
    assert api_as(world.admin).delete(f"/api/v1/evidence/{other_item.pk}/").status_code == 404


def test_other_tenant_event_upload_and_list_are_404(world, other_event, api_as, as_user):
    api = api_as(world.admin)
    assert api.get(f"/api/v1/events/{other_event.pk}/evidence/").status_code == 404
    r = api.post(f"/api/v1/events/{other_event.pk}/evidence/", {"files": [upload("a.png", corpus.png())]},
                 format="multipart")
    assert r.status_code == 404
    browser = as_user(world.admin)
    assert browser.get(f"/evidence/event/{other_event.pk}/").status_code == 404
    assert browser.post(f"/evidence/event/{other_event.pk}/upload/",
                        {"files": [upload("a.png", corpus.png())]}).status_code == 404
    assert browser.get(f"/evidence/event/{other_event.pk}/statement/").status_code == 404
    assert not EvidenceItem.objects.filter(event=other_event).exists()


def test_store_staff_at_another_store_sees_nothing(world, item, api_as):
    assert api_as(world.staff_wlg).get(f"/api/v1/evidence/{item.pk}/").status_code == 404


def test_too_low_role_is_403(world, event, item, api_as, as_user):
    # An investigator may see the item but not delete it.
    assert api_as(world.investigator).delete(f"/api/v1/evidence/{item.pk}/").status_code == 403
    assert as_user(world.investigator).post(f"/evidence/{item.pk}/delete/").status_code == 403
    # A colleague at the same store may see the event but not change it, so may not add evidence.
    from tests.factories import UserFactory

    colleague = UserFactory(email="colleague@acme.test", organisation=world.acme, role="store_staff",
                            stores=[world.acme_akl])
    r = api_as(colleague).post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload("a.png", corpus.png())]},
                               format="multipart")
    assert r.status_code == 403
    assert as_user(colleague).post(f"/evidence/event/{event.pk}/upload/",
                                   {"files": [upload("a.png", corpus.png())]}).status_code == 403
    assert EvidenceItem.objects.count() == 1


def test_police_see_shared_evidence_with_a_purpose_but_cannot_upload(world, event, item, api_as, as_user):
    # acme shares with agencies whose jurisdiction covers the store (AKL): Auckland police see it.
    api = api_as(world.officer)
    r = api.get(f"/api/v1/evidence/{item.pk}/")
    assert r.status_code == 400 and "purpose" in r.json()["errors"]
    r = api.get(f"/api/v1/evidence/{item.pk}/download/?purpose=theft+ring&case_reference=C-9")
    assert r.status_code == 200
    b"".join(r.streaming_content)
    assert item.custody.filter(action="downloaded").get().purpose == "theft ring (case C-9)"
    r = api.post(f"/api/v1/events/{event.pk}/evidence/?purpose=x&case_reference=y",
                 {"files": [upload("a.png", corpus.png())]}, format="multipart")
    assert r.status_code == 403
    assert as_user(world.officer).post(f"/evidence/event/{event.pk}/upload/").status_code == 403
    # Wellington police: not their jurisdiction, so the item does not exist for them.
    r = api_as(world.officer_wlg).get(f"/api/v1/evidence/{item.pk}/?purpose=x&case_reference=y")
    assert r.status_code == 404


def test_platform_operator_sees_no_content(world, item, api_as, as_user):
    assert api_as(world.operator).get(f"/api/v1/evidence/{item.pk}/").status_code == 404
    assert as_user(world.operator).get(f"/evidence/{item.pk}/").status_code == 403  # not a reader role


def test_wrong_method_is_405(world, event, item, api_as, as_user):
    api = api_as(world.admin)
    assert api.put(f"/api/v1/evidence/{item.pk}/", {}).status_code == 405
    assert api.post(f"/api/v1/evidence/{item.pk}/download/").status_code == 405
    assert api.delete(f"/api/v1/events/{event.pk}/evidence/").status_code == 405
    browser = as_user(world.admin)
    assert browser.get(f"/evidence/event/{event.pk}/upload/").status_code == 405
    assert browser.post(f"/evidence/{item.pk}/download/").status_code == 405


def test_anonymous_is_sent_to_sign_in(client, item):
    assert client.get(f"/evidence/{item.pk}/").status_code == 302
    assert client.get(f"/api/v1/evidence/{item.pk}/").status_code in (401, 403)


def test_sensitive_event_evidence_needs_sensitive_access(world, event, item, api_as):
    event.sensitive = True
    event.save(update_fields=["sensitive"])
    assert api_as(world.investigator).get(f"/api/v1/evidence/{item.pk}/").status_code == 404
    assert api_as(world.investigator_sensitive).get(f"/api/v1/evidence/{item.pk}/").status_code == 200
