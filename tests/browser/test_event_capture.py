"""Recording an event on a phone, in a real browser (issue 3's acceptance list): a theft with a
photo, a catalogue product and a vehicle; a sensitive phrase refused at its field; a draft that
survives a reload and a lost connection; and an evidence download whose SHA-256 matches the page."""

from __future__ import annotations

import hashlib
import io
import re

from playwright.sync_api import expect

from events.models import Event, EventDraft, Product


def sign_in(page, user, password) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(page.base_url + "/")


def jpeg_bytes() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (40, 60, 90))
    ImageDraw.Draw(image).rectangle((200, 120, 440, 400), fill=(20, 20, 20))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def open_form(page, world):
    sign_in(page, world.staff, world.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Record event").click()
    page.wait_for_url(re.compile(r".*/events/new/.*"))


def test_store_staff_record_a_theft_with_a_photo_a_catalogue_product_and_a_vehicle(phone_page, browser_world, screenshot):
    page, world = phone_page, browser_world
    Product.objects.create(organisation=world.acme, sku="9300601", description="Razor blades 8pk", unit_value="24.99")
    Product.objects.create(organisation=world.acme, sku="9300602", description="Razor blades 4pk", unit_value="15.49")
    open_form(page, world)
    screenshot(page, "event-form-phone-empty")
    # The one store in this worker's scope is chosen already; "when" defaults to now.
    expect(page.get_by_label("Store")).to_have_value("ACME-001")
    assert page.get_by_label("When", exact=True).input_value()

    page.get_by_text("Theft", exact=True).click()
    page.get_by_label("Name, if known").fill("Jon Smith")
    page.get_by_label("Alias 1").fill("Johnny")
    page.get_by_label("Alias 2").fill("Jonno")  # a third alias box appears as the second is filled
    expect(page.get_by_label("Alias 3")).to_be_visible()
    page.get_by_label("Clothing").fill("black hoodie, grey trackpants")
    page.get_by_label("Photos of this person").set_input_files(
        files=[{"name": "cctv-still.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}])

    search = page.get_by_label("Find in the catalogue")
    search.fill("razor")
    page.get_by_role("button", name=re.compile("Razor blades 8pk")).click()
    quantity = page.locator("[name='products.0.quantity']")
    expect(quantity).to_be_focused()
    quantity.fill("2")
    expect(page.locator("#running-total")).to_have_text("49.98")

    page.get_by_role("button", name="Add a vehicle").click()
    page.get_by_label("Plate").fill("kbo 812")
    page.get_by_label("Make").fill("Toyota")
    page.get_by_label("Linked person").select_option(label="Person 1: Jon Smith")
    page.get_by_label("What happened, in a few sentences").fill("Filled a bag with razor blades and left past the tills.")
    screenshot(page, "event-form-phone-filled")

    page.get_by_role("button", name="Record event").click()
    page.wait_for_url(re.compile(r".*/events/\d+/$"))
    screenshot(page, "event-detail-phone")
    event = Event.objects.get()
    expect(page.get_by_text("Theft at Acme Ponsonby recorded.")).to_be_visible()
    expect(page.get_by_text("1 photo added to the evidence.")).to_be_visible()
    expect(page.locator("#products-total")).to_have_text("49.98")
    assert event.vehicles.get().plate_normalised == "KBO812"
    assert event.vehicles.get().person == event.persons.get()
    assert event.persons.get().aliases == ["Johnny", "Jonno"]
    item = event.evidence.get()
    assert item.person == event.persons.get()

    # The evidence download's SHA-256 is the one the page shows.
    page.get_by_role("link", name="cctv-still.jpg").click()
    shown = page.locator("#sha256").inner_text().strip()
    screenshot(page, "evidence-item-phone")
    with page.expect_download() as info:
        page.locator("#download").click()
    path = info.value.path()
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == shown == item.sha256
    # The local draft is gone once the event is recorded.
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('auror:draft:')).length") == 0

    # The list finds it by the plate typed any which way.
    page.goto(page.base_url + "/events/")
    page.get_by_label("Search").fill("KBO-812")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".result-count")).to_have_text("1 event")
    screenshot(page, "event-list-phone")


def test_a_sensitive_phrase_is_refused_at_the_field(phone_page, browser_world, screenshot):
    page, world = phone_page, browser_world
    open_form(page, world)
    page.get_by_text("Theft", exact=True).click()
    page.get_by_label("Name, if known").fill("Jon Smith")
    clothing = page.get_by_label("Clothing")
    clothing.fill("black guy, grey trackpants")
    # While typing: the draft save brings the refusal to the field.
    warning = page.locator("#f-persons-0-clothing-warning")
    expect(warning).to_contain_text("black guy")
    page.get_by_role("button", name="Record event").click()
    error = page.locator("#f-persons-0-clothing-error")
    expect(error).to_contain_text("black guy")
    clothing = page.locator("#f-persons-0-clothing")
    expect(clothing).to_have_attribute("aria-invalid", "true")
    assert "f-persons-0-clothing-error" in clothing.get_attribute("aria-describedby")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_contain_text("Person 1: Clothing")
    screenshot(page, "event-form-phone-refused")
    assert Event.objects.count() == 0
    # "Black hoodie" is fine: fixing the field records the event.
    clothing.fill("black hoodie, grey trackpants")
    page.get_by_role("button", name="Record event").click()
    page.wait_for_url(re.compile(r".*/events/\d+/$"))
    assert Event.objects.get().persons.get().clothing == "black hoodie, grey trackpants"


def test_a_draft_survives_a_reload_and_a_lost_connection(phone_page, browser_world, screenshot):
    page, world = phone_page, browser_world
    open_form(page, world)
    page.get_by_text("Robbery", exact=True).click()
    page.get_by_label("Name, if known").fill("Pat Lee")
    page.get_by_role("button", name="Add another person").click()
    page.locator("[name='persons.1.name']").fill("Kim Doe")
    page.get_by_label("Violence was threatened").check()
    expect(page.locator("#draft-status")).to_contain_text("Draft saved")
    key = page.locator("#event-form").get_attribute("data-draft-key")
    assert f"draft={key}" in page.url

    page.reload()
    expect(page.locator("[name='persons.0.name']")).to_have_value("Pat Lee")
    expect(page.locator("[name='persons.1.name']")).to_have_value("Kim Doe")
    expect(page.locator("#f-type-robbery")).to_be_checked()
    expect(page.get_by_label("Violence was threatened")).to_be_checked()

    # The connection drops: what is typed stays on the phone, survives a reload from the cache of
    # this tab's storage, and reaches the server when the connection is back.
    page.context.set_offline(True)
    narrative = page.get_by_label("What happened, in a few sentences")
    narrative.fill("Threatened staff and left with the till tray.")
    expect(page.locator("#draft-status")).to_contain_text("Saved on this device")
    screenshot(page, "event-form-phone-offline")
    page.context.set_offline(False)
    page.reload()
    expect(narrative).to_have_value("Threatened staff and left with the till tray.")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved", timeout=10_000)
    assert EventDraft.objects.get(key=key).data["narrative"] == "Threatened staff and left with the till tray."

    # "My drafts" lists it.
    page.goto(page.base_url + "/events/drafts/")
    expect(page.get_by_text("Robbery at ACME-001 Acme Ponsonby")).to_be_visible()
    screenshot(page, "drafts-phone")
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("[name='persons.1.name']")).to_have_value("Kim Doe")

    # Submitting with no connection keeps it on the phone and sends it when the connection is back.
    page.context.set_offline(True)
    page.get_by_role("button", name="Record event").click()
    expect(page.locator("#outbox-status")).to_contain_text("No connection")
    screenshot(page, "event-form-phone-queued")
    assert Event.objects.count() == 0
    page.context.set_offline(False)
    page.wait_for_url(re.compile(r".*/events/\d+/$"))
    event = Event.objects.get()
    assert event.client_key is not None and str(event.client_key) == key
    assert sorted(event.persons.values_list("name", flat=True)) == ["Kim Doe", "Pat Lee"]
    assert event.threatened_violence and event.type == "robbery"


def test_rows_without_javascript(browser, live_server, browser_world, screenshot):
    """The form works with scripts off: "Add another person" posts back with one more row."""
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.base_url = live_server.url
    world = browser_world
    try:
        sign_in(page, world.staff, world.password)
        page.goto(page.base_url + "/events/new/")
        page.locator("#f-type-theft").check()
        page.get_by_label("Name, if known").fill("Pat Lee")
        page.get_by_role("button", name="Add another person").click()
        expect(page.locator("[name='persons.0.name']")).to_have_value("Pat Lee")
        expect(page.locator("[name='persons.1.name']")).to_be_focused()
        page.locator("[name='persons.1.name']").fill("Kim Doe")
        screenshot(page, "event-form-nojs")
        page.get_by_role("button", name="Record event").click()
        page.wait_for_url(re.compile(r".*/events/\d+/$"))
        assert sorted(Event.objects.get().persons.values_list("name", flat=True)) == ["Kim Doe", "Pat Lee"]
    finally:
        ctx.close()


def test_form_and_list_on_a_desktop(page, browser_world, screenshot):
    """Investigators work at a desk: the same pages, laid out wider; the filters open by keyboard."""
    world = browser_world
    sign_in(page, world.investigator, world.password)
    page.goto(page.base_url + "/events/new/")
    # Investigators record at any of their retailer's stores: no store is chosen for them.
    expect(page.get_by_label("Store")).to_have_value("")
    page.get_by_role("button", name="Add a vehicle").click()
    screenshot(page, "event-form-desktop")
    page.goto(page.base_url + "/events/")
    page.get_by_text("More filters").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Violence").select_option("used")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".result-count")).to_have_text("0 events")
    expect(page.get_by_label("Violence")).to_have_value("used")
    screenshot(page, "event-list-desktop")
