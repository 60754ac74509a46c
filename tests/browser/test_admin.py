"""In a real browser: a retailer admin adds a store-staff user scoped to one store, and that user
signs in on a phone and sees only their own store's events."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.models import Role, User

STAFF_PASSWORD = "quiet-harbour-lantern"


def sign_in_verified(page, user) -> None:
    """Start the browser signed in as `user` with a second factor already verified (a session cookie
    as after the real MFA step, which tests/browser/test_identity.py drives through the pages)."""
    from django.test import Client

    from tests.admin.conftest import sign_in

    client = sign_in(Client(), user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "url": page.base_url}])


@pytest.mark.django_db(transaction=True)
def test_admin_adds_store_staff_who_then_sees_only_their_store(page, phone_page, browser_world, event_factory,
                                                               screenshot):
    w = browser_world
    at_cuba = [event_factory(store=w.acme_wlg, type="theft") for _ in range(2)]
    event_factory(store=w.acme_akl, type="robbery")
    event_factory(store=w.bmart_akl, type="theft")

    # The admin opens Users from the navigation and adds a user.
    sign_in_verified(page, w.admin)
    page.goto(page.base_url + "/")
    nav = page.get_by_role("navigation", name="Main")
    nav.locator("summary", has_text="Organisation").click()  # the settings are grouped (issue 10)
    nav.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("Email", exact=True).fill("kiri@acme.test")
    page.get_by_label("First name").fill("Kiri")
    page.get_by_label("Last name").fill("Tipene")
    page.get_by_label("Role", exact=True).select_option(label="Store staff")
    page.get_by_label("Set a first password now").check()
    page.get_by_label("First password", exact=True).fill(STAFF_PASSWORD)
    # Forgetting the store: the error is shown next to the store list and nothing is stored.
    page.get_by_role("button", name="Add user").click()
    stores = page.get_by_role("group", name="Stores")
    assert "Tick at least one store" in stores.inner_text()
    assert page.get_by_role("alert").is_visible()
    screenshot(page, "admin-add-user-error")
    assert not User.objects.filter(email="kiri@acme.test").exists()

    # The form kept what was typed (except the password); tick one store, with the keyboard.
    assert page.get_by_label("Email", exact=True).input_value() == "kiri@acme.test"
    page.get_by_label("First password", exact=True).fill(STAFF_PASSWORD)
    cuba = page.get_by_label("ACME-002 · Acme Cuba St (WLG)")
    cuba.focus()
    page.keyboard.press("Space")
    assert cuba.is_checked()
    screenshot(page, "admin-add-user-form")
    page.get_by_role("button", name="Add user").click()
    assert page.get_by_role("status").filter(has_text="kiri@acme.test can now sign in").is_visible()
    screenshot(page, "admin-user-added")
    kiri = User.objects.get(email="kiri@acme.test")
    assert (kiri.role, [s.code for s in kiri.stores.all()]) == (Role.STORE_STAFF, ["ACME-002"])

    page.get_by_role("navigation", name="Main").locator("summary", has_text="Organisation").click()
    page.get_by_role("link", name="Users").first.click()
    row = page.get_by_role("row").filter(has_text="kiri@acme.test")
    assert "ACME-002" in row.inner_text()
    screenshot(page, "admin-user-list")

    # Kiri signs in on a phone (store staff need no second factor) and sees Cuba St's events only.
    p = phone_page
    p.goto(p.base_url + "/accounts/login/")
    p.get_by_label("Email").fill("kiri@acme.test")
    p.get_by_label("Password").fill(STAFF_PASSWORD)
    p.get_by_role("button", name="Sign in", exact=True).click()
    p.goto(p.base_url + "/events/")
    assert p.get_by_text("2 events").is_visible()
    rows = p.locator("table tbody tr")
    assert rows.count() == len(at_cuba)
    for i in range(rows.count()):
        assert "ACME-002" in rows.nth(i).inner_text()
    options = p.get_by_label("Store").locator("option").all_text_contents()
    assert [o.strip() for o in options] == ["All my stores", "ACME-002 Acme Cuba St"]
    assert p.get_by_role("link", name="Users").count() == 0  # no administration for store staff
    screenshot(p, "staff-phone-events")
    p.goto(p.base_url + "/admin/users/")
    assert "Forbidden" in p.title() or p.locator("body").inner_text().strip() != ""


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.django_db(transaction=True)
def test_administration_pages_fit_a_phone(new_page, browser_world, screenshot):
    w = browser_world
    admin = new_page(phone=True)
    sign_in_verified(admin, w.admin)
    for path, heading, name in [("/admin/users/", "Users", "admin-phone-users"),
                                ("/admin/stores/", "Stores", "admin-phone-stores"),
                                (f"/admin/stores/{w.acme_akl.pk}/", "ACME-001 Acme Ponsonby", "admin-phone-store-edit"),
                                ("/admin/organisation/", "Acme Stores", "admin-phone-organisation")]:
        admin.goto(admin.base_url + path)
        assert admin.get_by_role("heading", name=heading, exact=True).is_visible()
        assert no_sideways_scroll(admin), path
        screenshot(admin, name)

    # Retailer settings through the page: exclude Wellington Police, share with all others.
    admin.goto(admin.base_url + "/admin/organisation/")
    admin.get_by_label("All agencies").check()
    admin.get_by_label("Wellington Police").check()
    admin.get_by_role("button", name="Save settings").click()
    assert admin.get_by_role("status").filter(has_text="Settings saved").is_visible()
    w.acme.refresh_from_db()
    assert w.acme.police_sharing_default == "all"
    assert list(w.acme.police_excluded_agencies.values_list("slug", flat=True)) == ["pol-wlg"]

    # A platform operator's tenants: settings and users, on a phone too.
    ops = new_page(phone=True)
    sign_in_verified(ops, w.operator)
    ops.goto(ops.base_url + "/admin/tenants/")
    assert ops.get_by_role("heading", name="Tenants").is_visible() and no_sideways_scroll(ops)
    screenshot(ops, "operator-phone-tenants")
    ops.get_by_role("link", name="Acme Stores").click()
    assert ops.get_by_text("Never shared with").is_visible()
    assert no_sideways_scroll(ops)
    screenshot(ops, "operator-phone-tenant")
    ops.goto(ops.base_url + "/admin/tenants/new/")
    ops.get_by_role("button", name="Add tenant").click()
    assert ops.get_by_role("alert").is_visible()
    screenshot(ops, "operator-phone-tenant-errors")
