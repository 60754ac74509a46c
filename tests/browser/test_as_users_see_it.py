"""Issue 10 in a real browser, phone and desktop: the 403 and 404 pages keep the site's layout and
say why, with a way back; a form-recorded event shows its reference; a suggestion card names the
other event by when it happened and says days apart right. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.browser.test_admin import sign_in_verified

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("phone", [False, True])
def test_a_403_keeps_the_layout_and_says_why(page, phone_page, browser_world, screenshot, phone):
    p = phone_page if phone else page
    sign_in_verified(p, browser_world.staff)
    response = p.goto(p.base_url + "/review/")
    assert response.status == 403
    assert p.get_by_role("heading", name="You can’t use this page").is_visible()
    assert p.get_by_role("navigation", name="Main").is_visible() or phone  # the phone menu may fold it
    assert p.get_by_text("This page is for investigators and retailer admins.").is_visible()
    body = p.locator("body").inner_text()
    assert "ask your retailer admin" in body
    assert p.get_by_role("link", name="Back to your home page").is_visible()
    size = p.evaluate("parseFloat(getComputedStyle(document.querySelector('.error-page h1')).fontSize)")
    assert size >= 22  # not a bare Django page's tiny text
    screenshot(p, f"issue10-403-{'phone' if phone else 'desktop'}")


@pytest.mark.parametrize("phone", [False, True])
def test_a_404_keeps_the_layout_and_a_way_back(page, phone_page, browser_world, screenshot, phone):
    p = phone_page if phone else page
    sign_in_verified(p, browser_world.investigator)
    response = p.goto(p.base_url + "/events/999999999/")
    assert response.status == 404
    assert p.get_by_role("heading", name="There is nothing here").is_visible()
    p.get_by_role("link", name="Back to your home page").click()
    p.wait_for_load_state()
    assert p.url.rstrip("/") == p.base_url.rstrip("/") or "/" in p.url
    screenshot(p, f"issue10-404-{'phone' if phone else 'desktop'}")


@pytest.mark.parametrize("phone", [False, True])
def test_a_form_recorded_event_shows_its_reference_and_a_card_names_the_earlier_event(page, phone_page, browser_world,
                                                                                      screenshot, phone):
    from events.models import Event
    from matching.models import Suggestion
    from tests.profiles.helpers import ANA, ANNA, record

    w = browser_world
    page = phone_page if phone else page
    earlier = record(w, days_ago=20, persons=[ANA])
    later = record(w, days_ago=1, persons=[ANNA])
    s = Suggestion.objects.get(person__event=later, target_person__event=earlier)
    sign_in_verified(page, w.investigator)
    page.goto(page.base_url + f"/events/{later.pk}/")
    ref = Event.objects.get(pk=later.pk).reference
    assert page.locator("dd", has_text=ref).is_visible()
    page.goto(page.base_url + f"/review/{s.pk}/")
    card = page.locator(f"#suggestion-{s.pk}")
    assert card.get_by_role("heading", name="Earlier event").is_visible()
    assert "19 days apart" in card.inner_text() and "1 days" not in card.inner_text()
    assert earlier.reference in card.inner_text()
    assert card.get_by_text("log-odds").first.is_visible()
    screenshot(page, f"issue10-card-{'phone' if phone else 'desktop'}")
    assert timezone.now() - later.occurred_at < dt.timedelta(days=2)


HOMES = [("staff", "Recent at your stores"), ("investigator", "Waiting for review"), ("admin", "Your organisation"),
         ("officer", "Your recent searches"), ("police_admin", "Your recent searches"), ("operator", "The platform")]


@pytest.mark.parametrize(("who", "phone", "heading"), [(who, phone, heading) for who, heading in HOMES
                                                       for phone in (True, False)])
def test_each_roles_home_page_shows_its_work(page, phone_page, browser_world, screenshot, who, phone, heading):
    from tests.profiles.helpers import ANA, ANNA, record

    w = browser_world
    record(w, days_ago=3, persons=[ANA])
    record(w, days_ago=1, persons=[ANNA])
    p = phone_page if phone else page
    sign_in_verified(p, getattr(w, who))
    p.goto(p.base_url + "/")
    assert p.get_by_role("heading", name=heading).is_visible()
    width = p.evaluate("document.documentElement.scrollWidth")
    assert width <= p.viewport_size["width"] + 1  # nothing wider than the screen
    screenshot(p, f"issue10-home-{who}-{'phone' if phone else 'desktop'}")


def test_the_admin_menu_fits_one_line_at_1366_and_its_groups_open(page, browser_world, screenshot):
    page.set_viewport_size({"width": 1366, "height": 800})
    sign_in_verified(page, browser_world.admin)
    page.goto(page.base_url + "/")
    nav = page.get_by_role("navigation", name="Main")
    tops = nav.locator(":scope > ul > li").evaluate_all("els => els.map(e => e.getBoundingClientRect().top)")
    assert len(set(round(t) for t in tops)) == 1, tops  # one row
    page.locator("summary", has_text="Organisation").click()
    page.get_by_role("link", name="Users").click()
    page.wait_for_url("**/admin/users/")
    assert page.locator("details[data-current] > summary", has_text="Organisation").count() == 1
    screenshot(page, "issue10-admin-menu-desktop")


def test_a_draft_shows_the_same_local_time_in_its_status_and_in_my_drafts(phone_page, browser_world, screenshot):
    """Issue 10: "saved at 04:42 am" (UTC, the browser's locale) against 17:42 in "My drafts" — now
    both in the organisation's zone, named. The browser runs in UTC here, as the report's did."""
    import re

    from playwright.sync_api import expect

    from tests.browser.test_event_capture import open_form

    page, world = phone_page, browser_world
    open_form(page, world)
    page.get_by_label("Name, if known").fill("Pat Lee")
    status = page.locator("#draft-status")
    expect(status).to_contain_text("Draft saved at", timeout=10_000)
    said = re.search(r"(\d{1,2}:\d{2}) ?(NZ[DS]T|GMT\+1[23])", status.inner_text())
    assert said, status.inner_text()
    page.goto(page.base_url + "/events/drafts/")
    listed = page.locator(".draft").first.inner_text()
    shown = re.search(r"(\d{1,2}:\d{2}) (NZ[DS]T)", listed)
    assert shown, listed

    def minutes(hhmm: str) -> int:
        h, m = map(int, hhmm.split(":"))
        return h * 60 + m

    # The same clock (the save and its answer may straddle a minute, never an hour or a zone).
    assert abs(minutes(said.group(1)) - minutes(shown.group(1))) in (0, 1, 1439), (said.group(0), listed)
    screenshot(page, "issue10-drafts-time-phone")
