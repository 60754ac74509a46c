"""One clock rule (issue 10): an event's time in its store's timezone, every other time in the
viewer's organisation's timezone, the zone named — in every template and in the browser's own
formatters. The first two tests walk every template and script, so a new page that prints a time
another way fails here."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.test import Client

from tests.admin.conftest import sign_in

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
DATE = re.compile(r"""\|date:(["'])([^"']*)\1""")
EVENT_TIME = re.compile(r"""([\w.]+\.(?:occurred_at))((?:\|[\w]+(?::[\w."']+)?)*)\|date:""")


def test_every_printed_time_of_day_names_its_zone():
    bad = []
    for path in TEMPLATES:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in DATE.finditer(line):
                fmt = m.group(2)
                if ("H:i" in fmt or "G:i" in fmt) and "T" not in fmt:
                    bad.append(f"{path.relative_to(ROOT)}:{n}: |date:{fmt!r}")
    assert not bad, "a time of day without its zone:\n" + "\n".join(bad)


def test_every_event_time_is_in_its_stores_zone():
    bad = []
    for path in TEMPLATES:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in EVENT_TIME.finditer(line):
                if "|timezone:" not in m.group(2) and "|utc" not in m.group(2):
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {m.group(0)}")
    assert not bad, "an event's time not in its store's zone:\n" + "\n".join(bad)


def test_the_browsers_formatters_use_the_pages_zone():
    for script in (ROOT / "static" / "js").glob("*.js"):
        text = script.read_text()
        for m in re.finditer(r"toLocale(Time|Date)?String\(([^)]*)\)", text):
            args = m.group(2)
            if "minimumFractionDigits" in args:  # money, not a time
                continue
            assert "timeZone" in text[m.start():m.start() + 400], f"{script.name}: {m.group(0)} without the page's zone"


@pytest.mark.django_db
def test_judgement_history_and_the_audit_are_in_the_organisations_zone_named(world):
    from matching.services_review import judgement_record
    from tests.profiles.helpers import ANA, ANNA, record, suggestion_between

    first = record(world, days_ago=20, persons=[ANA])
    second = record(world, days_ago=2, persons=[ANNA])
    j = judgement_record(actor=world.investigator, suggestion=suggestion_between(second, first), decision="reject")
    local = j.at.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Auckland"))
    html = sign_in(Client(), world.investigator).get("/review/judgements/").content.decode()
    assert local.strftime("%H:%M") + " NZ" in html  # NZDT or NZST, never UTC
    assert 'data-timezone="Pacific/Auckland"' in html


@pytest.mark.django_db
def test_a_police_admins_audit_is_in_the_agencys_zone_not_utc(world):
    world.pol_akl.timezone = "Pacific/Chatham"
    world.pol_akl.save(update_fields=["timezone"])
    from auror import timezones

    timezones.forget()
    c = sign_in(Client(), world.police_admin)
    html = c.get("/audit/").content.decode()
    assert "Times in Pacific/Chatham" in html and "Times in UTC" not in html
    assert 'data-timezone="Pacific/Chatham"' in html


@pytest.mark.django_db
def test_an_event_time_stays_in_its_stores_zone_whatever_the_viewers(world):
    from tests.profiles.helpers import record

    world.acme.timezone = "Australia/Perth"
    world.acme.save(update_fields=["timezone"])
    from auror import timezones

    timezones.forget()
    event = record(world, days_ago=1, persons=[{"name": "Jo Bloggs"}])
    local = event.occurred_at.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Auckland"))
    html = sign_in(Client(), world.investigator).get(f"/events/{event.pk}/").content.decode()
    assert local.strftime("%H:%M") + " NZ" in html  # the store's, Auckland
    assert 'data-timezone="Australia/Perth"' in html  # other times: the viewer's organisation's
    assert dt.UTC is not None
