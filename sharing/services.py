"""Writes of retailer-to-retailer sharing: agreements and disclosure requests.

Keyword-only, atomic, checked against the actor's tenant through the one access policy, and audited
in the same transaction. Both retailers are concerned by each of these changes, so each writes one
row in the audit chain of each of them (the actor's own first).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organisation, OrgKind, Role, User, validate_region_code
from audit.services import audit_record
from auror import access, rls
from events.models import Event, EventPerson
from matching.models import Suggestion
from sharing.models import Agreement, DisclosureRequest

MAX_REGIONS = 30
MAX_DISCLOSURE_DAYS = 365
INVESTIGATING = {Role.INVESTIGATOR, Role.RETAILER_ADMIN}


def _require_role(actor: User, roles: set[str], message: str) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active or actor.role not in roles:
        raise PermissionDenied(message)


def _audit_both(action: str, *, actor: User, obj, details: dict[int, dict[str, Any]]) -> None:
    """One row in each organisation's chain; `details` maps organisation id to what that side may read."""
    for organisation_id, detail in details.items():
        audit_record(action=action, actor=actor, organisation_id=organisation_id, obj=obj, detail=detail)


def _lock_orgs(*ids: int) -> None:
    """Serialise changes about the same two retailers (in id order, so two never wait on each other)."""
    list(Organisation.objects.unscoped().select_for_update().filter(pk__in=sorted(ids)).order_by("pk")
         .values_list("pk", flat=True))


# --- Agreements ------------------------------------------------------------------------------------


def agreement_partner_choices(*, actor: User):
    """The retailers an admin may propose an agreement to: every other active retailer. A directory of
    names only: no tenant content."""
    return (Organisation.objects.unscoped().filter(kind=OrgKind.RETAILER, is_active=True)
            .exclude(pk=actor.organisation_id).order_by("name"))


def regions_clean(regions: Iterable[str]) -> list[str]:
    """Region codes, upper-cased, checked, without repeats; ValidationError naming `regions`."""
    out: list[str] = []
    for raw in regions:
        code = (raw or "").strip().upper()
        if not code:
            continue
        try:
            validate_region_code(code)
        except ValidationError as e:
            raise ValidationError({"regions": f"{code!r}: {e.messages[0]}"}) from e
        if code not in out:
            out.append(code)
    if len(out) > MAX_REGIONS:
        raise ValidationError({"regions": f"At most {MAX_REGIONS} regions."})
    return sorted(out)


@transaction.atomic
def agreement_propose(*, actor: User, partner: Organisation, regions: Iterable[str] = ()) -> Agreement:
    """A retailer admin proposes to another retailer that each sees the other's non-sensitive events
    (in these regions, or everywhere when none are given). Nothing is shared until the other accepts."""
    _require_role(actor, {Role.RETAILER_ADMIN}, "Only a retailer's admins propose sharing agreements.")
    own = actor.organisation
    if own is None or own.kind != OrgKind.RETAILER:
        raise PermissionDenied("Only retailers make sharing agreements.")
    if partner is None or not agreement_partner_choices(actor=actor).filter(pk=partner.pk).exists():
        raise ValidationError({"partner": "Choose another retailer."})
    codes = regions_clean(regions)
    _lock_orgs(own.pk, partner.pk)
    current = Agreement.objects.open().between(own.pk, partner.pk).first()
    if current is not None:
        raise ValidationError({"partner": f"There is already a {current.status} agreement with {partner.name}."})
    agreement = Agreement.objects.create(retailer=own, partner=partner, regions=codes, proposed_by=actor)
    detail = {"retailer": own.slug, "partner": partner.slug, "regions": codes}
    _audit_both("agreement.propose", actor=actor, obj=agreement, details={own.pk: detail, partner.pk: detail})
    return agreement


def _locked_agreement(actor: User, agreement: Agreement) -> Agreement:
    _require_role(actor, {Role.RETAILER_ADMIN}, "Only a retailer's admins change sharing agreements.")
    if not access.can(actor, access.CHANGE, agreement):
        raise PermissionDenied("You may not change that agreement.")
    return Agreement.objects.unscoped().select_for_update().get(pk=agreement.pk)


@transaction.atomic
def agreement_accept(*, actor: User, agreement: Agreement) -> Agreement:
    """An admin of the retailer it was proposed to accepts: from now on it is in force."""
    a = _locked_agreement(actor, agreement)
    if a.partner_id != actor.organisation_id:
        raise ValidationError({"agreement": f"It waits for {a.partner.name} to accept it."})
    if a.status != "proposed":
        raise ValidationError({"agreement": f"This agreement is {a.status}; only a proposed one can be accepted."})
    a.accepted_at, a.accepted_by = timezone.now(), actor
    a.save(update_fields=["accepted_at", "accepted_by"])
    detail = {"retailer": a.retailer.slug, "partner": a.partner.slug, "regions": list(a.regions)}
    _audit_both("agreement.accept", actor=actor, obj=a, details={a.partner_id: detail, a.retailer_id: detail})
    return a


@transaction.atomic
def agreement_revoke(*, actor: User, agreement: Agreement) -> Agreement:
    """Either retailer's admin ends it (or withdraws or turns down a proposal): sharing stops at once."""
    a = _locked_agreement(actor, agreement)
    if a.status == "revoked":
        raise ValidationError({"agreement": "This agreement has already ended."})
    was = a.status
    a.revoked_at, a.revoked_by = timezone.now(), actor
    a.save(update_fields=["revoked_at", "revoked_by"])
    detail = {"retailer": a.retailer.slug, "partner": a.partner.slug, "was": was}
    mine, theirs = actor.organisation_id, (a.partner_id if a.retailer_id == actor.organisation_id else a.retailer_id)
    _audit_both("agreement.revoke", actor=actor, obj=a, details={mine: detail, theirs: detail})
    return a


# --- Disclosure requests --------------------------------------------------------------------------


def _clean_reason(reason: str, field: str = "reason", *, required: bool = True, organisation=None) -> str:
    """A short free-text reason, read by the other retailer: guarded like every free-text field
    (no sensitive characteristics, DESIGN.md rule 4)."""
    from guardrails.checker import check_text

    text = " ".join((reason or "").split())
    if required and not text:
        raise ValidationError({field: "Say why, in a few words."})
    if len(text) > 500:
        raise ValidationError({field: f"At most 500 characters (this is {len(text)})."})
    findings = check_text(text, organisation=organisation)
    if findings:
        raise ValidationError({field: [f.message for f in findings]})
    return text


@transaction.atomic
def disclosure_request_create(*, actor: User, suggestion: Suggestion, reason: str) -> DisclosureRequest:
    """An investigator asks the retailer holding the other side of a cross-retailer suggestion to show
    them that one event. The holder learns who asks and why; the requester learns nothing more until
    the holder approves."""
    _require_role(actor, INVESTIGATING, "Only investigators and retailer admins request disclosure.")
    s = (Suggestion.objects.visible_to(actor).filter(pk=suggestion.pk, other_organisation__isnull=False)
         .select_related("organisation", "other_organisation").first())
    if s is None:
        raise PermissionDenied("No such cross-retailer suggestion.")
    text = _clean_reason(reason, organisation=s.organisation)
    if s.status == Suggestion.Status.SUPERSEDED:
        raise ValidationError({"suggestion": "This suggestion is out of date: the matcher no longer proposes it."})
    if not (s.organisation.ctd_opt_in and s.other_organisation.ctd_opt_in and s.other_organisation.is_active):
        raise ValidationError({"suggestion": "Connect the Dots is no longer on for both retailers."})
    # The other retailer's event and person, to address the request to them: read across tenants
    # on purpose (auror.rls); nothing of them reaches the requester until the holder approves.
    with rls.system():
        other = EventPerson.objects.select_related("event").get(pk=s.target_person_id)
    event = other.event
    if Event.objects.visible_to(actor).filter(pk=event.pk).exists():
        raise ValidationError({"suggestion": "You can already see the other event."})
    mine = DisclosureRequest.objects.filter(requesting_organisation_id=actor.organisation_id, event=event)
    if mine.filter(status=DisclosureRequest.Status.PENDING).exists():
        raise ValidationError({"suggestion": "A request for this event is already waiting for a decision."})
    if mine.filter(pk__in=DisclosureRequest.objects.granted_to(actor.organisation_id)).exists():
        raise ValidationError({"suggestion": "This event is already disclosed to your organisation "
                                             "(it is sensitive: colleagues with sensitive access can see it)."})
    try:
        with transaction.atomic():
            dr = DisclosureRequest.objects.create(
                suggestion=s, requesting_organisation_id=actor.organisation_id,
                holding_organisation_id=s.other_organisation_id, event=event, person_id=s.target_person_id,
                requested_by=actor, reason=text)
    except IntegrityError as e:  # two requests at once: the first one counts
        raise ValidationError({"suggestion": "A request for this event is already waiting for a decision."}) from e
    _audit_both("disclosure.request", actor=actor, obj=dr, details={
        actor.organisation_id: {"suggestion": s.pk, "reason": text},
        s.other_organisation_id: {"event": event.pk, "event_ref": str(event), "person": other.ref,
                                  "requesting_organisation": s.organisation.slug, "reason": text},
    })
    return dr


def _locked_request(actor: User, request: DisclosureRequest) -> DisclosureRequest:
    _require_role(actor, INVESTIGATING, "Only investigators and retailer admins decide disclosure requests.")
    if not access.can(actor, access.CHANGE, request):
        raise PermissionDenied("Only the retailer holding the event decides this request.")
    dr = DisclosureRequest.objects.unscoped().select_for_update().select_related("event").get(pk=request.pk)
    if dr.status != DisclosureRequest.Status.PENDING:
        raise ValidationError({"decision": f"This request was already {dr.get_status_display().lower()}."})
    return dr


def _decision_details(dr: DisclosureRequest, detail: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {dr.holding_organisation_id: {**detail, "event": dr.event_id, "event_ref": str(dr.event)},
            dr.requesting_organisation_id: {**detail, "suggestion": dr.suggestion_id}}


@transaction.atomic
def disclosure_approve(*, actor: User, request: DisclosureRequest, reason: str = "",
                       days: int | None = None) -> DisclosureRequest:
    """The holder's investigator discloses the one event to the requesting retailer, for `days` days
    (DISCLOSURE_EXPIRY_DAYS unless chosen). From then the access policy lets its investigators and
    admins see that event, and only that one."""
    dr = _locked_request(actor, request)
    text = _clean_reason(reason, required=False, organisation=actor.organisation)
    days = settings.DISCLOSURE_EXPIRY_DAYS if days is None else days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DISCLOSURE_DAYS:
        raise ValidationError({"days": f"A whole number of days from 1 to {MAX_DISCLOSURE_DAYS}."})
    if not access.can(actor, access.VIEW, dr.event):
        raise ValidationError({"decision": "You may not see this event (it is sensitive), so you cannot disclose it. "
                                           "A colleague with sensitive access can."})
    now = timezone.now()
    dr.status, dr.decided_by, dr.decided_at, dr.decision_reason = DisclosureRequest.Status.APPROVED, actor, now, text
    dr.expires_at = now + timedelta(days=days)
    dr.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "expires_at"])
    _audit_both("disclosure.approve", actor=actor, obj=dr, details=_decision_details(
        dr, {"reason": text, "days": days, "expires_at": dr.expires_at}))
    return dr


@transaction.atomic
def disclosure_decline(*, actor: User, request: DisclosureRequest, reason: str) -> DisclosureRequest:
    """The holder's investigator declines, saying why (the requester reads the reason, not who)."""
    dr = _locked_request(actor, request)
    text = _clean_reason(reason, organisation=actor.organisation)
    dr.status, dr.decided_by, dr.decided_at, dr.decision_reason = (
        DisclosureRequest.Status.DECLINED, actor, timezone.now(), text)
    dr.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    _audit_both("disclosure.decline", actor=actor, obj=dr, details=_decision_details(dr, {"reason": text}))
    return dr
