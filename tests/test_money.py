"""Money is shown one way on every page (issue 10): the currency's symbol, thousands separated,
two decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client, override_settings

from auror.templatetags.money import money
from tests.admin.conftest import sign_in
from tests.profiles.helpers import record


@pytest.mark.parametrize(("value", "shown"), [(Decimal("49.98"), "NZ$49.98"), (Decimal("1234.5"), "NZ$1,234.50"),
                                              (0, "NZ$0.00"), (Decimal("-5"), "−NZ$5.00"), (None, "—")])
def test_an_amount_is_shown_with_its_currency(value, shown):
    assert money(value) == shown


@override_settings(CURRENCY_SYMBOL="A$")
def test_the_symbol_is_the_deployments():
    assert money(Decimal("10")) == "A$10.00"


@pytest.mark.django_db
def test_the_event_list_and_page_show_the_same_money(world):
    event = record(world, persons=[{"name": "Jo Bloggs"}],
                   products=[{"sku": "X1", "description": "Razor blades", "quantity": 2, "unit_value": Decimal("1250")}])
    c = sign_in(Client(), world.investigator)
    listing = c.get("/events/").content.decode()
    page = c.get(f"/events/{event.pk}/").content.decode()
    assert "NZ$2,500.00" in listing
    assert "NZ$2,500.00" in page and "NZ$1,250.00" in page
