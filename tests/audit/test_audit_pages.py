"""The audit log in the browser: each admin sees, filters, reads and exports their own
organisation's rows and nothing else; looking is itself audited."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import zoneinfo

import pytest
import time_machine
from django.db import connection

from audit.models import AuditEntry
from audit.services import audit_record

AKL = zoneinfo.ZoneInfo("Pacific/Auckland")


def rows_on_page(response) -> list[AuditEntry]:
    return list(response.context["entries"])


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def audit_of(user, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.visible_to(user).filter(action=action).order_by("id"))


@pytest.fixture
def logs(world):
    """A few rows in Acme's log and in B-Mart's, about objects with the same ids."""
    acme = [
        audit_record(action="event.view", actor=world.investigator, object_type="events.event", object_id=7,
                     object_repr="Theft at Acme Ponsonby"),
        audit_record(action="event.update", actor=world.staff, object_type="events.event", object_id=7,
                     object_repr="Theft at Acme Ponsonby",
                     detail={"via": "form", "changes": {"total_value": {"before": "10.00", "after": "25.50"}}}),
        audit_record(action="event.search", actor=world.investigator, purpose="weekly shrink review"),
        audit_record(action="store.update", actor=world.admin, object_type="accounts.store", object_id=3,
                     object_repr="ACME-001 Acme Ponsonby"),
    ]
    bmart = [
        audit_record(action="event.view", actor=world.other_investigator, object_type="events.event",
                     object_id=99, object_repr="Robbery at B-Mart Newmarket", purpose="bmart secret purpose"),
        audit_record(action="event.update", actor=world.other_staff, object_type="events.event", object_id=7,
                     object_repr="B-Mart event seven"),
    ]
    return {"acme": acme, "bmart": bmart}


# --- who sees what ---------------------------------------------------------------------------------


def test_admin_sees_only_their_own_organisations_rows(world, logs, as_user):
    response = as_user(world.admin).get("/audit/")
    assert response.status_code == 200
    shown = {e.pk for e in rows_on_page(response)}
    assert {e.pk for e in logs["acme"]} <= shown
    assert not shown & {e.pk for e in logs["bmart"]}
    page = response.content.decode()
    assert "weekly shrink review" in page and "Theft at Acme Ponsonby" in page
    for theirs in ("Robbery at B-Mart", "B-Mart event seven", "bmart secret purpose", "staff@bmart.test",
                   "inv@bmart.test"):
        assert theirs not in page


def test_filtering_by_another_organisations_object_id_shows_nothing(world, logs, as_user):
    response = as_user(world.admin).get("/audit/", {"object_type": "events.event", "object_id": "99"})
    assert response.status_code == 200
    assert rows_on_page(response) == []
    assert "Robbery at B-Mart" not in response.content.decode()
    # The same id in both logs: only Acme's rows about its own object 7.
    response = as_user(world.admin).get("/audit/", {"object_id": "7"})
    assert {e.pk for e in rows_on_page(response)} == {logs["acme"][0].pk, logs["acme"][1].pk}


def test_free_text_cannot_reach_another_organisations_rows(world, logs, as_user):
    response = as_user(world.admin).get("/audit/", {"q": "bmart secret"})
    assert rows_on_page(response) == []
    response = as_user(world.other_admin).get("/audit/", {"q": "bmart secret"})
    assert [e.pk for e in rows_on_page(response)] == [logs["bmart"][0].pk]


def test_detail_of_another_organisations_row_is_404_like_a_missing_one(world, logs, as_user):
    client = as_user(world.admin)
    assert client.get(f"/audit/{logs['bmart'][0].pk}/").status_code == 404
    assert client.get("/audit/987654321/").status_code == 404
    assert not AuditEntry.objects.filter(action="audit.view").exists()


def test_police_admin_and_operator_see_their_own_organisations_rows(world, logs, as_user):
    police = audit_record(action="event.search", actor=world.officer, purpose="burglary ring",
                          detail={"filters": {"q": "ring"}})
    other_police = audit_record(action="event.search", actor=world.officer_wlg, purpose="wellington thing")
    platform = audit_record(action="tenant.create", actor=world.operator, obj=world.bmart)

    shown = {e.pk for e in rows_on_page(as_user(world.police_admin).get("/audit/"))}
    assert police.pk in shown and other_police.pk not in shown
    assert not shown & {e.pk for e in logs["acme"] + logs["bmart"]}

    shown = {e.pk for e in rows_on_page(as_user(world.operator).get("/audit/"))}
    assert platform.pk in shown
    assert not shown & {e.pk for e in logs["acme"] + logs["bmart"] + [police]}
    # Tenants' logs are theirs: an operator gets a 404 for a retailer's row.
    assert as_user(world.operator).get(f"/audit/{logs['acme'][0].pk}/").status_code == 404


@pytest.mark.parametrize("persona", ["staff", "investigator", "investigator_sensitive", "officer"])
@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv", "/audit/{pk}/"])
def test_roles_below_admin_are_refused(world, logs, as_user, persona, path):
    user = getattr(world, persona)
    own_row = AuditEntry.objects.filter(organisation_id=user.organisation_id).first() or audit_record(
        action="event.search", actor=user)
    response = as_user(user).get(path.format(pk=own_row.pk))
    assert response.status_code == 403
    assert [r.actor_email for r in AuditEntry.objects.filter(action="permission.denied")] == [user.email]
    assert not AuditEntry.objects.filter(action__in=["audit.search", "audit.export", "audit.view"]).exists()


def test_signed_out_visitors_are_sent_to_sign_in(world, logs, client):
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_log_cannot_be_written_through_these_pages(world, logs, as_user, method):
    client = as_user(world.admin)
    for path in ("/audit/", "/audit/export.csv", f"/audit/{logs['acme'][0].pk}/"):
        assert getattr(client, method)(path).status_code == 405


# --- filters -------------------------------------------------------------------------------------


def test_filters_by_actor_action_type_and_text(world, logs, as_user):
    client = as_user(world.admin)
    acme = logs["acme"]

    def pks(**params):
        response = client.get("/audit/", params)
        assert response.status_code == 200, response.context["form"].errors
        return [e.pk for e in rows_on_page(response) if e.pk in {a.pk for a in acme}]

    assert pks(actor="inv@ACME") == [acme[2].pk, acme[0].pk]
    assert pks(action="event.update") == [acme[1].pk]
    assert pks(action="event.") == [acme[2].pk, acme[1].pk, acme[0].pk]
    assert pks(action="event") == []  # not a prefix without the dot: an exact action
    assert pks(object_type="ACCOUNTS.STORE") == [acme[3].pk]
    assert pks(q="shrink") == [acme[2].pk]  # the purpose
    assert pks(q="ponsonby") == [acme[3].pk, acme[1].pk, acme[0].pk]  # the object's description
    assert pks(actor="inv@acme", action="event.view", object_id="7") == [acme[0].pk]


def test_date_range_is_inclusive_in_the_viewers_time_zone(world, as_user):
    def at(local: dt.datetime) -> AuditEntry:
        with time_machine.travel(local.replace(tzinfo=AKL), tick=False):
            return audit_record(action="event.view", actor=world.investigator, object_id=local.day)

    before = at(dt.datetime(2026, 3, 9, 23, 59))
    first = at(dt.datetime(2026, 3, 10, 0, 0))  # 9 March in UTC: Auckland is the admin's zone
    last = at(dt.datetime(2026, 3, 11, 23, 59))
    after = at(dt.datetime(2026, 3, 12, 0, 1))
    response = as_user(world.admin).get("/audit/", {"date_from": "2026-03-10", "date_to": "2026-03-11"})
    shown = [e.pk for e in rows_on_page(response)]
    assert first.pk in shown and last.pk in shown
    assert before.pk not in shown and after.pk not in shown
    assert "Pacific/Auckland" in response.content.decode()


@pytest.mark.parametrize("params, field, message", [
    ({"date_from": "10/03/2026x"}, "date_from", "Enter a valid date"),
    ({"date_from": "2026-03-12", "date_to": "2026-03-10"}, "date_to", "before the start date"),
    ({"actor": "x" * 201}, "actor", "at most 200 characters"),
])
def test_bad_filters_are_named_and_show_no_rows(world, logs, as_user, params, field, message):
    response = as_user(world.admin).get("/audit/", params)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert rows_on_page(response) == []
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page and 'role="alert"' in page
    assert not AuditEntry.objects.filter(action="audit.search").exists()
    # Exporting with the same bad filters shows the same errors, and exports nothing.
    response = as_user(world.admin).get("/audit/export.csv", params)
    assert response.status_code == 400 and not response.streaming
    assert not AuditEntry.objects.filter(action="audit.export").exists()


def test_pages_stay_put_while_new_rows_arrive(world, as_user):
    made = [audit_record(action="event.view", actor=world.investigator, object_id=i) for i in range(120)]
    client = as_user(world.admin)
    first = client.get("/audit/", {"action": "event.view"})
    assert first.context["paginator"].count == 120
    page_one = [e.pk for e in rows_on_page(first)]
    assert page_one == [e.pk for e in reversed(made)][:50]
    next_link = first.context["pages_query"]
    # Rows written meanwhile (by others, and by the searches themselves) do not shift the pages.
    for i in range(5):
        audit_record(action="event.view", actor=world.investigator, object_id=1000 + i)
    second = client.get(f"/audit/?{next_link}&page=2")
    assert [e.pk for e in rows_on_page(second)] == [e.pk for e in reversed(made)][50:100]
    third = client.get(f"/audit/?{next_link}&page=3")
    assert [e.pk for e in rows_on_page(third)] == [e.pk for e in reversed(made)][100:]
    assert 'aria-label="Pages"' in first.content.decode()


# --- looking is audited --------------------------------------------------------------------------


def test_searching_the_log_is_audited_with_the_filters(world, logs, as_user):
    as_user(world.admin).get("/audit/", {"actor": "inv@acme", "q": "shrink"})
    (row,) = audit_of(world.admin, "audit.search")
    assert row.actor_email == "admin@acme.test"
    assert row.organisation_id == world.acme.pk
    assert row.detail["filters"] == {"actor": "inv@acme", "q": "shrink"}
    # Other organisations' logs are untouched.
    assert not AuditEntry.objects.filter(organisation_id=world.bmart.pk, action__startswith="audit.").exists()


def test_the_search_row_appears_on_the_next_look(world, logs, as_user):
    client = as_user(world.admin)
    client.get("/audit/")
    response = client.get("/audit/", {"action": "audit.search"})
    assert [e.actor_email for e in rows_on_page(response)] == ["admin@acme.test"]


# --- one row -------------------------------------------------------------------------------------


def test_detail_shows_every_field_changes_and_the_chain(world, logs, as_user):
    row = logs["acme"][1]
    response = as_user(world.admin).get(f"/audit/{row.pk}/")
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    for value in (row.hash, row.prev_hash, row.actor_email, row.action, row.object_type, "Theft at Acme Ponsonby",
                  '"total_value"', "10.00", "25.50", '"via": "form"'):
        assert value in page, value
    assert response.context["changes"] == [("total_value", "10.00", "25.50")]
    assert "intact" in page
    assert response.context["integrity"].previous == logs["acme"][0]
    (viewed,) = audit_of(world.admin, "audit.view")
    assert (viewed.object_type, viewed.object_id) == ("audit.auditentry", str(row.pk))


def test_detail_says_when_a_row_was_tampered_with(world, logs, as_user):
    row = logs["acme"][0]
    with connection.cursor() as cur:  # a superuser bypassing the append-only trigger
        cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cur.execute("UPDATE audit_auditentry SET actor_email = 'nobody@acme.test' WHERE id = %s", [row.pk])
        cur.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
    page = as_user(world.admin).get(f"/audit/{row.pk}/").content.decode()
    assert "broken" in page and "changed after it was written" in page


# --- CSV export ----------------------------------------------------------------------------------


def test_export_streams_the_filtered_rows_as_csv(world, logs, as_user):
    response = as_user(world.admin).get("/audit/export.csv", {"action": "event."})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    rows = csv_rows(response)
    assert [int(r["id"]) for r in rows] == [logs["acme"][2].pk, logs["acme"][1].pk, logs["acme"][0].pk]
    update = rows[1]
    assert update["action"] == "event.update" and update["actor_email"] == "staff@acme.test"
    assert update["hash"] == logs["acme"][1].hash and update["prev_hash"] == logs["acme"][1].prev_hash
    assert '"after": "25.50"' in update["detail"]
    assert dt.datetime.fromisoformat(update["at"]) == logs["acme"][1].at
    # In the viewer's zone, and the file says which (issue 10): the offset of Auckland, not UTC's.
    assert update["at"].endswith(("+13:00", "+12:00"))


def test_export_never_holds_another_organisations_rows(world, logs, as_user):
    rows = csv_rows(as_user(world.admin).get("/audit/export.csv"))
    ids = {int(r["id"]) for r in rows}
    assert {e.pk for e in logs["acme"]} <= ids
    assert not ids & {e.pk for e in logs["bmart"]}
    assert {r["organisation_id"] for r in rows} == {str(world.acme.pk)}
    rows = csv_rows(as_user(world.admin).get("/audit/export.csv", {"object_id": "99"}))
    assert rows == []


def test_export_is_audited_in_the_same_request(world, logs, as_user):
    response = as_user(world.admin).get("/audit/export.csv", {"actor": "inv@acme"})
    (row,) = audit_of(world.admin, "audit.export")
    assert row.detail["filters"] == {"actor": "inv@acme"}
    assert row.detail["rows"] == 2 and row.detail["format"] == "csv"
    assert len(csv_rows(response)) == 2


def test_export_neutralises_spreadsheet_formulas(world, as_user):
    nasty = ['=HYPERLINK("http://evil.test","click")', "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1"]
    for text in nasty:
        audit_record(action="event.view", actor=world.investigator, object_type="events.event", object_id=1,
                     object_repr=text, purpose=text)
    rows = csv_rows(as_user(world.admin).get("/audit/export.csv", {"action": "event.view"}))
    reprs = sorted(r["object_repr"] for r in rows)
    assert reprs == sorted("'" + t for t in nasty)
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_export_of_a_large_log_streams_in_bounded_memory(world, as_user, monkeypatch):
    """8,000 long rows (about 11 MB of CSV) go out while Python never holds more than a chunk of
    them: rows come from a database cursor a chunk at a time and each line is sent as it is made, so
    memory depends on the chunk size (smaller here than in production), not on the log's size."""
    import tracemalloc

    from django.utils import timezone

    from audit import selectors

    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 200)
    long = "x" * 200
    now = timezone.now()
    AuditEntry.objects.bulk_create([
        AuditEntry(chain=world.acme.pk, seq=10_000 + i, organisation_id=world.acme.pk, at=now, action="bulk.row",
                   actor_email="inv@acme.test", object_type="events.event", object_id=str(i),
                   object_repr=long, user_agent=long * 1 + "y" * 99, purpose=long * 2 + "z" * 99,
                   detail={"n": i, "note": long}, prev_hash="0" * 64, hash="f" * 64)
        for i in range(8_000)
    ], batch_size=2000)
    response = as_user(world.admin).get("/audit/export.csv", {"action": "bulk.row"})
    assert response.streaming
    total = lines = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            total += len(chunk)
            lines += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 8_001
    assert total > 10_000_000
    assert peak < total / 5, f"peak {peak:,} bytes while streaming {total:,}"
