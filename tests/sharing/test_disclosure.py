"""Disclosure requests: Acme's investigator asks B-Mart to show its event of a cross-retailer match;
B-Mart's investigator approves (Acme sees that one event, until it expires) or declines (still 404).
Every step is audited in both retailers' chains."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEntry
from auror import access
from events.models import Event
from sharing.models import DisclosureRequest
from tests.factories import EventFactory, OrganisationFactory, StoreFactory, UserFactory
from tests.sharing.helpers import SECRETS, cross_pair

pytestmark = pytest.mark.django_db

REASON = "Same van at our Ponsonby store twice this week; we need a description for police."


@pytest.fixture
def pair(world):
    return cross_pair(world)


def ask(client, suggestion, reason=REASON, **extra):
    return client.post(f"/sharing/matches/{suggestion.pk}/disclose/", {"reason": reason, **extra})


def decide(client, dr, decision, reason="", days=""):
    return client.post(f"/sharing/disclosures/{dr.pk}/", {"decision": decision, "reason": reason, "days": days})


def test_request_approve_then_the_requester_sees_that_one_event_and_only_it(world, as_user, pair):
    acme_event, bmart_event, s = pair
    another_bmart_event = EventFactory(store=world.bmart_akl)
    acme = as_user(world.investigator)
    assert acme.get(f"/events/{bmart_event.pk}/").status_code == 404

    r = ask(acme, s, next=f"/sharing/matches/{s.pk}/")
    assert r.status_code == 302 and r["Location"] == f"/sharing/matches/{s.pk}/"
    dr = DisclosureRequest.objects.get()
    assert (dr.status, dr.requesting_organisation, dr.holding_organisation, dr.event, dr.requested_by) == (
        "pending", world.acme, world.bmart, bmart_event, world.investigator)
    # Still nothing of B-Mart's on Acme's side while it waits.
    page = acme.get(f"/sharing/matches/{s.pk}/").content.decode()
    assert "Waiting for a decision" in page and "Request disclosure" not in page
    assert [x for x in SECRETS if x in page] == []
    assert acme.get(f"/events/{bmart_event.pk}/").status_code == 404

    # B-Mart's investigator: a badge in the navigation, the request in the list, then the decision.
    bmart = as_user(world.other_investigator)
    home = bmart.get("/sharing/disclosures/").content.decode()
    assert 'class="nav-badge">1<' in home and "Acme Stores" in home
    detail = bmart.get(f"/sharing/disclosures/{dr.pk}/").content.decode()
    assert REASON in detail and world.investigator.email in detail and "Jona Pereyra" in detail  # their own event
    assert "name: sounds alike" in detail
    assert "Jonah Pereira" not in detail  # Acme's event is Acme's: not shared with B-Mart
    r = decide(bmart, dr, "approve", "Known to us; happy to help", days="30")
    assert r.status_code == 302
    dr.refresh_from_db()
    assert dr.status == "approved" and dr.decided_by == world.other_investigator
    assert dr.expires_at.date() == (timezone.now() + dt.timedelta(days=30)).date()
    assert 'class="nav-badge"' not in bmart.get("/sharing/disclosures/").content.decode()

    # Acme now opens that event (page and API), and only that one.
    assert acme.get(f"/events/{bmart_event.pk}/").status_code == 200
    assert acme.get(f"/api/v1/events/{bmart_event.pk}/").status_code == 200
    assert acme.get(f"/events/{another_bmart_event.pk}/").status_code == 404
    assert set(Event.objects.visible_to(world.investigator).filter(organisation=world.bmart)) == {bmart_event}
    assert set(Event.objects.visible_to(world.admin).filter(organisation=world.bmart)) == {bmart_event}
    # ...but not Acme's store staff, and no one at a third retailer.
    third = UserFactory(email="inv@cmart.test", organisation=OrganisationFactory(slug="cmart", ctd_opt_in=True),
                        role="investigator")
    for user in (world.staff, third):
        assert not Event.objects.visible_to(user).filter(pk=bmart_event.pk).exists()
    # The card shows the other side now, explanation details included.
    card = acme.get(f"/sharing/matches/{s.pk}/").content.decode()
    assert "Jona Pereyra" in card and "KZP412 = KZP4I2 (OCR)" in card and "held by another participant" not in card
    # "Who can see this event?" says so, from the same policy.
    audience = access.explain_event_audience(bmart_event)
    assert any(a.who == "Acme Stores: investigators and admins" and "disclosed on request" in a.why for a in audience)


def test_decline_keeps_it_hidden_and_tells_the_reason_not_who(world, as_user, pair):
    _, bmart_event, s = pair
    acme, bmart = as_user(world.investigator), as_user(world.other_investigator)
    ask(acme, s)
    dr = DisclosureRequest.objects.get()
    assert decide(bmart, dr, "decline", "Under police investigation, cannot share yet").status_code == 302
    dr.refresh_from_db()
    assert dr.status == "declined" and dr.expires_at is None
    assert acme.get(f"/events/{bmart_event.pk}/").status_code == 404
    assert acme.get(f"/api/v1/events/{bmart_event.pk}/").status_code == 404
    page = acme.get(f"/sharing/disclosures/{dr.pk}/").content.decode()
    assert "Under police investigation, cannot share yet" in page
    assert world.other_investigator.email not in page and "B-Mart" not in page
    # A new request may follow a declined one.
    assert ask(acme, s, "The police have now asked us for it").status_code == 302
    assert DisclosureRequest.objects.filter(status="pending").count() == 1


def test_approval_expires(world, as_user, pair):
    _, bmart_event, s = pair
    ask(as_user(world.investigator), s)
    dr = DisclosureRequest.objects.get()
    decide(as_user(world.other_investigator), dr, "approve", days="")  # the configured default
    dr.refresh_from_db()
    assert (dr.expires_at - dr.decided_at) == dt.timedelta(days=90)
    assert Event.objects.visible_to(world.investigator).filter(pk=bmart_event.pk).exists()
    with time_machine.travel(dr.expires_at + dt.timedelta(minutes=1)):
        assert not Event.objects.visible_to(world.investigator).filter(pk=bmart_event.pk).exists()
        assert not any("disclosed" in a.why for a in access.explain_event_audience(bmart_event))


def test_the_expiry_default_is_configurable(world, as_user, pair, settings):
    settings.DISCLOSURE_EXPIRY_DAYS = 7
    _, _, s = pair
    ask(as_user(world.investigator), s)
    dr = DisclosureRequest.objects.get()
    decide(as_user(world.other_investigator), dr, "approve")
    dr.refresh_from_db()
    assert (dr.expires_at - dr.decided_at) == dt.timedelta(days=7)


def test_every_step_is_audited_in_both_chains(world, as_user, pair):
    _, bmart_event, s = pair
    ask(as_user(world.investigator), s)
    dr = DisclosureRequest.objects.get()
    decide(as_user(world.other_investigator), dr, "approve", "ok")
    rows = AuditEntry.objects.filter(object_type="sharing.disclosurerequest", object_id=str(dr.pk),
                                     action__in=["disclosure.request", "disclosure.approve"])
    got = sorted((r.action, r.organisation_id, r.actor_id) for r in rows)
    assert got == sorted([
        ("disclosure.request", world.acme.pk, world.investigator.pk),
        ("disclosure.request", world.bmart.pk, world.investigator.pk),
        ("disclosure.approve", world.acme.pk, world.other_investigator.pk),
        ("disclosure.approve", world.bmart.pk, world.other_investigator.pk),
    ])
    # Acme's chain never holds B-Mart's details; B-Mart's names its own event.
    for r in rows.filter(organisation_id=world.acme.pk):
        assert [x for x in SECRETS if x in str(r.detail) + r.object_repr] == []
    assert rows.filter(organisation_id=world.bmart.pk, action="disclosure.request").get().detail["event"] == bmart_event.pk
    call_command("audit_verify")  # both chains still verify


def test_other_tenants_get_404_and_the_requester_may_not_decide(world, as_user, pair):
    _, _, s = pair
    ask(as_user(world.investigator), s)
    dr = DisclosureRequest.objects.get()
    third = OrganisationFactory(slug="cmart", name="C-Mart", ctd_opt_in=True)
    StoreFactory(organisation=third, code="CM-001")
    outsider = UserFactory(email="inv@cmart.test", organisation=third, role="investigator")
    c = as_user(outsider)
    assert c.get(f"/sharing/disclosures/{dr.pk}/").status_code == 404
    assert decide(c, dr, "approve").status_code == 404
    assert c.get(f"/api/v1/disclosure-requests/{dr.pk}/").status_code == 404
    assert c.post(f"/api/v1/disclosure-requests/{dr.pk}/decision/", {"decision": "approve"}).status_code == 404
    assert ask(c, s).status_code == 404  # another retailer's suggestion
    # The requesting side reads its request but may not decide it.
    acme = as_user(world.investigator)
    assert acme.get(f"/sharing/disclosures/{dr.pk}/").status_code == 200
    assert decide(acme, dr, "approve").status_code == 403
    assert acme.post(f"/api/v1/disclosure-requests/{dr.pk}/decision/", {"decision": "approve"}).status_code == 403
    dr.refresh_from_db()
    assert dr.status == "pending"


@pytest.mark.parametrize("persona", ["staff", "other_staff", "officer", "police_admin", "operator"])
def test_roles_below_investigator_get_403(world, as_user, pair, persona):
    _, _, s = pair
    ask(as_user(world.investigator), s)
    dr = DisclosureRequest.objects.get()
    c = as_user(getattr(world, persona))
    for url in ("/sharing/disclosures/", f"/sharing/disclosures/{dr.pk}/", "/api/v1/disclosure-requests/",
                f"/api/v1/disclosure-requests/{dr.pk}/"):
        assert c.get(url).status_code == 403, url
    assert decide(c, dr, "approve").status_code == 403
    assert ask(c, s).status_code == 403
    dr.refresh_from_db()
    assert dr.status == "pending" and DisclosureRequest.objects.count() == 1


def test_bad_input_names_the_field_and_changes_nothing(world, as_user, pair):
    _, _, s = pair
    acme, bmart = as_user(world.investigator), as_user(world.other_investigator)
    r = ask(acme, s, reason="   ")
    assert r.status_code == 400 and "reason" in r.context["request_form"].errors
    r = ask(acme, s, reason="x" * 501)
    assert r.status_code == 400 and "reason" in r.context["request_form"].errors
    assert not DisclosureRequest.objects.exists()
    ask(acme, s)
    r = ask(acme, s, reason="again")
    assert r.status_code == 400 and "already waiting" in str(r.context["request_form"].errors)
    dr = DisclosureRequest.objects.get()
    for data, field in ((("decline", "", ""), "reason"), (("approve", "", "0"), "days"), (("approve", "", "366"), "days"),
                        (("maybe", "", ""), "decision")):
        r = decide(bmart, dr, *data)
        assert r.status_code == 400 and field in r.context["form"].errors, (data, r.context["form"].errors)
    dr.refresh_from_db()
    assert dr.status == "pending"
    # The API names the field too.
    r = bmart.post(f"/api/v1/disclosure-requests/{dr.pk}/decision/", {"decision": "decline"},
                   content_type="application/json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    r = acme.post(f"/api/v1/cross-matches/{s.pk}/disclosure-request/", {}, content_type="application/json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    # Deciding twice: the second is refused and changes nothing.
    assert decide(bmart, dr, "decline", "no").status_code == 302
    r = decide(bmart, dr, "approve")
    assert r.status_code == 400 and "already declined" in str(r.context["form"].errors)
    dr.refresh_from_db()
    assert dr.status == "declined"


def test_no_request_for_an_event_already_visible(world, as_user, pair):
    from sharing.models import Agreement

    _, _, s = pair
    Agreement.objects.create(retailer=world.bmart, partner=world.acme, accepted_at=timezone.now())
    r = ask(as_user(world.investigator), s)
    assert r.status_code == 400 and "already see" in str(r.context["request_form"].errors)


def test_a_sensitive_event_is_disclosed_only_by_and_to_members_with_sensitive_access(world, as_user, pair):
    _, bmart_event, s = pair
    bmart_event.sensitive = True
    bmart_event.save(update_fields=["sensitive"])
    ask(as_user(world.investigator), s)
    dr = DisclosureRequest.objects.get()
    r = decide(as_user(world.other_investigator), dr, "approve")
    assert r.status_code == 400 and "sensitive" in str(r.context["form"].errors)
    holder = UserFactory(email="inv-s@bmart.test", organisation=world.bmart, role="investigator", sensitive_access=True)
    assert decide(as_user(holder), dr, "approve").status_code == 302
    assert not Event.objects.visible_to(world.investigator).filter(pk=bmart_event.pk).exists()
    assert Event.objects.visible_to(world.investigator_sensitive).filter(pk=bmart_event.pk).exists()


def test_api_flow(world, as_user, pair):
    _, bmart_event, s = pair
    acme, bmart = as_user(world.investigator), as_user(world.other_investigator)
    r = acme.post(f"/api/v1/cross-matches/{s.pk}/disclosure-request/", {"reason": REASON},
                  content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "pending" and body["counterpart"] is None and body["theirs"] is None
    assert [x for x in SECRETS if x in r.content.decode()] == []
    incoming = bmart.get("/api/v1/disclosure-requests/?direction=incoming").json()
    assert [x["id"] for x in incoming["results"]] == [body["id"]] and incoming["results"][0]["incoming"] is True
    assert incoming["results"][0]["counterpart"] == "Acme Stores"
    assert bmart.get("/api/v1/disclosure-requests/?direction=sideways").status_code == 400
    r = bmart.post(f"/api/v1/disclosure-requests/{body['id']}/decision/", {"decision": "approve", "days": 10},
                   content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    out = acme.get(f"/api/v1/disclosure-requests/{body['id']}/").json()
    assert out["theirs"]["event_id"] == bmart_event.pk and out["counterpart"] == "B-Mart"
    card = acme.get(f"/api/v1/cross-matches/{s.pk}/").json()
    assert card["other"]["person"] == "Jona Pereyra" and card["held_by_other_participant"] is False
    assert acme.put(f"/api/v1/disclosure-requests/{body['id']}/", {}).status_code == 405


def test_reasons_are_guarded_against_sensitive_characteristics(world, as_user, pair):
    _, _, s = pair
    r = ask(as_user(world.investigator), s, reason="A black guy was seen with the same van")
    assert r.status_code == 400
    assert "skin" in " ".join(r.context["request_form"].errors["reason"])
    assert not DisclosureRequest.objects.exists()
    ask(as_user(world.investigator), s)
    dr = DisclosureRequest.objects.get()
    r = decide(as_user(world.other_investigator), dr, "decline", "He is a black guy we know")
    assert r.status_code == 400 and "reason" in r.context["form"].errors
    dr.refresh_from_db()
    assert dr.status == "pending"
