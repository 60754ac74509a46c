"""One clock rule (issue 10, "Times disagree between pages"): an event's time is shown in its
store's timezone; every other time in the viewer's organisation's timezone; both with the zone
named ("14:05 NZDT").

`ViewerTimezoneMiddleware` activates the viewer's organisation's zone for the request, so every
`|date` of an aware datetime prints in it; templates print an event's time through
`|timezone:<store>.timezone` first. The zone is also on <body data-timezone>, for the browser's
own formatters (static/js), so a time the page writes later reads the same as the server's."""

from __future__ import annotations

import time
import zoneinfo

from django.utils import timezone

DEFAULT = "Pacific/Auckland"
_CACHE: dict[int, tuple[float, str]] = {}
TTL = 60.0  # seconds an organisation's zone is remembered in this process


def organisation_timezone(organisation_id: int | None) -> str:
    if organisation_id is None:
        return DEFAULT
    seen = _CACHE.get(organisation_id)
    if seen is not None and time.monotonic() - seen[0] < TTL:
        return seen[1]
    from accounts.models import Organisation

    name = (Organisation.objects.unscoped().filter(pk=organisation_id).values_list("timezone", flat=True).first()
            or DEFAULT)
    _CACHE[organisation_id] = (time.monotonic(), name)
    return name


def local_text(when, organisation_id: int | None, fmt: str = "j M Y, H:i T") -> str:
    """A time as text outside a page (an email, a file), in the organisation's zone, zone named."""
    from django.utils.dateformat import format as date_format

    return date_format(timezone.localtime(when, zoneinfo.ZoneInfo(organisation_timezone(organisation_id))), fmt)


def forget(organisation_id: int | None = None) -> None:
    """Drop what this process remembers of an organisation's zone (all of them without an id):
    called when the zone is changed, so the next page already reads the new one."""
    if organisation_id is None:
        _CACHE.clear()
    else:
        _CACHE.pop(organisation_id, None)


class ViewerTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        org_id = getattr(user, "organisation_id", None) if user is not None and user.is_authenticated else None
        name = organisation_timezone(org_id)
        request.viewer_timezone = name
        timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
