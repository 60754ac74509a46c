"""Reads of the sharing pages: agreements and disclosure requests as each side may see them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from accounts.models import Role
from auror import rls
from events.models import Event
from matching.cross import HELD_MESSAGE, agreed_features, side_of
from sharing.models import Agreement, DisclosureRequest

INVESTIGATING = {Role.INVESTIGATOR, Role.RETAILER_ADMIN}


def pending_incoming_count(user) -> int:
    """Requests waiting for this user's organisation to decide (the navigation badge)."""
    if getattr(user, "role", None) not in INVESTIGATING:
        return 0
    return DisclosureRequest.objects.visible_to(user).waiting_for(user.organisation_id).count()


def agreements_for(user) -> dict[str, list[Agreement]]:
    rows = list(Agreement.objects.visible_to(user).select_related("retailer", "partner", "proposed_by", "accepted_by",
                                                                  "revoked_by"))
    out: dict[str, list[Agreement]] = {"waiting_for_us": [], "waiting_for_them": [], "active": [], "ended": []}
    for a in rows:
        a.other = a.other_side(user.organisation_id)
        if a.status == "active":
            out["active"].append(a)
        elif a.status == "revoked":
            out["ended"].append(a)
        elif a.partner_id == user.organisation_id:
            out["waiting_for_us"].append(a)
        else:
            out["waiting_for_them"].append(a)
    return out


def _event_side(person, event, visible: bool) -> dict[str, Any] | None:
    return side_of(person, organisation=event.organisation.name) if visible else None


def dangerously_read_both_sides(ids: list[int], *, order_by=()) -> list[DisclosureRequest]:
    """These requests (ids the access policy let the user read) with both organisations' rows they
    join, the holder's event and person and the requester's suggestion, read across tenants on
    purpose (auror.rls). disclosure_rows shows each side only as the policy allows."""
    with rls.system():
        base = DisclosureRequest.objects.unscoped().filter(pk__in=ids)
        return list((base.order_by(*order_by) if order_by else base)
                    .select_related("requesting_organisation", "holding_organisation", "requested_by", "decided_by",
                                    "event__store", "event__organisation", "person",
                                    "suggestion__person__event__store", "suggestion__person__event__organisation"))


def disclosure_rows(user, qs) -> list[dict[str, Any]]:
    """Requests as this user may read them. To the holder: who asks and why, their own event, which
    features agreed. To the requester: their own event, the status and the decision's reason; the
    holder and the event only once the access policy lets them see it."""
    ids = list(qs.values_list("pk", flat=True))  # the requests the access policy lets the user read
    rows = dangerously_read_both_sides(ids, order_by=qs.query.order_by)
    event_ids = {r.event_id for r in rows} | {r.suggestion.person.event_id for r in rows}
    visible = set(Event.objects.visible_to(user).filter(pk__in=event_ids).values_list("pk", flat=True))
    out = []
    for r in rows:
        holder_view = r.holding_organisation_id == user.organisation_id
        requester_event = r.suggestion.person.event
        if holder_view:
            mine = _event_side(r.person, r.event, r.event_id in visible)
            theirs = None  # the requester's event: only through the policy, like any other event
            if requester_event.pk in visible:
                theirs = _event_side(r.suggestion.person, requester_event, True)
            counterpart = r.requesting_organisation.name
        else:
            mine = _event_side(r.suggestion.person, requester_event, requester_event.pk in visible)
            theirs = _event_side(r.person, r.event, r.event_id in visible)
            counterpart = theirs["organisation"] if theirs else None
        out.append({
            "id": r.pk, "url": reverse("sharing:disclosure", args=[r.pk]),
            "incoming": holder_view, "status": r.status, "state": r.state_label, "is_pending": r.status == r.Status.PENDING,
            "counterpart": counterpart, "counterpart_label": counterpart or "Another participant",
            "requested_by": r.requested_by.email if holder_view else "", "reason": r.reason,
            "requested_at": r.created_at, "decided_at": r.decided_at, "expires_at": r.expires_at,
            "decided_by": r.decided_by.email if (holder_view and r.decided_by_id) else "",
            "decision_reason": r.decision_reason, "mine": mine, "theirs": theirs,
            "held_message": HELD_MESSAGE if theirs is None else "",
            "features": agreed_features(r.suggestion.reasons, with_detail=False),
            "suggestion_url": reverse("sharing:cross_match", args=[r.suggestion_id]) if not holder_view else "",
        })
    return out


def disclosures_for(user) -> dict[str, list[dict[str, Any]]]:
    qs = DisclosureRequest.objects.visible_to(user)
    incoming = disclosure_rows(user, qs.filter(holding_organisation_id=user.organisation_id)[:200])
    outgoing = disclosure_rows(user, qs.filter(requesting_organisation_id=user.organisation_id)[:200])
    incoming.sort(key=lambda r: (not r["is_pending"],))
    return {"incoming": incoming, "outgoing": outgoing}
