"""`manage.py audit_verify` names every break of every chain, not only the first (issue 11, finding
9); it still exits 1 naming the first broken row (shared/CONTRACTS.md), and 0 when all is intact."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.services import audit_record
from audit.verify import verify_chains

pytestmark = pytest.mark.django_db


def tamper(sql: str, params: list) -> None:
    with connection.cursor() as cur:  # a superuser bypassing the append-only trigger
        cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cur.execute(sql, params)
        cur.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")


@pytest.fixture
def chain(world):
    return [audit_record(action="event.view", actor=world.investigator, object_id=i) for i in range(1, 9)]


def run(capsys) -> tuple[CommandError | None, str, str]:
    try:
        call_command("audit_verify")
        error = None
    except CommandError as exc:
        error = exc
    out = capsys.readouterr()
    return error, out.out, out.err


def test_an_edited_row_and_a_deleted_row_in_one_chain_are_two_findings(chain, capsys):
    tamper("UPDATE audit_auditentry SET object_id = '999' WHERE id = %s", [chain[2].pk])  # seq 3
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [chain[5].pk])  # seq 6
    checked, breaks = verify_chains()
    assert [(b.seq, b.entry_id) for b in breaks] == [(3, chain[2].pk), (6, None)]
    assert "edited" in breaks[0].reason and "missing" in breaks[1].reason

    error, out, err = run(capsys)
    assert error is not None and error.returncode == 1
    assert f"first broken row is chain {chain[0].chain}, seq 3 (row id {chain[2].pk})" in str(error)
    assert "2 breaks" in str(error)
    lines = [line for line in err.splitlines() if line.startswith("BROKEN")]
    assert len(lines) == 2
    assert f"row id {chain[2].pk}" in lines[0] and "seq 6" in lines[1]


def test_breaks_in_two_chains_are_each_named(world, chain, capsys):
    other = [audit_record(action="event.view", actor=world.other_investigator, object_id=i) for i in range(1, 4)]
    tamper("UPDATE audit_auditentry SET purpose = 'forged' WHERE id = %s", [chain[0].pk])
    tamper("UPDATE audit_auditentry SET purpose = 'forged' WHERE id = %s", [other[1].pk])
    _, breaks = verify_chains()
    assert {(b.chain, b.entry_id) for b in breaks} == {(chain[0].chain, chain[0].pk), (other[1].chain, other[1].pk)}


def test_several_edited_rows_are_each_named_and_the_rows_after_them_are_not(chain):
    for row in (chain[1], chain[2], chain[6]):
        tamper("UPDATE audit_auditentry SET object_id = 'x' WHERE id = %s", [row.pk])
    _, breaks = verify_chains()
    assert [b.entry_id for b in breaks] == [chain[1].pk, chain[2].pk, chain[6].pk]


def test_consecutive_deleted_rows_are_one_gap(chain):
    tamper("DELETE FROM audit_auditentry WHERE id = ANY(%s)", [[chain[3].pk, chain[4].pk]])
    _, breaks = verify_chains()
    assert len(breaks) == 1 and (breaks[0].seq, breaks[0].entry_id) == (4, None)
    assert "seq 4 to 5" in breaks[0].reason


def test_rows_deleted_at_the_end_of_a_chain_are_found_from_its_head(chain):
    tamper("DELETE FROM audit_auditentry WHERE id = ANY(%s)", [[chain[6].pk, chain[7].pk]])
    _, breaks = verify_chains()
    assert [(b.seq, b.entry_id) for b in breaks] == [(7, None)]
    assert "seq 7 to 8" in breaks[0].reason


def test_a_row_whose_link_was_rewritten_is_named(chain):
    tamper("UPDATE audit_auditentry SET prev_hash = %s WHERE id = %s", ["f" * 64, chain[4].pk])
    _, breaks = verify_chains()
    assert [(b.seq, b.entry_id) for b in breaks] == [(5, chain[4].pk)]


def test_an_intact_log_exits_0(chain, capsys):
    error, out, err = run(capsys)
    assert error is None and "OK: 8 audit rows verified" in out and not err
