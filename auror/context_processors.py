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
    return {"nav_items": items, "nav_menu": _grouped(items)}


# The settings, grouped so a retailer admin's menu fits one line (issue 10): a group with one item
# for this user is just that link.
GROUPS = {
    "Users": "Organisation", "Stores": "Organisation", "Organisation": "Organisation", "Catalogue": "Organisation",
    "Disclosures": "Sharing", "Sharing": "Sharing",
    "Lexicon": "Matching", "Synonyms": "Matching",
}


def _grouped(items: list[dict]) -> list[dict]:
    menu, groups = [], {}
    for item in items:
        name = GROUPS.get(item["label"])
        if name is None:
            menu.append(item)
            continue
        if name not in groups:
            groups[name] = {"group": True, "label": name, "items": []}
            menu.append(groups[name])
        groups[name]["items"].append(item)
    out = []
    for entry in menu:
        if entry.get("group") and len(entry["items"]) == 1:
            out.append(entry["items"][0])
        elif entry.get("group"):
            entry["active"] = any(i["active"] for i in entry["items"])
            entry["badge"] = sum(i.get("badge") or 0 for i in entry["items"])
            out.append(entry)
        else:
            out.append(entry)
    return out


def viewer_timezone(request):
    """The zone the page's times are in (auror.timezones), for <body data-timezone>."""
    return {"viewer_timezone": getattr(request, "viewer_timezone", "Pacific/Auckland")}
