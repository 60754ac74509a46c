"""Navigation by role."""

from __future__ import annotations

from accounts.models import Role

NAV = [
    ("Record event", "events:create", {Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN}),
    ("Events", "events:list", {Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_OFFICER}),
    ("Import", "events:import", {Role.INVESTIGATOR, Role.RETAILER_ADMIN}),
    ("Review", "matching:queue", {Role.INVESTIGATOR, Role.RETAILER_ADMIN}),
    ("Profiles", "profiles:list", {Role.INVESTIGATOR, Role.RETAILER_ADMIN}),
    ("Catalogue", "events:catalogue", {Role.RETAILER_ADMIN}),
    ("Users", "accounts:users", {Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR}),
    ("Stores", "accounts:stores", {Role.RETAILER_ADMIN}),
    ("Organisation", "accounts:organisation", {Role.RETAILER_ADMIN, Role.POLICE_ADMIN}),
    ("Tenants", "accounts:tenants", {Role.PLATFORM_OPERATOR}),
    ("Disclosures", "sharing:disclosures", {Role.INVESTIGATOR, Role.RETAILER_ADMIN}),
    ("Sharing", "sharing:agreements", {Role.RETAILER_ADMIN}),
    ("Lexicon", "guardrails:lexicon", {Role.RETAILER_ADMIN}),
    ("Synonyms", "events:synonyms", {Role.RETAILER_ADMIN}),
    ("Audit", "audit:list", {Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR}),
    ("Security", "security", None),
]


def navigation(request):
    from django.urls import NoReverseMatch, reverse

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, roles in NAV:
        if roles is not None and getattr(user, "role", None) not in roles:
            continue
        try:
            items.append({"label": label, "url": reverse(name), "active": request.path.startswith(reverse(name))})
        except NoReverseMatch:
            continue
    # Only the most specific match is current ("/events/new/" is Record event, not also Events).
    current = max((i for i in items if i["active"]), key=lambda i: len(i["url"]), default=None)
    for i in items:
        i["active"] = i is current
        if i["url"] == reverse("sharing:disclosures"):  # requests waiting for this retailer to decide
            from sharing.selectors import pending_incoming_count

            i["badge"] = pending_incoming_count(user)
    return {"nav_items": items}
