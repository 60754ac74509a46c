"""The harm score: the documented formula (docs/harm_score.md) and the order profiles are listed in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from profiles.services import harm_parts
from tests.admin.conftest import sign_in
from tests.profiles.helpers import ANA, ANNA, JOHN, JON, record, suggestion_between


def test_the_documented_example():
    now = timezone.now()
    parts = harm_parts(events=6, last_seen=now - dt.timedelta(days=30), loss=Decimal("1450"), violent=1, threats=1,
                       now=now)
    assert parts == {"frequency": 16.0, "recency": 19.8, "loss": 19.8, "violence": 18.8, "score": 74.4}


def test_each_part_is_capped_at_25_and_grows_with_what_it_measures():
    now = timezone.now()
    top = harm_parts(events=500, last_seen=now, loss=10**7, violent=9, threats=9, now=now)
    assert top == {"frequency": 25.0, "recency": 25.0, "loss": 25.0, "violence": 25.0, "score": 100.0}
    assert harm_parts(events=0, last_seen=None, loss=0, violent=0, threats=0, now=now)["score"] == 0
    older = harm_parts(events=3, last_seen=now - dt.timedelta(days=180), loss=50, violent=0, threats=0, now=now)
    newer = harm_parts(events=3, last_seen=now - dt.timedelta(days=10), loss=50, violent=0, threats=0, now=now)
    assert older["recency"] == 6.2 and newer["recency"] > older["recency"]


@pytest.mark.django_db
def test_profiles_are_listed_by_harm_highest_first(world, client):
    from matching.services_review import judgement_record

    # A petty pair long ago, and a violent pair last week.
    quiet = [record(world, days_ago=300, persons=[ANA], products=[{"unit_value": Decimal("5")}]),
             record(world, days_ago=290, persons=[ANNA], products=[{"unit_value": Decimal("5")}])]
    violent = [record(world, days_ago=9, persons=[JON], used_violence=True, products=[{"unit_value": Decimal("400")}]),
               record(world, days_ago=7, persons=[JOHN], threatened_violence=True)]
    for a, b in (quiet, violent):
        judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision="accept")
    response = sign_in(client, world.investigator).get("/profiles/")
    listed = list(response.context["page_obj"])
    assert [p.label for p in listed] == ["John Smyth", "Anna Lopes"]
    assert listed[0].harm_score > listed[1].harm_score
    assert b"How the harm score is worked out" in response.content and b"log2(1 + events)" in response.content
