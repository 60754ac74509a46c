"""`{% cross_card_for suggestion as xcard %}`: the card data of a cross-retailer suggestion as the
signed-in user may see it (matching.cross). A view that lists many may attach them first in one go
(`matching.cross.attach_cross_cards`), and the tag then uses that."""

from __future__ import annotations

from django import template

from matching.cross import cross_card

register = template.Library()


def _is_card_of(value, suggestion) -> bool:
    return isinstance(value, dict) and "request_url" in value and value.get("id") == suggestion.pk


@register.simple_tag(takes_context=True)
def cross_card_for(context, suggestion=None, ready=None):
    """`ready`: a card already computed by matching.cross for this suggestion (the review queue passes
    its own), used as it is; anything else is ignored and the card computed here."""
    suggestion = suggestion or context.get("suggestion") or context.get("s")
    if suggestion is None or not getattr(suggestion, "other_organisation_id", None):
        return None
    for candidate in (ready, getattr(suggestion, "xcard", None)):
        if _is_card_of(candidate, suggestion):
            return candidate
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return cross_card(user=user, suggestion=suggestion) if user is not None else None
