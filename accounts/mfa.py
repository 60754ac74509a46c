"""Second factor (TOTP through django-otp, with one-time backup codes) and the sign-in state
machine shared by password and SSO sign-ins.

A sign-in has two states in the session:

* pending: the first factor passed (password, or SSO from a provider not trusted for MFA) and the
  account needs a second one, because its role requires MFA or because its owner turned MFA on.
  `accounts.middleware.MFARequiredMiddleware` lets such a session reach only the code, enrolment
  and sign-out pages.
* complete: every factor passed. Only then is `login.success` written and the failure count reset.
"""

from __future__ import annotations

import time
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.contrib.auth import login
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.backends import is_locked, sign_in_failure_record, sign_in_failures_reset
from accounts.models import User

PENDING_KEY = "auror_mfa_pending"  # {"method": "password" | "sso", "next": url}
IDP_MFA_KEY = "auror_mfa_at_idp"  # the SSO provider is trusted to have done MFA
LAST_ACTIVITY_KEY = "auror_last_activity"  # unix seconds, for the idle timeout

TOTP_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10


# --- State ----------------------------------------------------------------------------------------


def totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def mfa_enabled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def needs_second_factor(user: User) -> bool:
    return user.mfa_required or mfa_enabled(user)


def second_factor_pending(request) -> bool:
    """Whether this signed-in session still owes a second factor (the middleware's question)."""
    user = request.user
    if not user.is_authenticated:
        return False
    if getattr(user, "is_verified", None) and user.is_verified():
        return False
    if request.session.get(IDP_MFA_KEY):
        return False
    # Roles that require MFA owe it whatever the session says (a session made any other way
    # cannot skip it); other accounts owe it when the sign-in found MFA turned on.
    return bool(user.mfa_required or request.session.get(PENDING_KEY))


def pending_sign_in(request) -> dict | None:
    return request.session.get(PENDING_KEY)


# --- Sign-in --------------------------------------------------------------------------------------


def sign_in_start(request, user: User, *, backend: str, method: str, next_url: str = "",
                  mfa_at_idp: bool = False, detail: dict | None = None) -> bool:
    """After the first factor: open the session. Returns True when the sign-in is complete, False
    when a second factor is still owed (the caller then sends the person to the code page)."""
    login(request, user, backend=backend)
    request.session[LAST_ACTIVITY_KEY] = int(time.time())
    if mfa_at_idp:
        request.session[IDP_MFA_KEY] = True
        sign_in_complete(request, user, method=method, factor="idp", detail=detail)
        return True
    if needs_second_factor(user):
        request.session[PENDING_KEY] = {"method": method, "next": next_url, "detail": detail or {}}
        return False
    sign_in_complete(request, user, method=method, factor="none", detail=detail)
    return True


@transaction.atomic
def sign_in_complete(request, user: User, *, method: str, factor: str, detail: dict | None = None) -> None:
    from audit.services import audit_record

    sign_in_failures_reset(user)
    request.session.pop(PENDING_KEY, None)
    audit_record(action="login.success", actor=user, obj=user,
                 detail={"method": method, "mfa": factor, **(detail or {})})


def sign_out(request, *, reason: str, **detail) -> None:
    """End the session, with its audit row (reason: "user", "idle_timeout", "locked")."""
    from django.contrib.auth import logout

    from audit.services import audit_record

    user = request.user
    if user.is_authenticated:
        audit_record(action="logout", actor=user, obj=user, detail={"reason": reason, **detail})
    logout(request)


# --- Codes ----------------------------------------------------------------------------------------


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def _matching_device(user: User, code: str):
    code = _clean(code)
    if code.isdigit() and len(code) == 6:
        for device in TOTPDevice.objects.filter(user=user, confirmed=True).select_for_update():
            if device.verify_token(code):
                return device, "totp"
    elif len(code) == 8:
        for device in StaticDevice.objects.filter(user=user, confirmed=True).select_for_update():
            if device.verify_token(code):
                return device, "backup_code"
    return None, None


@transaction.atomic
def mfa_verify(request, *, code: str) -> tuple[bool, User]:
    """The second factor of a pending sign-in. A wrong code counts towards the lockout like a
    wrong password. Returns (verified, user as now stored)."""
    user = User.objects.select_for_update().get(pk=request.user.pk)
    if is_locked(user):
        return False, user
    device, factor = _matching_device(user, code)
    if device is None:
        user = sign_in_failure_record(user=user, action="mfa.failure", reason="wrong_code",
                                      detail={"stage": "sign_in"})
        return False, user
    otp_login(request, device)
    pending = pending_sign_in(request) or {}
    sign_in_complete(request, user, method=pending.get("method", "session"), factor=factor,
                     detail=pending.get("detail"))
    return True, user


# --- Enrolment, backup codes, disabling -------------------------------------------------------------


def totp_enrolment_device(user: User) -> TOTPDevice:
    """The unconfirmed device whose secret the enrolment page shows; the same one on a reload, so
    a person who scanned the code and refreshed the page still has the right secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=TOTP_NAME).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def totp_secret(device: TOTPDevice) -> str:
    """The base32 secret for typing into an app, in groups of four."""
    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, drawn on the server (nothing leaves the site)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _backup_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def mfa_enable(request, *, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the enrolment `device` with a code from the app. Returns the new backup codes (shown
    once), or None when the code was wrong. Completes a pending sign-in."""
    from audit.services import audit_record

    user = request.user
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    code = _clean(code)
    if not (code.isdigit() and len(code) == 6 and device.verify_token(code)):
        audit_record(action="mfa.failure", actor=user, obj=user, detail={"stage": "enrolment"})
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = _backup_codes_replace(user)
    audit_record(action="mfa.enable", actor=user, obj=user, detail={"device": "totp", "backup_codes": len(codes)})
    otp_login(request, device)
    pending = pending_sign_in(request)
    if pending is not None:
        sign_in_complete(request, user, method=pending.get("method", "password"), factor="totp",
                         detail=pending.get("detail"))
    return codes


@transaction.atomic
def backup_codes_regenerate(*, user: User) -> list[str]:
    from audit.services import audit_record

    codes = _backup_codes_replace(user)
    audit_record(action="mfa.backup_codes", actor=user, obj=user, detail={"backup_codes": len(codes)})
    return codes


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def mfa_disable(*, user: User, code: str) -> str | None:
    """Turn MFA off, proven by a current code. Roles that require MFA cannot. Returns the reason
    it was refused (for the form), or None when MFA is now off. Refusals are returned, not raised,
    so the failure count and audit row written on the way commit."""
    from audit.services import audit_record

    if user.mfa_required:
        return f"MFA is required for the {user.get_role_display()} role and cannot be turned off."
    user = User.objects.select_for_update().get(pk=user.pk)
    if is_locked(user):
        return "Too many wrong codes: this account is locked for now. Try again later."
    device, _ = _matching_device(user, code)
    if device is None:
        # Counted like a sign-in failure: a borrowed session must not be able to guess its way
        # to switching MFA off.
        sign_in_failure_record(user=user, action="mfa.failure", reason="wrong_code", detail={"stage": "disable"})
        return "That code is not right. Enter the current code from your app or a backup code."
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(action="mfa.disable", actor=user, obj=user)
    return None
