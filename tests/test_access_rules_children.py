"""Rules of the rows that are parts of a parent row, and the event's change history (auror/access.py).

An event's people, products and vehicles follow the event's rule; a profile's members the profile's.
"Follow" means exactly: for every persona and every action, the part is visible when, and only when, its
parent is. The event's change history is the audit rows of that event, for investigators and retailer
admins who may change the event, and for no one else.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import PoliceSharing
from audit.services import audit_record
from auror import access
from events.models import Event, EventPerson, EventProduct, EventVehicle
from matching.models import Judgement, Suggestion
from profiles.models import Profile, ProfileMember
from sharing.models import Agreement, DisclosureRequest

PERSONAS = ("staff", "staff_wlg", "investigator", "investigator_sensitive", "admin", "other_staff",
            "other_investigator", "other_admin", "officer", "police_admin", "officer_wlg", "operator")
PARTS = (EventPerson, EventProduct, EventVehicle)


def _ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


@pytest.fixture
def scene(world, event_factory):
    """Events of every kind the event rule tells apart, each with a person, a product and a vehicle; a
    profile per retailer holding their people; a partner agreement and an approved disclosure, so
    that partners' and disclosed events are among them."""
    events = {
        "akl": event_factory(store=world.acme_akl),
        "akl_by_staff": event_factory(store=world.acme_akl, created_by=world.staff),
        "wlg": event_factory(store=world.acme_wlg),
        "akl_internal": event_factory(store=world.acme_akl, police_sharing=PoliceSharing.INTERNAL),
        "wlg_all": event_factory(store=world.acme_wlg, police_sharing=PoliceSharing.ALL),
        "akl_sensitive": event_factory(store=world.acme_akl, sensitive=True, sensitive_reason="minor"),
        "bmart": event_factory(store=world.bmart_akl),
        "bmart_disclosed": event_factory(store=world.bmart_akl, police_sharing=PoliceSharing.INTERNAL),
    }
    people = {}
    for name, e in events.items():
        p = people[name] = EventPerson.objects.create(event=e, ref="p1", name=f"Person {name}")
        EventProduct.objects.create(event=e, sku=f"SKU-{name}", description="Item", unit_value=Decimal("5"))
        EventVehicle.objects.create(event=e, plate="ABC123", plate_normalised="ABC123", person=p)
        EventVehicle.objects.create(event=e, plate="XYZ9", plate_normalised="XYZ9")  # nobody's
    for org, admin, names in ((world.acme, world.admin, [n for n in events if not n.startswith("bmart")]),
                              (world.bmart, world.other_admin, ["bmart", "bmart_disclosed"])):
        j = Judgement.objects.create(organisation=org, decision=Judgement.Decision.START_PROFILE, by=admin)
        profile = Profile.objects.create(organisation=org, origin=j)
        for n in names:
            ProfileMember.objects.create(profile=profile, person=people[n], judgement=j)
    # The agreement covers WLG: B-Mart sees Acme's Wellington events (Acme sees nothing of B-Mart by it,
    # B-Mart having no store there). Acme sees one B-Mart event by an approved disclosure.
    Agreement.objects.create(retailer=world.acme, partner=world.bmart, regions=["WLG"], accepted_at=timezone.now())
    s = Suggestion.objects.create(organisation=world.acme, person=people["akl"], target_person=people["bmart_disclosed"],
                                  other_organisation=world.bmart, score=0.9, weight=5)
    DisclosureRequest.objects.create(
        suggestion=s, requesting_organisation=world.acme, holding_organisation=world.bmart,
        event=events["bmart_disclosed"], person=people["bmart_disclosed"], requested_by=world.investigator,
        reason="same van", status=DisclosureRequest.Status.APPROVED, decided_by=world.other_admin,
        decided_at=timezone.now(), expires_at=timezone.now() + dt.timedelta(days=7))
    return events


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", access.ACTIONS)
def test_an_events_parts_follow_the_events_rule_exactly(world, scene, persona, action):
    user = getattr(world, persona)
    events = _ids(Event.objects.visible_to(user, action))
    for model in PARTS:
        expected = _ids(model.objects.filter(event_id__in=events))
        assert _ids(access.visible(model, user, action)) == expected, (model.__name__, persona, action)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", access.ACTIONS)
def test_a_profiles_members_follow_the_profiles_rule_exactly(world, scene, persona, action):
    user = getattr(world, persona)
    profiles = _ids(Profile.objects.visible_to(user, action))
    expected = _ids(ProfileMember.objects.filter(profile_id__in=profiles))
    assert _ids(access.visible(ProfileMember, user, action)) == expected


def test_the_scene_tells_the_personas_apart(world, scene):
    """The equalities above are not all empty: each branch of the event rule shows up in the parts."""
    people = lambda u, a="view": set(access.visible(EventPerson, u, a).values_list("event_id", flat=True))  # noqa: E731
    e = {k: v.pk for k, v in scene.items()}
    assert people(world.staff) == {e["akl"], e["akl_by_staff"], e["akl_internal"]}
    assert people(world.staff, "change") == {e["akl_by_staff"]}
    assert e["akl_sensitive"] in people(world.investigator_sensitive) - people(world.investigator)
    assert e["bmart_disclosed"] in people(world.investigator)  # disclosed to Acme
    assert {e["wlg"], e["wlg_all"]} <= people(world.other_investigator)  # by agreement
    assert e["akl_internal"] not in people(world.officer)
    assert people(world.admin, "delete") >= {e["akl"], e["wlg"]} and e["bmart"] not in people(world.admin, "delete")
    assert people(world.operator) == set()
    assert access.visible(ProfileMember, world.staff).count() == 0
    assert access.visible(ProfileMember, world.investigator).count() == 6


def test_inactive_users_see_no_parts(world, scene):
    world.investigator.is_active = False
    for model in (*PARTS, ProfileMember):
        assert access.visible(model, world.investigator).count() == 0


def test_the_parts_have_rules_and_visible_is_visible_to_for_tenant_models(world, scene):
    for label in ("events.EventPerson", "events.EventProduct", "events.EventVehicle", "profiles.ProfileMember"):
        assert label in access._RULES
    assert _ids(access.visible(Event, world.staff)) == _ids(Event.objects.visible_to(world.staff))


def test_a_condition_is_read_through_the_relation_or_refused():
    q = access._prefixed(Q(a=1) & ~(Q(b__in=[2]) | Q(c=3)), "event__")
    assert q == Q(event__a=1) & ~(Q(event__b__in=[2]) | Q(event__c=3))
    assert access._prefixed(access.EVERYTHING, "event__") == Q()
    with pytest.raises(TypeError):
        access._prefixed(Q(a=F("b")), "event__")


# --- An event's change history -----------------------------------------------------------------------


@pytest.fixture
def history(world, scene):
    """Audit rows about the Auckland event (created, changed, viewed) and one about another event."""
    e = scene["akl"]
    audit_record(action="event.create", actor=world.staff, obj=e)
    audit_record(action="event.update", actor=world.investigator, obj=e, detail={"changes": {"type": {}}})
    audit_record(action="event.view", actor=world.investigator, obj=e)
    audit_record(action="event.update", actor=world.investigator, obj=scene["wlg"])
    return e


def test_investigators_and_admins_who_may_change_the_event_read_its_history(world, history):
    for user in (world.investigator, world.investigator_sensitive, world.admin):
        rows = list(access.event_history_entries(user, history).order_by("id"))
        assert [r.action for r in rows] == ["event.create", "event.update"]
        assert {r.object_id for r in rows} == {str(history.pk)}


@pytest.mark.parametrize("persona", ["staff", "staff_wlg", "other_staff", "other_investigator", "other_admin",
                                     "officer", "police_admin", "officer_wlg", "operator"])
def test_no_one_else_reads_an_events_history(world, history, persona):
    assert access.event_history_entries(getattr(world, persona), history).count() == 0


def test_store_staff_do_not_read_the_history_even_of_an_event_they_may_correct(world, scene):
    e = scene["akl_by_staff"]
    audit_record(action="event.create", actor=world.staff, obj=e)
    assert access.can(world.staff, access.CHANGE, e)
    assert access.event_history_entries(world.staff, e).count() == 0
    assert access.event_history_entries(world.investigator, e).count() == 1


def test_a_sensitive_events_history_needs_the_grant(world, scene):
    e = scene["akl_sensitive"]
    audit_record(action="event.create", actor=world.investigator_sensitive, obj=e)
    assert access.event_history_entries(world.investigator, e).count() == 0
    assert access.event_history_entries(world.investigator_sensitive, e).count() == 1


def test_a_partner_that_may_see_the_event_does_not_read_its_history(world, scene):
    e = scene["wlg"]
    audit_record(action="event.create", actor=world.investigator, obj=e)
    assert access.can(world.other_investigator, access.VIEW, e)
    assert access.event_history_entries(world.other_investigator, e).count() == 0


def test_an_inactive_investigator_reads_no_history(world, history):
    world.investigator.is_active = False
    assert access.event_history_entries(world.investigator, history).count() == 0
