"""What each role's home page shows (issue 10, "Home pages"): the work waiting for them, read
through the one access policy like every other page.

- Store staff: their stores' recent events and their unfinished drafts.
- Investigators: the review queue by store, new profiles, the profiles that cause most harm.
- Retailer admins: that, and users yet to accept their invitation, sharing at a glance and the
  audit's recent highlights.
- Police: their recent searches, with the purpose they gave (their requests, once the police portal
  has them)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Role

RECENT = 8
# Audit actions an admin wants to see first: refusals, exports, sharing and settings changes.
HIGHLIGHTS = ("permission.denied", "event.export", "events.export", "suggestion.export", "disclosure.",
              "sharing.", "match_settings.update", "user.create", "user.update", "token.")


def home_panels(user) -> dict:
    role = user.role
    panels: dict = {"role": role}
    if role in (Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN):
        from events.models import EventDraft
        from events.selectors import events_visible

        panels["recent_events"] = list(events_visible(user=user).select_related("store")[:RECENT])
        panels["drafts"] = list(EventDraft.objects.visible_to(user).filter(user=user, event__isnull=True)[:RECENT])
    if role in (Role.INVESTIGATOR, Role.RETAILER_ADMIN):
        from matching.selectors_review import review_queue
        from profiles.models import Profile

        # The cards the queue shows (a pair of people across retailers is one card), by store.
        queue = (review_queue(user=user).order_by()
                 .values("person__event__store__code", "person__event__store__name")
                 .annotate(n=Count("id")).order_by("-n", "person__event__store__code"))
        panels["queue"] = [{"code": r["person__event__store__code"], "name": r["person__event__store__name"],
                            "n": r["n"]} for r in queue]
        panels["queue_total"] = sum(r["n"] for r in panels["queue"])
        profiles = Profile.objects.visible_to(user).filter(status=Profile.Status.ACTIVE)
        panels["new_profiles"] = list(profiles.filter(created_at__gte=timezone.now() - dt.timedelta(days=7))
                                      .order_by("-created_at")[:RECENT])
        panels["top_profiles"] = list(profiles.order_by("-harm_score", "-id")[:5])
    if role == Role.RETAILER_ADMIN:
        from accounts.models import User
        from audit.models import AuditEntry

        panels["pending_users"] = list(User.objects.visible_to(user).filter(
            organisation_id=user.organisation_id, is_active=True, last_login__isnull=True).order_by("email")[:RECENT])
        org = user.organisation
        panels["sharing"] = {"police": org.get_police_sharing_default_display(), "ctd": org.ctd_opt_in}
        audit = AuditEntry.objects.visible_to(user).filter(organisation_id=user.organisation_id)
        highlights = Q()
        for prefix in HIGHLIGHTS:
            highlights |= Q(action__startswith=prefix)
        panels["highlights"] = list(audit.filter(highlights).order_by("-at", "-id")[:RECENT])
    if role == Role.PLATFORM_OPERATOR:
        from accounts.models import Organisation, OrgKind
        from auror.health import status as health_status

        panels["health"] = health_status()
        last = panels["health"]["worker_last_job"]
        panels["last_job"] = dt.datetime.fromisoformat(last) if last else None
        panels["tenants"] = list(Organisation.objects.visible_to(user).exclude(kind=OrgKind.PLATFORM)
                                 .annotate(members=Count("users", filter=Q(users__is_active=True)))
                                 .order_by("kind", "name")[:RECENT * 2])
    if role in (Role.POLICE_OFFICER, Role.POLICE_ADMIN):
        from audit.models import AuditEntry

        panels["searches"] = list(AuditEntry.objects.visible_to(user).filter(
            actor_id=user.pk, action="event.search").order_by("-at", "-id")[:RECENT])
    return panels
