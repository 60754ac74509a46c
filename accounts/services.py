"""Writes to tenants, stores and users. Every change goes through one of these services: keyword-only,
atomic, checked against the actor's tenant through the one access policy, and audited in the same
transaction with what the record was before and after.

`actor` is the signed-in user, or `System("provision")` for a management command an operator runs
at the shell (trusted, audited by its name). Update services take only the fields to change
(`UNSET` keeps the current value) and return `(object, changes)`, where `changes` maps each field
that changed to its before and after; an update that changes nothing writes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import (
    ROLES_BY_KIND,
    Organisation,
    OrgKind,
    PoliceSharing,
    Role,
    Store,
    User,
    validate_region_code,
)
from audit.services import audit_record
from auror import access

T = TypeVar("T")


class _Unset(enum.Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET
"""Default of every field of an update service: keep the current value."""

# Roles that manage users (each within what the access policy lets them manage).
MANAGING_ROLES = {Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR}


@dataclass(frozen=True)
class System:
    """The actor of a management command (provision, seed_demo): trusted, audited by its name."""

    name: str
    is_authenticated = False
    organisation_id = None
    pk = None

    @property
    def email(self) -> str:
        return f"system:{self.name}"


Actor = User | System


# --- helpers ------------------------------------------------------------------------------------


def _is_system(actor: Actor) -> bool:
    return isinstance(actor, System)


def _require(actor: Actor, action: str, obj, message: str = "You may not change that.") -> None:
    """The actor may `action` the object under the access policy (another tenant's: never)."""
    if _is_system(actor):
        return
    if not access.can(actor, action, obj):
        raise PermissionDenied(message)


def _require_role(actor: Actor, roles: set[str], message: str) -> None:
    if _is_system(actor):
        return
    if not getattr(actor, "is_authenticated", False) or actor.role not in roles or not actor.is_active:
        raise PermissionDenied(message)


def _audit(action: str, actor: Actor, organisation_id: int | None, obj, detail: dict[str, Any]) -> None:
    if _is_system(actor):
        audit_record(action=action, actor=None, actor_email=actor.email, organisation_id=organisation_id,
                     obj=obj, detail=detail)
    else:
        audit_record(action=action, actor=actor, organisation_id=organisation_id, obj=obj, detail=detail)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}


def _given(value: T | _Unset) -> bool:
    return value is not UNSET


def _clean(obj, exclude: Iterable[str] = ()) -> None:
    """Model validation; the messages are keyed by field name so forms and the provisioning file can
    name the field."""
    obj.full_clean(exclude=list(exclude), validate_constraints=False)


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


# --- organisations ------------------------------------------------------------------------------


def organisation_snapshot(org: Organisation) -> dict[str, Any]:
    snap = {"slug": org.slug, "name": org.name, "kind": org.kind, "is_active": org.is_active}
    if org.kind == OrgKind.RETAILER:
        snap.update(
            ctd_opt_in=org.ctd_opt_in,
            image_matching_opt_in=org.image_matching_opt_in,
            police_sharing_default=org.police_sharing_default,
            police_excluded_agencies=sorted(org.police_excluded_agencies.values_list("slug", flat=True))
            if org.pk else [],
        )
    if org.kind == OrgKind.LAW_ENFORCEMENT:
        snap["jurisdictions"] = list(org.jurisdictions)
    return snap


def _normalise_regions(codes: Iterable[str], field: str) -> list[str]:
    out: list[str] = []
    for raw in codes:
        code = (raw or "").strip().upper()
        try:
            validate_region_code(code)
        except ValidationError as e:
            raise ValidationError({field: f"{raw!r}: {e.messages[0]}"}) from None
        if code not in out:
            out.append(code)
    return out


def _check_agencies(agencies: Iterable[Organisation]) -> list[Organisation]:
    agencies = list(agencies)
    for a in agencies:
        if a.kind != OrgKind.LAW_ENFORCEMENT:
            raise ValidationError({"police_excluded_agencies": f"{a.name} ({a.slug}) is not a police agency."})
    return agencies


@transaction.atomic
def organisation_create(
    *,
    actor: Actor,
    slug: str,
    name: str,
    kind: str,
    ctd_opt_in: bool = False,
    image_matching_opt_in: bool = False,
    police_sharing_default: str = PoliceSharing.JURISDICTION,
    police_excluded_agencies: Iterable[Organisation] = (),
    jurisdictions: Iterable[str] = (),
) -> Organisation:
    """A new tenant (platform operators)."""
    _require_role(actor, {Role.PLATFORM_OPERATOR}, "Only platform operators create organisations.")
    slug = (slug or "").strip().lower()
    if Organisation.objects.unscoped().filter(slug=slug).exists():
        raise ValidationError({"slug": f"An organisation with the slug {slug!r} already exists."})
    org = Organisation(slug=slug, name=(name or "").strip(), kind=kind, ctd_opt_in=ctd_opt_in,
                       image_matching_opt_in=image_matching_opt_in, police_sharing_default=police_sharing_default)
    jurisdictions = list(jurisdictions)
    agencies = _check_agencies(police_excluded_agencies)
    if kind != OrgKind.LAW_ENFORCEMENT and jurisdictions:
        raise ValidationError({"jurisdictions": "Only police agencies have jurisdictions."})
    if kind != OrgKind.RETAILER and (agencies or ctd_opt_in or image_matching_opt_in):
        raise ValidationError({"kind": "Sharing settings and opt-ins are for retailers only."})
    org.jurisdictions = _normalise_regions(jurisdictions, "jurisdictions")
    _clean(org, exclude=["police_excluded_agencies"])
    org.save()
    if agencies:
        org.police_excluded_agencies.set(agencies)
    _audit("organisation.create", actor, org.pk, org, {"after": organisation_snapshot(org)})
    return org


def _locked_org(org: Organisation) -> Organisation:
    return Organisation.objects.unscoped().select_for_update().get(pk=org.pk)


@transaction.atomic
def organisation_update(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str | _Unset = UNSET,
    is_active: bool | _Unset = UNSET,
) -> tuple[Organisation, dict]:
    """A tenant's name and whether it is active (platform operators). A deactivated organisation's
    users and tokens stop working at once."""
    _require_role(actor, {Role.PLATFORM_OPERATOR}, "Only platform operators change a tenant.")
    org = _locked_org(organisation)
    before = organisation_snapshot(org)
    if _given(name):
        org.name = (name or "").strip()
    if _given(is_active):
        if not is_active and not _is_system(actor) and actor.organisation_id == org.pk:
            raise ValidationError({"is_active": "You cannot deactivate your own organisation."})
        org.is_active = is_active
    _clean(org, exclude=["police_excluded_agencies"])
    changes = _changes(before, organisation_snapshot(org))
    if changes:
        org.save(update_fields=["name", "is_active"])
        _audit("organisation.update", actor, org.pk, org, {"changes": changes})
    return org, changes


@transaction.atomic
def organisation_sharing_update(
    *,
    actor: Actor,
    organisation: Organisation,
    police_sharing_default: str | _Unset = UNSET,
    police_excluded_agencies: Iterable[Organisation] | _Unset = UNSET,
    ctd_opt_in: bool | _Unset = UNSET,
    image_matching_opt_in: bool | _Unset = UNSET,
) -> tuple[Organisation, dict]:
    """What police may see by default, which agencies never, and the matching opt-ins: the retailer's
    own decision, so its retailer admins make it (or the provisioning file at onboarding)."""
    _require_role(actor, {Role.RETAILER_ADMIN}, "Only the retailer's admins change its sharing settings.")
    _require(actor, access.MANAGE, organisation)
    org = _locked_org(organisation)
    if org.kind != OrgKind.RETAILER:
        raise ValidationError({"kind": "Sharing settings and opt-ins are for retailers only."})
    before = organisation_snapshot(org)
    if _given(police_sharing_default):
        org.police_sharing_default = police_sharing_default
    if _given(ctd_opt_in):
        org.ctd_opt_in = ctd_opt_in
    if _given(image_matching_opt_in):
        org.image_matching_opt_in = image_matching_opt_in
    _clean(org, exclude=["police_excluded_agencies"])
    after = organisation_snapshot(org)
    agencies = None
    if _given(police_excluded_agencies):
        agencies = _check_agencies(police_excluded_agencies)
        after["police_excluded_agencies"] = sorted(a.slug for a in agencies)
    changes = _changes(before, after)
    if changes:
        org.save(update_fields=["police_sharing_default", "ctd_opt_in", "image_matching_opt_in"])
        if agencies is not None:
            org.police_excluded_agencies.set(agencies)
        _audit("organisation.sharing_update", actor, org.pk, org, {"changes": changes})
    return org, changes


@transaction.atomic
def organisation_jurisdictions_update(
    *, actor: Actor, organisation: Organisation, jurisdictions: Iterable[str]
) -> tuple[Organisation, dict]:
    """The region codes a police agency's jurisdiction covers (its police admins)."""
    _require_role(actor, {Role.POLICE_ADMIN}, "Only the agency's police admins change its jurisdictions.")
    _require(actor, access.MANAGE, organisation)
    org = _locked_org(organisation)
    if org.kind != OrgKind.LAW_ENFORCEMENT:
        raise ValidationError({"jurisdictions": "Only police agencies have jurisdictions."})
    before = organisation_snapshot(org)
    org.jurisdictions = _normalise_regions(jurisdictions, "jurisdictions")
    changes = _changes(before, organisation_snapshot(org))
    if changes:
        org.save(update_fields=["jurisdictions"])
        _audit("organisation.jurisdictions_update", actor, org.pk, org, {"changes": changes})
    return org, changes


@transaction.atomic
def organisation_timezone_update(*, actor: Actor, organisation: Organisation, timezone: str) -> tuple[Organisation, dict]:
    """The zone the organisation's people read every time that is not an event's (auror.timezones):
    its retailer or police admins set it; audited like every setting."""
    _require_role(actor, {Role.RETAILER_ADMIN, Role.POLICE_ADMIN}, "Only the organisation's admins change its timezone.")
    _require(actor, access.MANAGE, organisation)
    org = _locked_org(organisation)
    before = org.timezone
    org.timezone = timezone
    try:
        org.full_clean(exclude=[f.name for f in Organisation._meta.fields if f.name != "timezone"])
    except ValidationError as exc:
        raise ValidationError({"timezone": exc.message_dict.get("timezone", ["Choose a time zone from the list."])}) from exc
    changes = _changes({"timezone": before}, {"timezone": timezone})
    if changes:
        org.save(update_fields=["timezone"])
        _audit("organisation.timezone_update", actor, org.pk, org, {"changes": changes})
        from auror import timezones

        timezones.forget(org.pk)
    return org, changes


# --- stores -------------------------------------------------------------------------------------

STORE_FIELDS = ("code", "name", "address", "region", "timezone", "latitude", "longitude", "is_active")


def store_snapshot(store: Store) -> dict[str, Any]:
    return {f: _jsonable(getattr(store, f)) for f in STORE_FIELDS}


def _require_store_manager(actor: Actor, organisation: Organisation) -> None:
    _require_role(actor, {Role.RETAILER_ADMIN, Role.PLATFORM_OPERATOR},
                  "Only the retailer's admins and platform operators manage stores.")
    _require(actor, access.MANAGE, organisation, "You may not manage that organisation's stores.")
    if organisation.kind != OrgKind.RETAILER:
        raise ValidationError({"organisation": f"{organisation.name} is not a retailer: only retailers have stores."})


@transaction.atomic
def store_create(
    *,
    actor: Actor,
    organisation: Organisation,
    code: str,
    name: str,
    region: str,
    timezone: str = "Pacific/Auckland",
    address: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Store:
    _require_store_manager(actor, organisation)
    code = (code or "").strip()
    if code and Store.objects.unscoped().filter(organisation=organisation, code=code).exists():
        raise ValidationError({"code": f"{organisation.name} already has a store with the code {code!r}."})
    store = Store(organisation=organisation, code=code, name=(name or "").strip(), region=(region or "").strip().upper(),
                  timezone=(timezone or "").strip(), address=(address or "").strip(), latitude=latitude,
                  longitude=longitude)
    _clean(store)
    store.save()
    _audit("store.create", actor, organisation.pk, store, {"after": store_snapshot(store)})
    return store


def _locked_store(store: Store) -> Store:
    return Store.objects.unscoped().select_related("organisation").select_for_update(of=("self",)).get(pk=store.pk)


@transaction.atomic
def store_update(
    *,
    actor: Actor,
    store: Store,
    name: str | _Unset = UNSET,
    address: str | _Unset = UNSET,
    region: str | _Unset = UNSET,
    timezone: str | _Unset = UNSET,
    latitude: Decimal | None | _Unset = UNSET,
    longitude: Decimal | None | _Unset = UNSET,
) -> tuple[Store, dict]:
    """A store's details. Its code is its identity in imports and provisioning files and stays."""
    _require_store_manager(actor, store.organisation)
    _require(actor, access.CHANGE, store)
    store = _locked_store(store)
    before = store_snapshot(store)
    if _given(name):
        store.name = (name or "").strip()
    if _given(address):
        store.address = (address or "").strip()
    if _given(region):
        store.region = (region or "").strip().upper()
    if _given(timezone):
        store.timezone = (timezone or "").strip()
    if _given(latitude):
        store.latitude = latitude
    if _given(longitude):
        store.longitude = longitude
    _clean(store)
    # Compare cleaned values (a Decimal given as 1.5 and stored as 1.500000 is the same place).
    store.latitude = None if store.latitude is None else Decimal(store.latitude).quantize(Decimal("0.000001"))
    store.longitude = None if store.longitude is None else Decimal(store.longitude).quantize(Decimal("0.000001"))
    changes = _changes(before, store_snapshot(store))
    if changes:
        store.save()
        _audit("store.update", actor, store.organisation_id, store, {"changes": changes})
    return store, changes


def _store_set_active(actor: Actor, store: Store, active: bool) -> tuple[Store, dict]:
    _require_store_manager(actor, store.organisation)
    _require(actor, access.CHANGE, store)
    store = _locked_store(store)
    before = store_snapshot(store)
    store.is_active = active
    changes = _changes(before, store_snapshot(store))
    if changes:
        store.save(update_fields=["is_active"])
        _audit("store.deactivate" if not active else "store.reactivate", actor, store.organisation_id, store,
               {"changes": changes})
    return store, changes


@transaction.atomic
def store_deactivate(*, actor: Actor, store: Store) -> tuple[Store, dict]:
    """A closed store: its events stay; it is no longer offered for store staff scope."""
    return _store_set_active(actor, store, False)


@transaction.atomic
def store_reactivate(*, actor: Actor, store: Store) -> tuple[Store, dict]:
    return _store_set_active(actor, store, True)


# --- users --------------------------------------------------------------------------------------


def user_snapshot(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "organisation": user.organisation.slug if user.organisation_id else None,
        "role": user.role,
        "stores": sorted(user.stores.values_list("code", flat=True)) if user.pk else [],
        "sensitive_access": user.sensitive_access,
        "sso_only": user.sso_only,
        "is_active": user.is_active,
    }


def _require_user_manager(actor: Actor, organisation: Organisation) -> None:
    """Retailer admins manage their retailer's users, police admins their agency's, platform
    operators any organisation's."""
    _require_role(actor, MANAGING_ROLES, "Only admins manage users.")
    _require(actor, access.MANAGE, organisation, "You may not manage that organisation's users.")


def _check_role(organisation: Organisation, role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role."})
    if role not in ROLES_BY_KIND[organisation.kind]:
        allowed = ", ".join(str(Role(r).label) for r in Role.values if r in ROLES_BY_KIND[organisation.kind])
        raise ValidationError({"role": f"A {organisation.get_kind_display()} user cannot be "
                                       f"{Role(role).label} (one of: {allowed})."})


def _check_stores(organisation: Organisation, role: str, stores: list[Store]) -> list[Store]:
    """Store scope: only for store staff, at least one store, every one the user's own retailer's."""
    for s in stores:
        if s.organisation_id != organisation.pk:
            # Never say whose store it is: the id may be another tenant's.
            raise ValidationError({"stores": f"Store {s.pk} is not one of {organisation.name}'s stores."})
    if role == Role.STORE_STAFF and not stores:
        raise ValidationError({"stores": "Store staff need at least one store."})
    if role != Role.STORE_STAFF:
        return []
    return stores


def _check_password(user: User, password: str | None, sso_only: bool) -> None:
    if password is None:
        return
    if sso_only:
        raise ValidationError({"password": "This user signs in through single sign-on only: give no password."})
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise ValidationError({"password": e.messages}) from None


def _new_user(
    *, actor: Actor, organisation: Organisation, email: str, role: str, first_name: str, last_name: str,
    stores: Iterable[Store], sensitive_access: bool, sso_only: bool, password: str | None,
) -> User:
    _require_user_manager(actor, organisation)
    email = (email or "").strip().lower()
    if email and User.objects.filter(email__iexact=email).exists():
        # The address may belong to another tenant's user: say only that it is taken.
        raise ValidationError({"email": f"{email} already has an account."})
    _check_role(organisation, role)
    user = User(email=email, username=email, organisation=organisation, role=role,
                first_name=(first_name or "").strip(), last_name=(last_name or "").strip(),
                sensitive_access=sensitive_access, sso_only=sso_only)
    stores = _check_stores(organisation, role, list(stores))
    _check_password(user, password, sso_only)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    _clean(user, exclude=["username"])
    user.save()
    user.stores.set(stores)
    return user


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    organisation: Organisation,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    stores: Iterable[Store] = (),
    sensitive_access: bool = False,
    sso_only: bool = False,
    password: str | None = None,
) -> User:
    """A user with the initial password the admin gives them (or none: SSO only, or set later)."""
    user = _new_user(actor=actor, organisation=organisation, email=email, role=role, first_name=first_name,
                     last_name=last_name, stores=stores, sensitive_access=sensitive_access, sso_only=sso_only,
                     password=password)
    after = user_snapshot(user)
    after["password"] = "set" if password else "none"
    _audit("user.create", actor, organisation.pk, user, {"after": after})
    return user


def invitation_url(user: User) -> str:
    """A one-use link to choose a password: it stops working once a password is set."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    path = reverse("accounts:invite_accept", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                                     "token": default_token_generator.make_token(user)})
    return settings.SITE_URL.rstrip("/") + path


def _send_invitation(user: User, url: str, inviter: Actor) -> None:
    from django.core.mail import send_mail
    from django.utils import timezone

    from auror.timezones import local_text

    org = user.organisation.name
    by = "" if _is_system(inviter) else f" by {inviter.get_full_name() or inviter.email}"
    # The token generator's links stop working after PASSWORD_RESET_TIMEOUT: said in the
    # organisation's own time (issue 10: one clock rule, in email too).
    until = local_text(timezone.now() + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT), user.organisation_id)
    send_mail(
        subject=f"You have been invited to Auror ({org})",
        message=(f"You have been invited{by} to use Auror for {org} as {user.get_role_display()}.\n\n"
                 f"Choose your password here (the link works once, until {until}):\n{url}\n"),
        from_email=None,
        recipient_list=[user.email],
        fail_silently=True,  # the admin also sees the link and can pass it on
    )


@transaction.atomic
def user_invite(
    *,
    actor: Actor,
    organisation: Organisation,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    stores: Iterable[Store] = (),
    sensitive_access: bool = False,
) -> tuple[User, str]:
    """A user who chooses their own password through a one-use link, emailed once the user is
    committed. Returns the user and the link (shown to the inviting admin too)."""
    user = _new_user(actor=actor, organisation=organisation, email=email, role=role, first_name=first_name,
                     last_name=last_name, stores=stores, sensitive_access=sensitive_access, sso_only=False,
                     password=None)
    url = invitation_url(user)
    _audit("user.invite", actor, organisation.pk, user, {"after": user_snapshot(user)})
    transaction.on_commit(lambda: _send_invitation(user, url, actor))
    return user, url


def user_for_invitation(*, uidb64: str, token: str) -> User | None:
    """The active user an invitation link is for, or None when the link is wrong, used or stale. The
    signed token is the proof: whoever holds the link may choose that user's first password."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_str
    from django.utils.http import urlsafe_base64_decode

    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    user = User.objects.get_queryset().unscoped().select_related("organisation").filter(pk=pk, is_active=True).first()
    if user is None or user.sso_only or user.organisation is None or not user.organisation.is_active:
        return None
    if not default_token_generator.check_token(user, token):
        return None
    return user


@transaction.atomic
def user_invitation_accept(*, user: User, password: str) -> User:
    """The invited user chooses their password (the link's token was checked by the caller)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    _check_password(user, password, user.sso_only)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(action="user.invite_accept", actor=user, organisation_id=user.organisation_id, obj=user)
    return user


def _locked_user(user: User) -> User:
    return User.objects.select_related("organisation").select_for_update(of=("self",)).get(pk=user.pk)


@transaction.atomic
def user_update(
    *,
    actor: Actor,
    user: User,
    first_name: str | _Unset = UNSET,
    last_name: str | _Unset = UNSET,
    role: str | _Unset = UNSET,
    stores: Iterable[Store] | _Unset = UNSET,
    sensitive_access: bool | _Unset = UNSET,
    sso_only: bool | _Unset = UNSET,
    password: str | _Unset = UNSET,
) -> tuple[User, dict]:
    """Change a user's name, role, store scope, sensitive-access grant or sign-in method. An admin
    cannot take away their own admin role (another admin must)."""
    _require_user_manager(actor, user.organisation)
    _require(actor, access.MANAGE, user, "You may not manage that user.")
    user = _locked_user(user)
    org = user.organisation
    before = user_snapshot(user)
    if _given(first_name):
        user.first_name = (first_name or "").strip()
    if _given(last_name):
        user.last_name = (last_name or "").strip()
    if _given(role):
        _check_role(org, role)
        if not _is_system(actor) and actor.pk == user.pk and user.role in MANAGING_ROLES and role != user.role:
            raise ValidationError({"role": "You cannot remove your own admin role: ask another admin."})
        user.role = role
    if _given(sensitive_access):
        user.sensitive_access = sensitive_access
    if _given(sso_only):
        user.sso_only = sso_only
    new_stores = list(stores) if _given(stores) else list(user.stores.all())
    new_stores = _check_stores(org, user.role, new_stores)
    password_changed = False
    if _given(password) and password is not None:
        _check_password(user, password, user.sso_only)
        if not user.check_password(password):
            user.set_password(password)
            password_changed = True
    _clean(user, exclude=["username"])
    after = user_snapshot(user)
    after["stores"] = sorted(s.code for s in new_stores)
    changes = _changes(before, after)
    if password_changed:
        changes["password"] = {"before": "…", "after": "changed"}
    if changes:
        user.save()
        if "stores" in changes:
            user.stores.set(new_stores)
        _audit("user.update", actor, org.pk, user, {"changes": changes})
    return user, changes


def _user_set_active(actor: Actor, user: User, active: bool) -> tuple[User, dict]:
    _require_user_manager(actor, user.organisation)
    _require(actor, access.MANAGE, user, "You may not manage that user.")
    if not active and not _is_system(actor) and actor.pk == user.pk:
        raise ValidationError({"is_active": "You cannot deactivate yourself: ask another admin."})
    user = _locked_user(user)
    before = user_snapshot(user)
    user.is_active = active
    changes = _changes(before, user_snapshot(user))
    if changes:
        user.save(update_fields=["is_active"])
        _audit("user.reactivate" if active else "user.deactivate", actor, user.organisation_id, user,
               {"changes": changes})
    return user, changes


@transaction.atomic
def user_deactivate(*, actor: Actor, user: User) -> tuple[User, dict]:
    """The user can no longer sign in; their sessions and API tokens stop working at once."""
    return _user_set_active(actor, user, False)


@transaction.atomic
def user_reactivate(*, actor: Actor, user: User) -> tuple[User, dict]:
    return _user_set_active(actor, user, True)


# --- tenants ------------------------------------------------------------------------------------

FIRST_ADMIN_ROLE = {
    OrgKind.RETAILER: Role.RETAILER_ADMIN,
    OrgKind.LAW_ENFORCEMENT: Role.POLICE_ADMIN,
    OrgKind.PLATFORM: Role.PLATFORM_OPERATOR,
}


@transaction.atomic
def tenant_create(
    *,
    actor: Actor,
    slug: str,
    name: str,
    kind: str,
    jurisdictions: Iterable[str] = (),
    admin_email: str,
    admin_first_name: str = "",
    admin_last_name: str = "",
    admin_password: str | None = None,
) -> tuple[Organisation, User, str | None]:
    """A new tenant with its first admin (platform operators): the organisation, then the admin,
    invited by email unless a first password is given. Errors about the admin are keyed `admin_*`.
    Returns the organisation, the admin and the invitation link (None when a password was set)."""
    org = organisation_create(actor=actor, slug=slug, name=name, kind=kind, jurisdictions=jurisdictions)
    fields = {"actor": actor, "organisation": org, "email": admin_email, "role": FIRST_ADMIN_ROLE[org.kind],
              "first_name": admin_first_name, "last_name": admin_last_name}
    try:
        if admin_password:
            return org, user_create(password=admin_password, **fields), None
        admin, url = user_invite(**fields)
        return org, admin, url
    except ValidationError as e:
        raise ValidationError({f"admin_{k}": v for k, v in e.message_dict.items()}) from None
