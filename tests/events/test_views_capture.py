"""Recording, correcting and deleting events in the browser (without JavaScript: plain form posts),
drafts, and the draft endpoint the page's script uses."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from events.models import Event, EventDraft, Product
from tests.admin.conftest import sign_in

NEW = "/events/new/"


def when(hours_ago: int = 1, tz: str = "Pacific/Auckland") -> str:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).astimezone(zoneinfo.ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def theft(**over) -> dict[str, str]:
    data = {
        "type": "theft", "store": "ACME-001", "occurred_at": when(),
        "persons.0.ref": "p1", "persons.0.role": "offender", "persons.0.name": "Jon Smith",
        "persons.0.aliases.0": "Johnny", "persons.0.age_band": "25-34", "persons.0.gender": "male",
        "persons.0.height_cm": "180", "persons.0.build": "slim", "persons.0.hair": "short brown",
        "persons.0.clothing": "black hoodie, grey trackpants", "persons.0.marks": "star tattoo on left hand",
        "products.0.sku": "9300601", "products.0.quantity": "2", "products.0.description": "", "products.0.unit_value": "",
        "vehicles.0.plate": "abc-123", "vehicles.0.make": "Toyota", "vehicles.0.colour": "silver",
        "vehicles.0.person_ref": "p1",
        "narrative": "Filled a bag with razor blades and left past the tills.",
        "police_sharing": "", "action": "submit",
    }
    data.update(over)
    return data


@pytest.fixture
def catalogue(world):
    return Product.objects.create(organisation=world.acme, sku="9300601", description="Razor blades 8pk",
                                  unit_value="24.99")


@pytest.fixture
def staff(world, client):
    return sign_in(client, world.staff)


def test_staff_record_a_theft_with_a_catalogue_product_and_a_linked_vehicle(world, staff, catalogue):
    key = uuid.uuid4()
    r = staff.post(NEW, theft(draft_key=str(key)))
    assert r.status_code == 302
    event = Event.objects.get(client_key=key)
    assert r["Location"] == f"/events/{event.pk}/"
    assert (event.store, event.type, event.created_by) == (world.acme_akl, "theft", world.staff)
    person = event.persons.get()
    assert (person.name, person.aliases, person.height_cm, person.clothing) == (
        "Jon Smith", ["Johnny"], 180, "black hoodie, grey trackpants")
    product = event.products.get()
    assert (product.description, str(product.unit_value), product.quantity) == ("Razor blades 8pk", "24.99", 2)
    assert str(event.total_value) == "49.98"
    vehicle = event.vehicles.get()
    assert (vehicle.plate_normalised, vehicle.person) == ("ABC123", person)
    assert event.police_sharing == ""  # the retailer's default
    assert AuditEntry.objects.filter(action="event.create", object_id=str(event.pk)).count() == 1
    # The draft became the event: it leaves "My drafts".
    assert EventDraft.objects.get(key=key).event == event
    page = staff.get(r["Location"])
    assert "Theft" in page.content.decode() and "recorded" in page.content.decode()


def test_when_is_the_store_local_time(world, staff):
    key = uuid.uuid4()
    local = dt.datetime(2026, 1, 10, 14, 22)  # NZ summer time, UTC+13
    r = staff.post(NEW, theft(draft_key=str(key), occurred_at=local.strftime("%Y-%m-%dT%H:%M")))
    assert r.status_code == 302
    event = Event.objects.get(client_key=key)
    assert event.occurred_at == dt.datetime(2026, 1, 10, 1, 22, tzinfo=dt.UTC)


def test_submitting_the_same_draft_twice_records_one_event(world, staff, catalogue):
    key = str(uuid.uuid4())
    first = staff.post(NEW, theft(draft_key=key))
    second = staff.post(NEW, theft(draft_key=key))
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Event.objects.filter(organisation=world.acme).count() == 1
    assert AuditEntry.objects.filter(action="event.create").count() == 1


def test_background_submit_is_told_where_to_go(world, staff, catalogue):
    r = staff.post(NEW, theft(draft_key=str(uuid.uuid4())), HTTP_X_REQUESTED_WITH="fetch")
    assert r.status_code == 200
    event = Event.objects.get()
    assert r.json() == {"redirect": f"/events/{event.pk}/"}


def test_bad_input_is_shown_at_the_field_and_changes_nothing(world, staff):
    key = str(uuid.uuid4())
    r = staff.post(NEW, theft(draft_key=key, type="", **{"persons.0.height_cm": "900", "products.0.quantity": "0"}))
    assert r.status_code == 400
    html = r.content.decode()
    assert Event.objects.count() == 0
    # Each error sits next to its own field, tied to it for assistive technology.
    assert 'id="f-persons-0-height_cm-error"' in html
    assert 'aria-describedby="f-persons-0-height_cm-error' in html
    assert 'id="f-products-0-quantity-error"' in html
    assert 'id="f-type-error"' in html
    # The summary at the top links to the fields.
    assert 'href="#f-persons-0-height_cm"' in html and 'href="#f-type-theft"' in html
    # What was typed is still there.
    assert 'value="Jon Smith"' in html and "black hoodie, grey trackpants" in html
    # …and kept as the draft.
    assert EventDraft.objects.get(key=key).data["persons.0.name"] == "Jon Smith"


def test_a_sensitive_phrase_is_refused_at_its_field(world, staff):
    r = staff.post(NEW, theft(draft_key=str(uuid.uuid4()), **{"persons.0.clothing": "black guy in a hoodie"}))
    assert r.status_code == 400
    html = r.content.decode()
    start = html.index('id="f-persons-0-clothing-error"')
    message = html[start:html.index("</p>", start)]
    assert "black guy" in message
    assert 'aria-invalid="true"' in html[html.index('id="f-persons-0-clothing"'):][:400] or \
        'aria-invalid="true"' in html[html.rindex("<input", 0, html.index('id="f-persons-0-clothing"')):][:400]
    assert Event.objects.count() == 0


def test_empty_rows_are_dropped_and_errors_follow_the_rows_that_remain(world, staff):
    data = theft(draft_key=str(uuid.uuid4()))
    # An untouched person row first (only its default role), the real one second.
    data.update({"persons.0.name": "", "persons.0.aliases.0": "", "persons.0.age_band": "", "persons.0.gender": "",
                 "persons.0.height_cm": "", "persons.0.build": "", "persons.0.hair": "", "persons.0.clothing": "",
                 "persons.0.marks": "", "persons.1.ref": "p2", "persons.1.role": "offender",
                 "persons.1.name": "Kim", "persons.1.height_cm": "20", "vehicles.0.person_ref": "p2"})
    r = staff.post(NEW, data)
    assert r.status_code == 400
    html = r.content.decode()
    # The page comes back with the one real person, as person 1, with the error at its height.
    assert 'id="f-persons-0-height_cm-error"' in html and 'value="Kim"' in html
    assert 'name="persons.1.name"' not in html


def test_a_store_outside_the_users_scope_is_a_field_error(world, staff):
    r = staff.post(NEW, theft(draft_key=str(uuid.uuid4()), store="ACME-002"))
    assert r.status_code == 400
    assert 'id="f-store-error"' in r.content.decode()
    assert Event.objects.count() == 0


def test_an_other_retailers_store_code_is_a_field_error(world, staff):
    r = staff.post(NEW, theft(draft_key=str(uuid.uuid4()), store="BM-001"))
    assert r.status_code == 400
    assert 'id="f-store-error"' in r.content.decode()


def test_add_another_person_without_javascript_keeps_what_was_typed(world, staff):
    key = str(uuid.uuid4())
    data = theft(draft_key=key, add="persons")
    data.pop("action")
    r = staff.post(NEW, data)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'name="persons.1.name"' in html and 'value="Jon Smith"' in html
    assert 'name="persons.1.ref" value="p2"' in html
    assert "autofocus" in html[html.index('name="persons.1.name"') - 300:html.index('name="persons.1.name"') + 300]
    assert Event.objects.count() == 0
    assert EventDraft.objects.get(key=key).data["persons.0.name"] == "Jon Smith"


def test_remove_a_row_without_javascript(world, staff):
    data = theft(draft_key=str(uuid.uuid4()), remove="vehicles.0")
    data.pop("action")
    r = staff.post(NEW, data)
    assert r.status_code == 200
    assert 'name="vehicles.0.plate"' not in r.content.decode()


def test_catalogue_fills_a_typed_sku_and_the_total_without_javascript(world, staff, catalogue):
    data = theft(draft_key=str(uuid.uuid4()), action="save")
    r = staff.post(NEW, data)
    html = r.content.decode()
    assert 'value="Razor blades 8pk"' in html and 'value="24.99"' in html
    assert 'id="running-total" aria-live="polite">49.98<' in html


def test_form_defaults(world, staff):
    r = staff.get(NEW)
    html = r.content.decode()
    assert r.status_code == 200
    assert '<option value="ACME-001" selected>' in html  # the only store in this user's scope
    assert "ACME-002" not in html
    now_local = timezone.now().astimezone(zoneinfo.ZoneInfo("Pacific/Auckland")).strftime("%Y-%m-%dT%H")
    assert f'value="{now_local}' in html
    assert "Retailer default (agencies whose jurisdiction covers the store)" in html
    for name in ("type", "persons.0.name", "persons.0.aliases.0", "products.0.sku", "narrative", "sensitive_reason",
                 "police_reference", "weapon", "injury"):
        assert f'name="{name}"' in html


# --- drafts ------------------------------------------------------------------------------------------


def draft_post(client, key, data):
    return client.post(f"/events/drafts/{key}/", json.dumps({"data": data}), content_type="application/json")


def test_draft_saves_and_resumes(world, staff):
    key = uuid.uuid4()
    r = draft_post(staff, key, {"type": "robbery", "persons.0.name": "Pat", "persons.3.name": "Lee", "junk": "x"})
    assert r.status_code == 200 and r.json()["saved"] is True
    draft = EventDraft.objects.get(key=key)
    assert draft.user == world.staff and draft.data == {"type": "robbery", "persons.0.name": "Pat",
                                                        "persons.3.name": "Lee"}
    page = staff.get(f"{NEW}?draft={key}").content.decode()
    assert 'value="Pat"' in page and 'value="Lee"' in page
    assert 'id="f-type-robbery" name="type" value="robbery" checked' in page
    listing = staff.get("/events/drafts/").content.decode()
    assert f"?draft={key}" in listing and "Robbery" in listing


def test_draft_save_returns_refusals_while_typing(world, staff):
    r = draft_post(staff, uuid.uuid4(), {"persons.0.clothing": "black guy", "persons.0.hair": "black hair"})
    assert list(r.json()["warnings"]) == ["persons.0.clothing"]
    assert "black guy" in r.json()["warnings"]["persons.0.clothing"][0]


def test_someone_elses_draft_key_is_not_found(world, staff, client):
    key = uuid.uuid4()
    draft_post(sign_in(client, world.staff_wlg), key, {"narrative": "mine"})
    other = sign_in(type(client)(), world.staff)
    assert draft_post(other, key, {"narrative": "theirs"}).status_code == 404
    assert EventDraft.objects.get(key=key).data == {"narrative": "mine"}
    page = other.get(f"{NEW}?draft={key}").content.decode()
    assert "mine" not in page and str(key) not in page  # a fresh key, not theirs
    # Sending the form with someone else's key does not adopt it.
    r = other.post(NEW, theft(draft_key=str(key)))
    assert r.status_code == 302 and str(Event.objects.get().client_key) != str(key)


def test_draft_of_a_recorded_event_says_so(world, staff, catalogue):
    key = uuid.uuid4()
    draft_post(staff, key, {"type": "theft"})
    staff.post(NEW, theft(draft_key=str(key)))
    event = Event.objects.get()
    r = draft_post(staff, key, {"type": "theft"})
    assert r.status_code == 409 and r.json()["event_url"] == f"/events/{event.pk}/"
    assert staff.get(f"{NEW}?draft={key}")["Location"] == f"/events/{event.pk}/"
    assert str(key) not in staff.get("/events/drafts/").content.decode()


def test_draft_endpoint_refuses_bad_bodies_and_methods(world, staff):
    key = uuid.uuid4()
    assert staff.post(f"/events/drafts/{key}/", "not json", content_type="application/json").status_code == 400
    assert staff.post(f"/events/drafts/{key}/", json.dumps({"data": [1]}), content_type="application/json").status_code == 400
    assert staff.get(f"/events/drafts/{key}/").status_code == 405


def test_discard_a_draft(world, staff, client):
    key = uuid.uuid4()
    draft_post(staff, key, {"narrative": "x"})
    other = sign_in(type(client)(), world.staff_wlg)
    assert other.post(f"/events/drafts/{key}/discard/").status_code == 404
    r = staff.post(f"/events/drafts/{key}/discard/")
    assert r.status_code == 302 and not EventDraft.objects.filter(key=key).exists()


def test_police_and_operators_may_not_record(world, client):
    assert sign_in(client, world.officer).get(NEW).status_code == 403
    assert sign_in(type(client)(), world.operator).get("/events/drafts/").status_code == 403
    assert draft_post(sign_in(type(client)(), world.officer), uuid.uuid4(), {}).status_code == 403


def test_wrong_method(world, staff):
    assert staff.put(NEW).status_code == 405
    assert staff.get(f"/events/drafts/{uuid.uuid4()}/discard/").status_code == 405


# --- correcting and deleting -------------------------------------------------------------------------


@pytest.fixture
def recorded(world, client, catalogue):
    c = sign_in(client, world.staff)
    c.post(NEW, theft(draft_key=str(uuid.uuid4())))
    event = Event.objects.get()
    Event.objects.filter(pk=event.pk).update(external_id="ACME-2026-000123")
    event.refresh_from_db()
    return event


def test_the_author_corrects_their_event(world, client, recorded):
    c = sign_in(client, world.staff)
    page = c.get(f"/events/{recorded.pk}/edit/").content.decode()
    assert 'value="Jon Smith"' in page and 'value="Johnny"' in page and "Save corrections" in page
    data = theft(**{"persons.0.name": "Jon Smyth", "products.0.unit_value": "20.00", "weapon": "knife",
                    "threatened_violence": "true"})
    r = c.post(f"/events/{recorded.pk}/edit/", data)
    assert r.status_code == 302
    recorded.refresh_from_db()
    assert recorded.persons.get().name == "Jon Smyth"
    assert (str(recorded.total_value), recorded.weapon, recorded.threatened_violence) == ("40.00", "knife", True)
    assert recorded.external_id == "ACME-2026-000123"  # not on the form, not lost
    change = AuditEntry.objects.get(action="event.update", object_id=str(recorded.pk))
    assert change.detail["changes"]["weapon"] == {"before": "", "after": "knife"}


def test_investigators_correct_and_see_the_history(world, client, recorded):
    c = sign_in(client, world.investigator)
    r = c.post(f"/events/{recorded.pk}/edit/", theft(narrative="Took razor blades."))
    assert r.status_code == 302
    page = c.get(f"/events/{recorded.pk}/").content.decode()
    assert "History" in page and "Took razor blades." in page and "staff@acme.test" in page
    # Store staff see the event but not its change history.
    staff_page = sign_in(type(client)(), world.staff).get(f"/events/{recorded.pk}/").content.decode()
    assert 'id="h-history"' not in staff_page


def test_bad_correction_changes_nothing(world, client, recorded):
    c = sign_in(client, world.investigator)
    r = c.post(f"/events/{recorded.pk}/edit/", theft(**{"persons.0.marks": "black guy tattoo"}))
    assert r.status_code == 400 and 'id="f-persons-0-marks-error"' in r.content.decode()
    assert recorded.persons.get().marks == "star tattoo on left hand"


def test_correcting_someone_elses_event(world, client, recorded):
    # Other retailer: as if it did not exist.
    assert sign_in(client, world.other_admin).get(f"/events/{recorded.pk}/edit/").status_code == 404
    assert sign_in(type(client)(), world.other_staff).post(f"/events/{recorded.pk}/edit/", theft()).status_code == 404
    # Same retailer, a store worker who is not the author: may not.
    staff2 = sign_in(type(client)(), world.staff_wlg)
    assert staff2.get(f"/events/{recorded.pk}/edit/").status_code == 404  # not their store: not visible at all
    from accounts.models import User
    colleague = User.objects.create_user("colleague@acme.test", "pw-pw-pw-pw-1", organisation=world.acme,
                                         role="store_staff")
    colleague.stores.set([world.acme_akl])
    assert sign_in(type(client)(), colleague).get(f"/events/{recorded.pk}/edit/").status_code == 403
    assert sign_in(type(client)(), world.officer).get(f"/events/{recorded.pk}/edit/").status_code == 403


def test_retailer_admins_delete_after_confirming(world, client, recorded):
    admin = sign_in(client, world.admin)
    page = admin.get(f"/events/{recorded.pk}/delete/")
    assert page.status_code == 200 and "Delete the event" in page.content.decode()
    assert Event.objects.filter(pk=recorded.pk).exists()
    r = admin.post(f"/events/{recorded.pk}/delete/")
    assert r.status_code == 302 and r["Location"] == "/events/"
    assert not Event.objects.filter(pk=recorded.pk).exists()
    assert AuditEntry.objects.filter(action="event.delete", object_id=str(recorded.pk)).count() == 1


def test_only_retailer_admins_delete(world, client, recorded):
    assert sign_in(client, world.investigator).post(f"/events/{recorded.pk}/delete/").status_code == 403
    assert sign_in(type(client)(), world.staff).get(f"/events/{recorded.pk}/delete/").status_code == 403
    assert sign_in(type(client)(), world.other_admin).post(f"/events/{recorded.pk}/delete/").status_code == 404
    assert Event.objects.filter(pk=recorded.pk).exists()
    detail = sign_in(type(client)(), world.investigator).get(f"/events/{recorded.pk}/").content.decode()
    assert f"/events/{recorded.pk}/delete/" not in detail and f"/events/{recorded.pk}/edit/" in detail


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 60, 30)).save(buf, "JPEG")
    return buf.getvalue()


def test_photos_chosen_for_a_person_become_evidence_on_that_person(world, staff, catalogue):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = theft(draft_key=str(uuid.uuid4()))
    data["persons.0.photos"] = [SimpleUploadedFile("still.jpg", _jpeg(), content_type="image/jpeg")]
    r = staff.post(NEW, data)
    assert r.status_code == 302
    event = Event.objects.get()
    item = event.evidence.get()
    assert item.person == event.persons.get() and item.original_filename == "still.jpg"
    assert "1 photo added to the evidence." in staff.get(r["Location"]).content.decode()


def test_a_refused_photo_is_reported_and_the_event_is_kept(world, staff, catalogue):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = theft(draft_key=str(uuid.uuid4()))
    data["persons.0.photos"] = [SimpleUploadedFile("still.jpg", b"not an image at all", content_type="image/jpeg")]
    r = staff.post(NEW, data)
    assert r.status_code == 302
    event = Event.objects.get()
    assert not event.evidence.exists()
    page = staff.get(r["Location"]).content.decode()
    assert "Photo not added" in page and "still.jpg" in page
