"""In a real browser: a retailer admin searches their organisation's audit log, opens a row to see
what changed, and downloads the rows as CSV; on a phone the page fits the screen."""

from __future__ import annotations

import csv
import io

import pytest

from audit.models import AuditEntry
from audit.services import audit_record


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def audit_trail(browser_world):
    w = browser_world
    audit_record(action="login.success", actor=w.staff, obj=w.staff, detail={"method": "password", "mfa": "none"})
    audit_record(action="event.create", actor=w.staff, object_type="events.event", object_id=41,
                 object_repr="Theft at Acme Ponsonby", detail={"via": "form"})
    audit_record(action="event.update", actor=w.investigator, object_type="events.event", object_id=41,
                 object_repr="Theft at Acme Ponsonby",
                 detail={"via": "form", "changes": {"total_value": {"before": "12.00", "after": "64.90"},
                                                    "prevented": {"before": False, "after": True}}})
    audit_record(action="event.search", actor=w.investigator, purpose="Weekly shrink review",
                 detail={"filters": {"store": "ACME-001"}})
    audit_record(action="store.update", actor=w.admin, obj=w.acme_akl,
                 detail={"changes": {"name": {"before": "Acme Ponsonby Rd", "after": "Acme Ponsonby"}}})
    audit_record(action="event.view", actor=w.other_investigator, object_type="events.event", object_id=41,
                 object_repr="B-Mart's own event 41")
    return w


@pytest.mark.django_db(transaction=True)
def test_admin_searches_reads_and_exports_the_audit_log(page, audit_trail, login_as, screenshot):
    w = audit_trail
    login_as(page, w.admin)
    page.goto(page.base_url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    assert page.get_by_role("heading", name="Audit log").is_visible()
    table = page.get_by_role("table")
    assert "Weekly shrink review" in table.inner_text()
    assert "B-Mart's own event" not in page.content()
    screenshot(page, "audit-list")

    # Everything about event 41, from the "More filters" section.
    page.get_by_text("More filters").click()
    page.get_by_label("Object id").fill("41")
    page.get_by_role("button", name="Filter").click()
    rows = page.get_by_role("table").get_by_role("row")
    assert rows.count() == 3  # header + Acme's create and update; B-Mart's row about its own 41 is not there
    assert "event.update" in rows.nth(1).inner_text() and "event.create" in rows.nth(2).inner_text()
    screenshot(page, "audit-list-filtered")

    # The update: what changed, before and after, and its place in the hash chain.
    rows.nth(1).get_by_role("link").click()
    assert page.get_by_role("heading", name="Changes").is_visible()
    changes = page.get_by_role("table").inner_text()
    assert "12.00" in changes and "64.90" in changes
    update = AuditEntry.objects.get(action="event.update")
    assert page.get_by_text(update.hash).is_visible() and page.get_by_text(update.prev_hash).is_visible()
    assert page.get_by_text("intact").is_visible()
    screenshot(page, "audit-detail")

    # Back to the filtered list and download it.
    page.go_back()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("audit-acme-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as fh:
        exported = list(csv.DictReader(io.StringIO(fh.read())))
    assert [r["action"] for r in exported] == ["event.update", "event.create"]
    assert AuditEntry.objects.filter(action="audit.export", actor_email=w.admin.email).count() == 1
    assert AuditEntry.objects.filter(action="audit.search", actor_email=w.admin.email).count() >= 2

    # A bad date is named next to its field and shows no rows.
    page.goto(page.base_url + "/audit/?date_from=2026-03-12&date_to=2026-03-10")
    assert page.get_by_role("alert").is_visible()
    assert "before the start date" in page.locator("#id_date_to_error").inner_text()
    screenshot(page, "audit-list-error")


@pytest.mark.django_db(transaction=True)
def test_audit_pages_fit_a_phone(phone_page, audit_trail, login_as, screenshot):
    w = audit_trail
    p = phone_page
    login_as(p, w.admin)
    p.goto(p.base_url + "/audit/")
    assert p.get_by_role("heading", name="Audit log").is_visible()
    assert no_sideways_scroll(p)
    screenshot(p, "audit-phone-list")
    p.get_by_role("link", name="Audit entry").first.click()
    assert p.get_by_role("heading", name="Place in the hash chain").is_visible()
    assert no_sideways_scroll(p)
    screenshot(p, "audit-phone-detail")
