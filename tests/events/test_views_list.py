"""The event list (filters and search) and the event page."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from events.models import EventPerson, EventProduct, EventVehicle
from events.selectors import display_timezone, events_visible, search_tsquery
from tests.admin.conftest import sign_in
from tests.factories import EventFactory


def make(world, store=None, days_ago=1, **kw):
    persons = kw.pop("persons", [])
    products = kw.pop("products", [])
    plates = kw.pop("plates", [])
    event = EventFactory(store=store or world.acme_akl, occurred_at=timezone.now() - dt.timedelta(days=days_ago), **kw)
    for i, (name, aliases) in enumerate(persons):
        EventPerson.objects.create(event=event, ref=f"p{i + 1}", name=name, aliases=aliases)
    for sku, value in products:
        EventProduct.objects.create(event=event, sku=sku, description=f"Item {sku}", quantity=1, unit_value=value)
    for plate in plates:
        from events.models import normalise_plate

        EventVehicle.objects.create(event=event, plate=plate, plate_normalised=normalise_plate(plate))
    return event


@pytest.fixture
def events(world):
    return {
        "smith": make(world, persons=[("Jonathan Smith", ["Johnny"])], narrative="Took razor blades", days_ago=1,
                      total_value=Decimal("49.98")),
        "plate": make(world, plates=["KBO 812"], type="robbery", used_violence=True, weapon="knife", days_ago=3,
                      total_value=Decimal("300")),
        "sku": make(world, products=[("9300601", "24.99")], prevented=True, external_id="ACME-2026-000123",
                    days_ago=10, total_value=Decimal("24.99")),
        "wlg": make(world, store=world.acme_wlg, persons=[("Jonathan Smith", [])], days_ago=2),
        "bmart": make(world, store=world.bmart_akl, persons=[("Jonathan Smith", [])], narrative="razor blades"),
    }


def ids(qs):
    return set(qs.values_list("pk", flat=True))


@pytest.mark.parametrize("q, expect", [
    ("jonath", {"smith", "wlg"}), ("smith jon", {"smith", "wlg"}), ("jonathan smi", {"smith", "wlg"}), ("JOHNNY", {"smith"}), ("razor", {"smith"}),
    ("kbo812", {"plate"}), ("KBO-812", {"plate"}), ("9300601", {"sku"}), ("ACME-2026-000123", {"sku"}),
    ("nothing-like-it", set()), ("'); drop table events_event; --", set()),
])
def test_search_finds_names_aliases_plates_skus_narrative_and_ids(world, events, q, expect):
    found = ids(events_visible(user=world.investigator, filters={"q": q}))
    assert found == {events[k].pk for k in expect}


@pytest.mark.parametrize("q, expect", [
    ("jonath", {"smith", "wlg"}), ("razor", {"smith"}), ("kbo812", {"plate"}), ("9300601", {"sku"}),
    ("ACME-2026-000123", {"sku"}),
])
def test_search_of_common_words_walks_the_newest_events_and_finds_the_same(world, events, q, expect, monkeypatch):
    """Every branch taken the way a common word is (walking the newest events, checking each)."""
    import events.selectors as selectors

    monkeypatch.setattr(selectors, "RARE_MATCHES", 0)
    found = ids(events_visible(user=world.investigator, filters={"q": q}, search_limit=51))
    assert found == {events[k].pk for k in expect}
    assert ids(events_visible(user=world.staff, filters={"q": q}, search_limit=51)) <= {events["smith"].pk,
                                                                                        events["plate"].pk,
                                                                                        events["sku"].pk}


def test_search_never_crosses_the_access_policy(world, events):
    assert ids(events_visible(user=world.staff, filters={"q": "jonathan"})) == {events["smith"].pk}
    assert ids(events_visible(user=world.other_investigator, filters={"q": "razor"})) == {events["bmart"].pk}


def test_tsquery_is_words_and_prefixes_only():
    assert search_tsquery("Jon O'Brien-Smith 12") == "'jon' & 'o' & 'brien' & 'smith' & '12'"
    assert search_tsquery("jon smi") == "'jon' & 'smi':*"
    assert search_tsquery("  ';:* | ! ") == ""


def test_filters(world, events, client):
    c = sign_in(client, world.investigator)
    def listed(query):
        r = c.get("/events/?" + query)
        assert r.status_code == 200
        return {e.pk for e in r.context["object_list"]}
    assert listed("prevented=yes") == {events["sku"].pk}
    assert events["sku"].pk not in listed("prevented=no")
    assert listed("violence=used") == {events["plate"].pk}
    assert listed("violence=weapon") == {events["plate"].pk}
    assert listed("type=robbery") == {events["plate"].pk}
    assert listed(f"store={world.acme_wlg.pk}") == {events["wlg"].pk}
    assert listed("value_min=40&value_max=100") == {events["smith"].pk}
    # Dates are days where the user is (the list's display timezone), not in UTC: near midnight
    # there, "2 days ago" in UTC is another day.
    here = display_timezone(world.investigator)
    start = (timezone.now() - dt.timedelta(days=5)).astimezone(here).date().isoformat()
    end = (timezone.now() - dt.timedelta(days=2)).astimezone(here).date().isoformat()
    assert listed(f"date_from={start}&date_to={end}") == {events["plate"].pk, events["wlg"].pk}
    assert listed("q=jonathan&store=" + str(world.acme_akl.pk)) == {events["smith"].pk}


def test_a_bad_filter_is_named_and_the_others_still_apply(world, events, client):
    r = sign_in(client, world.investigator).get("/events/?value_min=lots&type=robbery")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="f-value_min-error"' in html and 'aria-describedby="f-value_min-error"' in html
    assert {e.pk for e in r.context["object_list"]} == {events["plate"].pk}
    r = sign_in(client, world.investigator).get("/events/?value_min=50&value_max=10")
    assert "The upper value is below the lower one." in r.content.decode()


def test_search_is_audited_with_its_filters(world, events, client):
    sign_in(client, world.investigator).get("/events/?q=razor&prevented=no")
    row = AuditEntry.objects.filter(action="event.search").latest("id")
    assert row.detail["filters"] == {"q": "razor", "prevented": "no"}


def test_pages_without_counting_everything(world, events, client, monkeypatch):
    from events.views import EventListView

    monkeypatch.setattr(EventListView, "paginate_by", 2)
    c = sign_in(client, world.investigator)
    first = c.get("/events/")
    assert [e.pk for e in first.context["object_list"]] == [events["smith"].pk, events["wlg"].pk]
    assert "Events 1–2, newest first; more on the next page" in first.content.decode()
    second = c.get("/events/?page=2")
    assert [e.pk for e in second.context["object_list"]] == [events["plate"].pk, events["sku"].pk]
    third = c.get("/events/?page=3")
    assert third.context["object_list"] == [] or "of 4" in third.content.decode()
    # A search pages the same way, and the page is exact across the places a match can be.
    make(world, persons=[("Razor Smith", [])], days_ago=4)
    r = c.get("/events/?q=razor")
    html = r.content.decode()
    assert [e.pk for e in r.context["object_list"]] == [events["smith"].pk, Event_pk_by_name("Razor Smith")]
    assert "more on the next page" not in html and "2 events" in html


def Event_pk_by_name(name):
    return EventPerson.objects.get(name=name).event_id


def test_search_limit_keeps_the_newest_matches_of_every_branch(world, events):
    full = list(events_visible(user=world.investigator, filters={"q": "jonathan"}).order_by("-occurred_at", "-id"))
    for limit in (1, 2, 5):
        page = list(events_visible(user=world.investigator, filters={"q": "jonathan"}, search_limit=limit)
                    .order_by("-occurred_at", "-id")[:limit])
        assert page == full[:limit]


def test_list_shows_times_in_the_stores_time_zone(world, client):
    event = make(world)
    local = event.occurred_at.astimezone(zoneinfo.ZoneInfo("Pacific/Auckland"))
    html = sign_in(client, world.staff).get("/events/").content.decode()
    assert local.strftime("%H:%M") in html


def test_police_list_needs_a_purpose(world, client):
    make(world)
    c = sign_in(client, world.officer)
    assert 'id="purpose-error"' in c.get("/events/").content.decode()
    r = c.get("/events/?purpose=Theft+inquiry&case_reference=C-1")
    assert r.status_code == 200
    assert AuditEntry.objects.filter(action="event.search", purpose__startswith="Theft inquiry").exists()


# --- the event page ------------------------------------------------------------------------------------


def test_event_page_shows_everything_attached(world, events, client):
    event = events["smith"]
    EventProduct.objects.create(event=event, sku="1", description="Butter 500g", quantity=3, unit_value="7.50")
    person = event.persons.get()
    EventVehicle.objects.create(event=event, plate="ABC123", plate_normalised="ABC123", make="Toyota", person=person)
    html = sign_in(client, world.investigator).get(f"/events/{event.pk}/").content.decode()
    for text in ("Jonathan Smith", "Johnny", "Butter 500g", "22.50", "ABC123", "Toyota", "Who can see this event?",
                 "Auckland Police", 'id="evidence"', "Took razor blades"):
        assert text in html, text
    assert 'id="products-total">22.50<' in html


def test_event_page_for_police_needs_a_purpose_and_hides_internal_details(world, events, client):
    event = events["smith"]  # Acme shares with the jurisdiction: Auckland police
    c = sign_in(client, world.officer)
    r = c.get(f"/events/{event.pk}/")
    assert r.status_code == 400 and 'id="purpose-error"' in r.content.decode()
    r = c.get(f"/events/{event.pk}/?purpose=Theft+inquiry&case_reference=C-1")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Who can see this event?" not in html and "Correct" not in html
    assert AuditEntry.objects.filter(action="event.view", object_id=str(event.pk), purpose__contains="C-1").exists()
    # Wellington police may not see an Auckland store's event: 404 whatever the purpose.
    other = sign_in(type(client)(), world.officer_wlg)
    assert other.get(f"/events/{event.pk}/").status_code == 404
    assert other.get(f"/events/{event.pk}/?purpose=x&case_reference=y").status_code == 404


def test_event_page_of_another_retailer_is_not_found(world, events, client):
    assert sign_in(client, world.other_investigator).get(f"/events/{events['smith'].pk}/").status_code == 404
    assert sign_in(type(client)(), world.staff_wlg).get(f"/events/{events['smith'].pk}/").status_code == 404
