"""The cross-retailer card: the other side only as far as the access policy lets the viewer see its
event; otherwise "held by another participant", the features that agreed, and nothing of theirs."""

from __future__ import annotations

import json

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from matching.cross import agreed_features, attach_cross_cards, cross_card
from matching.models import Suggestion
from sharing.models import Agreement
from tests.admin.conftest import as_user  # noqa: F401
from tests.sharing.helpers import SECRETS, cross_pair

pytestmark = pytest.mark.django_db


def assert_nothing_of_bmart(text: str) -> None:
    leaked = [s for s in SECRETS if s.lower() in text.lower()]
    assert leaked == [], f"the other side's details leaked: {leaked}"


def agree(world, *, regions=()):
    from django.utils import timezone

    return Agreement.objects.create(retailer=world.acme, partner=world.bmart, regions=list(regions),
                                    accepted_at=timezone.now())


def test_the_stored_reasons_do_quote_the_other_side(world):
    """What the card must redact is really there: the explanation quotes B-Mart's values."""
    _, _, s = cross_pair(world)
    stored = json.dumps(s.reasons)
    assert "Jona Pereyra" in stored and "KZP4I2" in stored


def test_held_card_shows_features_that_agreed_and_nothing_of_theirs(world, as_user):  # noqa: F811
    acme_event, bmart_event, s = cross_pair(world)
    r = as_user(world.investigator).get(f"/sharing/matches/{s.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "A possible match is held by another participant." in html
    for label in ("name: sounds alike", "plate: same but for characters cameras confuse", "mark: same distinctive mark"):
        assert label in html
    assert "Request disclosure" in html
    assert_nothing_of_bmart(html)
    assert f"/events/{bmart_event.pk}/" not in html
    # Acme's own side is there.
    assert "Jonah Pereira" in html and f"/events/{acme_event.pk}/" in html


def test_held_card_in_the_api_has_no_details(world, as_user):  # noqa: F811
    _, bmart_event, s = cross_pair(world)
    c = as_user(world.investigator)
    for url in (f"/api/v1/cross-matches/{s.pk}/", "/api/v1/cross-matches/"):
        r = c.get(url)
        assert r.status_code == 200
        assert_nothing_of_bmart(r.content.decode())
    card = c.get(f"/api/v1/cross-matches/{s.pk}/").json()
    assert card["held_by_other_participant"] is True and card["other"] is None
    assert card["message"] == "A possible match is held by another participant."
    assert {f["feature"] for f in card["features"]} >= {"name", "plate", "mark"}
    assert all("detail" not in f for f in card["features"])
    assert card["can_request_disclosure"] is True
    assert card["own"]["event_id"] != bmart_event.pk


def test_only_features_that_agreed_and_never_the_prior_or_hubs():
    reasons = [{"feature": "prior", "weight": -4.2, "detail": "base"},
               {"feature": "name", "level": "phonetic", "weight": 6.0, "detail": "A ~ B"},
               {"feature": "clothing", "level": "else", "weight": -0.3, "detail": "red hoodie"},
               {"feature": "hub", "weight": 0.0, "detail": "plate value 'X' is shared"},
               {"feature": "plate", "level": "KZP4I2", "weight": 3.0, "detail": "KZP4I2"}]
    out = agreed_features(reasons, with_detail=False)
    assert out == [{"feature": "name", "level": "phonetic", "label": "name: sounds alike", "weight": 6.0},
                   {"feature": "plate", "level": "", "label": "plate: agreed", "weight": 3.0}]


def test_an_agreement_shows_the_other_side(world, as_user):  # noqa: F811
    _, bmart_event, s = cross_pair(world)
    agree(world)
    html = as_user(world.investigator).get(f"/sharing/matches/{s.pk}/").content.decode()
    assert "held by another participant" not in html
    assert "Jona Pereyra" in html and "B-Mart" in html and f"/events/{bmart_event.pk}/" in html
    assert "KZP412 = KZP4I2 (OCR)" in html  # the explanation's details, now that they may see it
    assert "Request disclosure" not in html


def test_an_agreement_for_other_regions_or_a_sensitive_event_keeps_it_held(world, as_user):  # noqa: F811
    _, bmart_event, s = cross_pair(world)
    agreement = agree(world, regions=["WLG"])
    c = as_user(world.investigator)
    assert_nothing_of_bmart(c.get(f"/sharing/matches/{s.pk}/").content.decode())
    agreement.regions = ["AKL"]
    agreement.save()
    bmart_event.sensitive = True
    bmart_event.save(update_fields=["sensitive"])
    html = c.get(f"/sharing/matches/{s.pk}/").content.decode()
    assert "held by another participant" in html
    assert_nothing_of_bmart(html)


def test_the_card_template_included_by_the_review_queue(world):
    """As the queue includes it: {% include ... with suggestion=s %}, one card computed per suggestion,
    or attached to a whole page at once."""
    _, _, s = cross_pair(world)
    request = RequestFactory().get("/matching/queue/")
    request.user = world.investigator
    html = render_to_string("matching/_cross_retailer_card.html", {"suggestion": s}, request=request)
    assert "held by another participant" in html
    assert_nothing_of_bmart(html)
    [s2] = attach_cross_cards(user=world.investigator, suggestions=[s])
    assert s2.xcard["id"] == s.pk
    html = render_to_string("matching/_cross_retailer_card.html", {"suggestion": s2}, request=request)
    assert "held by another participant" in html
    # Someone who may not see the suggestion gets nothing at all.
    request.user = world.other_investigator
    fresh = type(s).objects.get(pk=s.pk)
    assert render_to_string("matching/_cross_retailer_card.html", {"suggestion": fresh}, request=request).strip() == ""
    assert cross_card(user=world.staff, suggestion=s) is None


def test_cross_match_pages_other_tenant_404_role_403_method_405(world, as_user):  # noqa: F811
    _, _, s = cross_pair(world)
    assert as_user(world.other_investigator).get(f"/sharing/matches/{s.pk}/").status_code == 404
    assert as_user(world.other_investigator).get(f"/api/v1/cross-matches/{s.pk}/").status_code == 404
    assert as_user(world.investigator).get("/sharing/matches/999999/").status_code == 404
    for persona in ("staff", "officer", "police_admin", "operator"):
        c = as_user(getattr(world, persona))
        assert c.get(f"/sharing/matches/{s.pk}/").status_code == 403
        assert c.get("/sharing/matches/").status_code == 403
        assert c.get(f"/api/v1/cross-matches/{s.pk}/").status_code == 403
    c = as_user(world.investigator)
    assert c.post(f"/sharing/matches/{s.pk}/").status_code == 405
    assert c.get(f"/sharing/matches/{s.pk}/disclose/").status_code == 405
    assert c.delete(f"/api/v1/cross-matches/{s.pk}/").status_code == 405


def test_list_page_shows_only_open_cross_matches(world, as_user):  # noqa: F811
    _, _, s = cross_pair(world)
    r = as_user(world.investigator).get("/sharing/matches/")
    assert r.status_code == 200 and [c["id"] for c in r.context["cards"]] == [s.pk]
    assert_nothing_of_bmart(r.content.decode())
    # B-Mart's investigator sees B-Mart's own suggestion about the pair, never Acme's.
    [mirror] = Suggestion.objects.filter(organisation=world.bmart, other_organisation=world.acme)
    cards = as_user(world.other_investigator).get("/sharing/matches/").context["cards"]
    assert [c["id"] for c in cards] == [mirror.pk] != [s.pk]


def test_viewing_a_cross_match_is_audited(world, as_user):  # noqa: F811
    from audit.models import AuditEntry

    _, _, s = cross_pair(world)
    as_user(world.investigator).get(f"/sharing/matches/{s.pk}/")
    row = AuditEntry.objects.get(action="suggestion.view", object_id=str(s.pk))
    assert row.organisation_id == world.acme.pk and row.actor_id == world.investigator.pk


def test_the_review_queue_shows_the_card_and_a_request_goes_back_to_it(world, as_user):  # noqa: F811
    from sharing.models import DisclosureRequest

    _, _, s = cross_pair(world)
    c = as_user(world.investigator)
    r = c.get("/review/")
    html = r.content.decode()
    assert f'id="cross-{s.pk}"' in html and "A possible match is held by another participant." in html
    assert "name: sounds alike" in html and "Request disclosure" in html
    assert_nothing_of_bmart(html)
    r = c.post(f"/sharing/matches/{s.pk}/disclose/", {"reason": "Seen at our store", "next": "/review/"})
    assert r.status_code == 302 and r["Location"] == "/review/"
    assert DisclosureRequest.objects.filter(suggestion=s, status="pending").exists()
    assert "Waiting for a decision" in c.get("/review/").content.decode()
    # An outside address is never followed (a new request after a decline).
    from sharing.services import disclosure_decline

    disclosure_decline(actor=world.other_investigator, request=DisclosureRequest.objects.get(), reason="Not yet")
    r = c.post(f"/sharing/matches/{s.pk}/disclose/", {"reason": "again", "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == f"/sharing/matches/{s.pk}/"
