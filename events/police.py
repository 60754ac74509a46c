"""Police callers state a purpose and a case reference for every list, search and detail request."""

from __future__ import annotations

from accounts.models import Role

REQUIRED = ("purpose", "case_reference")


def police_purpose(user, params) -> tuple[dict[str, str], str | None]:
    """(the stated purpose fields, or the name of the first missing one) for a police caller."""
    if getattr(user, "role", None) not in (Role.POLICE_OFFICER, Role.POLICE_ADMIN):
        return {}, None
    values = {k: (params.get(k) or "").strip() for k in REQUIRED}
    for k in REQUIRED:
        if not values[k]:
            return values, k
    return values, None
