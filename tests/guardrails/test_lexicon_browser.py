"""A retailer admin extends the lexicon on a phone, and the addition refuses text at once."""

from __future__ import annotations

import pytest


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.django_db(transaction=True)
def test_admin_adds_an_entry_on_a_phone(phone_page, browser_world, login_as, screenshot):  # noqa: F811
    from guardrails.checker import check_text, lexicon_changed
    from guardrails.services import sync_platform_lexicon

    sync_platform_lexicon()  # a transactional test starts from an emptied table
    lexicon_changed(None)
    w = browser_world
    page = phone_page
    login_as(page, w.admin)
    page.goto(page.base_url + "/guardrails/")
    assert page.get_by_role("heading", name="Lexicon", exact=True).is_visible()
    # Lexicon sits in the Matching group of the menu (issue 10): the group is marked current, and
    # inside it the Lexicon link.
    nav = page.get_by_role("navigation", name="Main")
    assert nav.locator("details[data-current] > summary").text_content().strip().startswith("Matching")
    assert nav.locator("a[aria-current='page']").text_content().strip() == "Lexicon"

    page.get_by_label("Try a description").fill("Krishna devotee guy, orange robes. Black guy with him.")
    page.get_by_role("button", name="Check").click()
    result = page.locator("#try-result")
    assert "Krishna devotee" not in result.inner_text() and '"Black guy" describes a person' in result.inner_text()

    page.get_by_label("Term").fill("Krishna devotee")
    page.get_by_label("Category").select_option("religion")
    page.get_by_label("When is it refused?").select_option("always")
    page.get_by_role("button", name="Add entry").click()
    assert page.get_by_role("status").filter(has_text="Added “Krishna devotee”").is_visible()
    assert page.get_by_role("cell", name="Krishna devotee").is_visible()

    page.get_by_label("Try a description").fill("Krishna devotee guy, orange robes")
    page.get_by_role("button", name="Check").click()
    assert '"Krishna devotee" describes a person by religion' in page.locator("#try-result").inner_text()
    assert no_sideways_scroll(page)
    screenshot(page, "guardrails-lexicon-phone")
    assert check_text("Krishna devotee guy", organisation=w.bmart) == []

    page.get_by_role("button", name="Add entry").click()  # nothing filled in: named errors, nothing stored
    assert page.locator("#error-summary").is_visible()
    assert page.get_by_text("Nothing was saved.").is_visible()
    screenshot(page, "guardrails-lexicon-phone-errors")
    lexicon_changed(None)
