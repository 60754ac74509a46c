"""`{{ value|money }}`: an amount as every page shows it (issue 10, "Money"): the currency's symbol,
thousands separated, two decimals — "NZ$1,234.50". One currency per deployment (settings
CURRENCY_SYMBOL, from AUROR_CURRENCY_SYMBOL); a builtin of the templates, so no page loads it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "−" if amount < 0 else ""
    return f"{sign}{settings.CURRENCY_SYMBOL}{abs(amount):,.2f}"
