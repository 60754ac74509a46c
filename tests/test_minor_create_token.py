"""manage.py create_token names who made the token in its audit row: the operating-system account
that ran the command (the one behind sudo), marked as made from the command line."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import ApiToken
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def os_user(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "ops-alice")
    monkeypatch.delenv("SUDO_USER", raising=False)
    return "ops-alice"


def created_row(token: ApiToken) -> AuditEntry:
    return AuditEntry.objects.get(action="token.create", object_id=str(token.pk))


def test_a_personal_token_row_names_the_operator_and_the_user_it_is_for(world, os_user, capsys):
    call_command("create_token", user="inv@acme.test")
    token = ApiToken.objects.get(user=world.investigator)
    row = created_row(token)
    assert row.actor_email == "cli:ops-alice" and row.actor_id is None
    assert row.organisation_id == world.acme.pk
    assert row.detail["via"] == "command line" and row.detail["command"] == "manage.py create_token"
    assert row.detail["for_user"] == "inv@acme.test" and row.detail["os_user"] == "ops-alice"
    assert row.detail["host"]
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("aur_")


def test_a_service_token_row_names_the_operator(world, os_user):
    call_command("create_token", service=True, org="bmart", name="LPR camera 1")
    row = created_row(ApiToken.objects.get(name="LPR camera 1"))
    assert (row.actor_email, row.organisation_id) == ("cli:ops-alice", world.bmart.pk)
    assert row.detail["via"] == "command line" and row.detail["for_user"] is None


def test_behind_sudo_the_invoking_account_is_named(world, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    monkeypatch.setenv("SUDO_USER", "bob")
    call_command("create_token", user="staff@acme.test")
    row = created_row(ApiToken.objects.get(user=world.staff))
    assert row.actor_email == "cli:bob"
    assert (row.detail["os_user"], row.detail["sudo_user"]) == ("root", "bob")


def test_no_login_name_still_gives_a_token_and_says_so(world, monkeypatch):
    def nobody():
        raise OSError("no login name")

    monkeypatch.setattr("getpass.getuser", nobody)
    monkeypatch.delenv("SUDO_USER", raising=False)
    call_command("create_token", user="staff@acme.test")
    row = created_row(ApiToken.objects.get(user=world.staff))
    assert row.actor_email == "cli:unknown" and row.detail["os_user"] is None


def test_the_chain_still_verifies(world, os_user, capsys):
    call_command("create_token", user="staff@acme.test")
    call_command("audit_verify")
