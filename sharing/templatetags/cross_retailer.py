"""`{% cross_card_for suggestion as xcard %}`: the card data of a cross-retailer suggestion as the
signed-in user may see it (matching.cross). A view that lists many may attach them first in one go
(`matching.cross.attach_cross_cards`), and the tag then uses that."""

from __future__ import annotations

from django import template

from matching.cross import cross_card

register = template.Library()


@register.simple_tag(takes_context=True)
def cross_card_for(context, suggestion=None):
    suggestion = suggestion or context.get("suggestion") or context.get("s")
    if suggestion is None or not getattr(suggestion, "other_organisation_id", None):
        return None
    ready = getattr(suggestion, "xcard", None)
    if ready is not None:
        return ready
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return cross_card(user=user, suggestion=suggestion) if user is not None else None
