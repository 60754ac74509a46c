"""The audit log: hash chain, append-only in the database, verification command."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.models import AuditEntry
from audit.services import audit_record


def test_rows_chain_per_organisation(world):
    a1 = audit_record(action="event.view", actor=world.investigator, object_type="events.event", object_id=1)
    b1 = audit_record(action="event.view", actor=world.other_investigator, object_type="events.event", object_id=2)
    a2 = audit_record(action="event.search", actor=world.admin, purpose="weekly review")
    assert (a1.chain, a1.seq) == (world.acme.pk, 1)
    assert (a2.chain, a2.seq, a2.prev_hash) == (world.acme.pk, 2, a1.hash)
    assert (b1.chain, b1.seq) == (world.bmart.pk, 1)
    assert a2.purpose == "weekly review"


def test_audit_row_rolls_back_with_the_change(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        world.acme.name = "Renamed"
        world.acme.save()
        audit_record(action="organisation.update", actor=world.admin, obj=world.acme)
        raise RuntimeError("the change fails after its audit row")
    world.acme.refresh_from_db()
    assert world.acme.name == "Acme Stores"
    assert not AuditEntry.objects.filter(action="organisation.update").exists()


@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditentry SET action = 'forged'",
    "DELETE FROM audit_auditentry",
    "TRUNCATE audit_auditentry",
])
def test_database_refuses_changes_even_from_the_owner(world, sql):
    audit_record(action="event.view", actor=world.investigator)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert AuditEntry.objects.filter(action="event.view").count() == 1


def test_verify_names_a_row_changed_with_triggers_disabled(world, capsys):
    rows = [audit_record(action="event.view", actor=world.investigator, object_id=i) for i in range(1, 5)]
    call_command("audit_verify")
    assert "OK" in capsys.readouterr().out
    with connection.cursor() as cur:  # a superuser bypassing the trigger
        cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cur.execute("UPDATE audit_auditentry SET object_id = '999' WHERE id = %s", [rows[2].pk])
        cur.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert f"row id {rows[2].pk}" in str(exc.value)
    assert exc.value.returncode == 1


def test_verify_names_a_deleted_row(world):
    rows = [audit_record(action="event.view", actor=world.investigator, object_id=i) for i in range(1, 4)]
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cur.execute("DELETE FROM audit_auditentry WHERE id = %s", [rows[1].pk])
        cur.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
    with pytest.raises(CommandError, match="seq 2"):
        call_command("audit_verify")
