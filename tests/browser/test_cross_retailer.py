"""In a real browser: Acme's investigator sees a cross-retailer match "held by another participant"
(features only, nothing of B-Mart's), asks for disclosure; B-Mart's investigator sees the request
in the navigation badge and approves it; Acme's investigator can then open that one event."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from auror.celery import app as celery_app
from sharing.models import DisclosureRequest
from tests.browser.test_admin import no_sideways_scroll, sign_in_verified
from tests.sharing.helpers import SECRETS, cross_pair

REASON = "Same van at our Ponsonby store twice this week; police want a description."


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True  # jobs enqueued on commit run here: B-Mart's own run too
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


def leaked(page) -> list[str]:
    text = page.content()
    return [s for s in SECRETS if s.lower() in text.lower()]


@pytest.mark.django_db(transaction=True)
def test_disclosure_of_a_cross_retailer_match(page, new_page, browser_world, eager, screenshot):
    w = browser_world
    acme_event, bmart_event, s = cross_pair(w)

    # Acme's investigator: the card says the match is held by another participant.
    sign_in_verified(page, w.investigator)
    page.goto(page.base_url + "/sharing/matches/")
    card = page.locator(f"#cross-{s.pk}")
    assert card.get_by_text("A possible match is held by another participant.").is_visible()
    features = card.locator(".cross-features").inner_text()
    assert "name: sounds alike" in features and "mark: same distinctive mark" in features
    assert leaked(page) == []
    screenshot(page, "cross-held-card")

    # The same card in the review queue.
    page.goto(page.base_url + "/review/")
    assert page.locator(f"#cross-{s.pk}").get_by_text("A possible match is held by another participant.").is_visible()
    assert leaked(page) == []
    screenshot(page, "cross-in-review-queue")
    page.goto(page.base_url + "/sharing/matches/")

    # Request disclosure (the form is inside a <details>: no JavaScript needed).
    card.get_by_text("Request disclosure").click()
    card.get_by_label("Why do you need to see it?").fill(REASON)
    screenshot(page, "cross-request-form")
    card.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("status").filter(has_text="Disclosure requested")).to_be_visible()
    assert page.get_by_text("Waiting for a decision").is_visible()
    assert leaked(page) == []
    assert page.get_by_text("Request disclosure").count() == 0
    screenshot(page, "cross-requested")
    assert page.goto(page.base_url + f"/events/{bmart_event.pk}/").status == 404

    # B-Mart's investigator, on a phone: a badge in the navigation, the request, the decision.
    b = new_page(phone=True)
    sign_in_verified(b, w.other_investigator)
    b.goto(b.base_url + "/")
    nav = b.get_by_role("navigation", name="Main")
    assert nav.locator(".nav-badge").inner_text().startswith("1")
    nav.get_by_role("link", name="Disclosures").click()
    expect(b.get_by_role("heading", name="Asked of your retailer")).to_be_visible()
    screenshot(b, "cross-holder-list-phone")
    b.get_by_role("link", name="Decide").click()
    expect(b.get_by_text(REASON)).to_be_visible()
    assert b.get_by_text("Jona Pereyra").is_visible()  # their own event's person
    assert "Jonah Pereira" not in b.content()  # Acme's side is Acme's
    assert no_sideways_scroll(b)
    screenshot(b, "cross-holder-decide-phone")
    b.get_by_label("Approve: show them this one event").check()
    b.get_by_label("Reason").fill("Known to us at Newmarket; happy to help.")
    b.get_by_role("button", name="Record decision").click()
    expect(b.get_by_role("status").filter(has_text="Approved")).to_be_visible()
    assert b.locator(".nav-badge").count() == 0
    dr = DisclosureRequest.objects.get()
    assert dr.status == "approved"

    # Acme's investigator opens that event now.
    page.goto(page.base_url + f"/sharing/matches/{s.pk}/")
    other = page.get_by_role("region", name="Other side")
    assert "B-Mart" in other.inner_text() and "Jona Pereyra" in other.inner_text()
    screenshot(page, "cross-disclosed-card")
    other.get_by_role("link", name=str(bmart_event)).click()
    expect(page.get_by_role("heading", name="Theft at B-Mart Newmarket")).to_be_visible()
    screenshot(page, "cross-disclosed-event")


@pytest.mark.django_db(transaction=True)
def test_agreement_between_two_retailers(page, new_page, browser_world, event_factory, screenshot):
    from sharing.models import Agreement

    w = browser_world
    bmart_event = event_factory(store=w.bmart_akl, narrative="Took razor blades")
    sign_in_verified(page, w.admin)
    page.goto(page.base_url + "/")
    page.get_by_role("navigation", name="Main").locator("summary", has_text="Sharing").click()  # the group
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sharing").click()
    page.get_by_role("link", name="Propose an agreement").click()
    page.get_by_label("Regions").fill("AKL, Auckland!")
    page.get_by_role("button", name="Propose agreement").click()
    alert = page.get_by_role("alert")  # no retailer chosen, a bad region: both named
    expect(alert).to_be_visible()
    assert "Retailer" in alert.inner_text() and "Regions" in alert.inner_text()
    screenshot(page, "sharing-propose-errors")
    page.get_by_label("Retailer").select_option(label="B-Mart")
    page.get_by_label("Regions").fill("AKL")
    page.get_by_role("button", name="Propose agreement").click()
    expect(page.get_by_role("status").filter(has_text="Agreement proposed to B-Mart")).to_be_visible()
    screenshot(page, "sharing-proposed")

    b = new_page(phone=True)
    sign_in_verified(b, w.other_admin)
    b.goto(b.base_url + "/sharing/agreements/")
    b.get_by_role("button", name="Accept agreement with Acme Stores").click()
    expect(b.get_by_role("status").filter(has_text="in force now")).to_be_visible()
    assert no_sideways_scroll(b)
    screenshot(b, "sharing-accepted-phone")
    assert Agreement.objects.get().status == "active"

    # Acme's admin now sees B-Mart's Auckland events, until the agreement ends.
    assert page.goto(page.base_url + f"/events/{bmart_event.pk}/").status == 200
    page.goto(page.base_url + "/sharing/agreements/")
    page.get_by_role("button", name="End agreement with B-Mart").click()
    expect(page.get_by_role("status").filter(has_text="ended")).to_be_visible()
    screenshot(page, "sharing-ended")
    assert page.goto(page.base_url + f"/events/{bmart_event.pk}/").status == 404
