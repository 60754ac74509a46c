"""manage.py create_token: the last line printed is a working token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def api_get(token: str, path: str = "/api/v1/events/"):
    return APIClient().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_personal_token_last_line_works_and_sees_what_the_user_sees(world, event_factory, run):
    mine = event_factory(store=world.acme_akl)
    event_factory(store=world.acme_wlg)  # not the staff member's store
    event_factory(store=world.bmart_akl)  # another retailer's
    ran = run("create_token", user="staff@acme.test")
    assert ran.error is None, ran.err
    token = ran.lines[-1]
    assert token.startswith("aur_") and " " not in token
    r = api_get(token)
    assert r.status_code == 200
    assert [e["id"] for e in r.json()["results"]] == [mine.pk]
    stored = ApiToken.objects.get(user=world.staff)
    assert stored.kind == ApiToken.Kind.PERSONAL and stored.token_hash != token
    assert AuditEntry.objects.filter(action="token.create", object_id=str(stored.pk)).exists()


def test_email_is_matched_without_regard_to_case(world, run):
    ran = run("create_token", user="STAFF@Acme.test")
    assert ran.error is None and api_get(ran.lines[-1]).status_code == 200


def test_service_token_last_line_works_for_the_organisation(world, event_factory, run):
    ran = run("create_token", service=True, org="acme", name="LPR camera 3")
    assert ran.error is None, ran.err
    token = ran.lines[-1]
    stored = ApiToken.objects.get(name="LPR camera 3")
    assert (stored.kind, stored.organisation, stored.user) == (ApiToken.Kind.SERVICE, world.acme, None)
    # A service token is no person: it may call the API, and sees no person's events.
    r = api_get(token)
    assert r.status_code == 200 and r.json()["count"] == 0
    assert api_get("aur_not-a-real-token").status_code == 401


@pytest.mark.parametrize("kwargs,message", [
    ({"user": "nobody@acme.test"}, "no user with the email 'nobody@acme.test'"),
    ({"service": True, "org": "nowhere", "name": "x"}, "no organisation with the slug 'nowhere'"),
    ({"service": True, "org": "acme"}, "needs --org SLUG and --name NAME"),
    ({}, "give either --user EMAIL or --service"),
    ({"user": "staff@acme.test", "service": True}, "give either --user EMAIL or --service"),
])
def test_bad_arguments_fail_and_create_nothing(world, run, kwargs, message):
    ran = run("create_token", **kwargs)
    assert ran.error is not None and message in str(ran.error)
    assert not ApiToken.objects.exists()


def test_a_deactivated_user_gets_no_token(world, run):
    world.staff.is_active = False
    world.staff.save()
    ran = run("create_token", user="staff@acme.test")
    assert ran.error is not None and "deactivated" in str(ran.error)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_manage_py_prints_a_working_token_as_its_last_line(event_factory):
    """Through a real `manage.py` process, as an operator's script would call it: committed data,
    the token read from the last line of its output."""
    import subprocess
    import sys

    from django.conf import settings

    from accounts.models import Role
    from tests.factories import StoreFactory, UserFactory
    from tests.processes import process_env

    store = StoreFactory(code="ACME-001")
    UserFactory(email="script@acme.test", organisation=store.organisation, role=Role.INVESTIGATOR)
    event = event_factory(store=store)
    env = process_env()
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py"), "create_token"]
    p = subprocess.run([*manage, "--user", "script@acme.test"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip().splitlines()[-1]
    r = api_get(token)
    assert r.status_code == 200 and [e["id"] for e in r.json()["results"]] == [event.pk]
    p = subprocess.run([*manage, "--user", "ghost@acme.test"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and "no user with the email 'ghost@acme.test'" in p.stderr
