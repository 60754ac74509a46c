"""In a real browser: an investigator opens the review queue, reads an explanation, accepts one
suggestion (the profile shows both events), rejects another (it does not come back after `rematch`),
and undoes the accept. The suggestions are real: events recorded through event_submit and matched by
the engine."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from matching.models import Suggestion
from profiles.models import Profile, ProfileMember
from tests.browser.test_admin import sign_in_verified
from tests.profiles.helpers import ANA, ANNA, JOHN, JON, record


@pytest.mark.django_db(transaction=True)
def test_investigator_reviews_accepts_rejects_and_undoes(page, phone_page, browser_world, screenshot):
    w = browser_world
    for store, (lat, lon) in ((w.acme_akl, (-36.857, 174.746)), (w.acme_wlg, (-41.294, 174.776))):
        store.latitude, store.longitude = Decimal(str(lat)), Decimal(str(lon))
        store.save()
    first = record(w, days_ago=12, persons=[JON], vehicles=[{"plate": "KBO812", "person_ref": "p1", "make": "Toyota",
                                                             "colour": "silver"}],
                   products=[{"sku": "RZ-5", "description": "Razor blades 5 pack", "unit_value": Decimal("24.99")}])
    second = record(w, store=w.acme_wlg, days_ago=2, persons=[JOHN], threatened_violence=True,
                    vehicles=[{"plate": "KB0812", "person_ref": "p1"}],
                    products=[{"sku": "RZ-5", "description": "Razor blades 5 pack", "unit_value": Decimal("24.99"),
                               "quantity": 3}])
    record(w, days_ago=20, persons=[ANA])
    record(w, days_ago=1, persons=[ANNA])
    jon = Suggestion.objects.get(person__event=second)
    ana = Suggestion.objects.exclude(pk=jon.pk).get()

    # The investigator opens Review from the navigation: two suggestions, side by side with their explanation.
    sign_in_verified(page, w.investigator)
    page.goto(page.base_url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review suggested links")).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("2 suggestions")
    card = page.locator(f"#suggestion-{jon.pk}")
    expect(card.get_by_role("region", name="This event")).to_contain_text("John Smyth")
    expect(card.get_by_role("region", name="Suggested match")).to_contain_text("Jon Smith")
    expect(card.get_by_role("region", name="Suggested match")).to_contain_text("Razor blades 5 pack")

    # Reading the explanation: a waterfall of feature weights from the starting odds to the score.
    explain = card.get_by_role("region", name="Why it was suggested")
    plate = explain.locator(".wf-row[data-feature=plate]")
    expect(plate).to_contain_text("KB0812 = KBO812 (OCR)")
    assert plate.get_attribute("class").split()[-1] == "for"
    expect(explain.locator(".wf-row[data-feature=prior]")).to_contain_text("Starting odds")
    expect(explain.locator(".wf-row.total")).to_contain_text("over 99.9%")
    bar = plate.locator(".wf-bar").bounding_box()
    assert bar["width"] > 10  # a visible bar, drawn with plain HTML and CSS
    card.scroll_into_view_if_needed()
    screenshot(page, "review-queue")

    # Accept, with a reason: the two events form a profile.
    card.get_by_label("Reason").fill("Same star tattoo and the same car")
    card.get_by_role("button", name="Same person", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Linked")
    expect(page.locator("#queue-count")).to_have_text("1 suggestion")
    profile = Profile.objects.get()
    assert set(ProfileMember.objects.values_list("person__event_id", flat=True)) == {first.pk, second.pk}

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profiles").click()
    page.get_by_role("link", name="John Smyth").click()
    timeline = page.get_by_role("region", name=re.compile(r"^Events \(2\)"))
    expect(timeline.get_by_role("link", name=re.compile("Theft"))).to_have_count(2)
    expect(page.get_by_role("region", name=re.compile("^Harm score"))).to_contain_text("Frequency")
    expect(page.get_by_role("img", name="Map of the stores where this profile was seen")).to_be_visible()
    expect(page.get_by_role("region", name="Names and descriptions seen")).to_contain_text("Jon Smith")
    screenshot(page, "review-profile")

    # Reject the other suggestion; it does not come back after rematch.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    other = page.locator(f"#suggestion-{ana.pk}")
    other.get_by_label("Reason").fill("Different people on CCTV")
    other.get_by_role("button", name="Not the same person").click()
    expect(page.get_by_role("status")).to_contain_text("will not be suggested again")
    expect(page.locator("#queue-count")).to_have_text("0 suggestions")
    call_command("rematch", "--org", "acme")
    page.reload()
    expect(page.locator("#queue-count")).to_have_text("0 suggestions")
    assert not Suggestion.objects.filter(status__in=["pending", "unsure"]).exists()
    ana.refresh_from_db()
    assert ana.status == "rejected"

    # Undo the accept from the judgement history: the profile is dissolved and the suggestion is back.
    page.get_by_role("link", name="Judgement history").click()
    row = page.locator("tr", has_text="Same star tattoo and the same car")
    screenshot(page, "review-judgements")
    row.get_by_role("button", name=re.compile("^Undo")).click()
    expect(page.get_by_role("status")).to_contain_text("Undone")
    expect(row).to_contain_text("undone")
    assert not ProfileMember.objects.exists()
    profile.refresh_from_db()
    assert profile.status == Profile.Status.DISSOLVED
    page.get_by_role("link", name="Review").first.click()
    expect(page.locator(f"#suggestion-{jon.pk}")).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("1 suggestion")

    # The same queue on a phone: the sides stack, the waterfall still reads.
    sign_in_verified(phone_page, w.investigator)
    phone_page.goto(phone_page.base_url + "/review/")
    expect(phone_page.locator(f"#suggestion-{jon.pk} .wf-row.total")).to_be_visible()
    screenshot(phone_page, "review-queue-phone")
