"""Email + password sign-in, and the account lockout that wrong passwords and wrong codes share.

Sign-in is looked up before anyone is authenticated, so the queries here are deliberately not
scoped by the access policy: they find the one account an email names, and nothing else leaves
this module but that account (or nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.utils import timezone

from accounts.models import SignInThrottle, User


class Refusal:
    """Why a sign-in was refused; the messages are what the person sees."""

    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    SSO_ONLY = "sso_only"
    DISABLED = "disabled"


@dataclass(frozen=True)
class PasswordCheck:
    user: User | None
    refusal: str | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def lock_message(locked_until: datetime | None) -> str:
    minutes = 1
    if locked_until is not None:
        minutes = max(1, math.ceil((locked_until - timezone.now()).total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "This account is locked after too many failed sign-in attempts. "
        f"Try again in {minutes} {unit}, or ask your administrator to unlock it."
    )


def is_locked(user: User, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return user.locked_until is not None and user.locked_until > now


def _expire_lock(holder: User | SignInThrottle, now: datetime, count: str = "failed_login_count") -> None:
    """A lock that has run out starts the count afresh."""
    if holder.locked_until is not None and holder.locked_until <= now:
        holder.locked_until = None
        setattr(holder, count, 0)


@transaction.atomic
def sign_in_failure_record(*, user: User, action: str, reason: str, detail: dict | None = None) -> User:
    """Count one failed attempt (a wrong password or a wrong code) against `user`, lock the account
    when the count reaches LOCKOUT_THRESHOLD, and write the audit row (`action`) with it."""
    from audit.services import audit_record

    now = timezone.now()
    user = User.objects.select_for_update().get(pk=user.pk)
    _expire_lock(user, now)
    user.failed_login_count += 1
    if user.failed_login_count >= settings.LOCKOUT_THRESHOLD:
        user.locked_until = now + settings.LOCKOUT_DURATION
    user.save(update_fields=["failed_login_count", "locked_until"])
    audit_record(
        action=action, organisation_id=user.organisation_id, obj=user, actor_email=user.email,
        detail={"reason": reason, "failed_count": user.failed_login_count,
                "locked_until": user.locked_until, **(detail or {})},
    )
    return user


def sign_in_failures_reset(user: User) -> None:
    """After a complete sign-in (every factor passed). Call inside the sign-in's transaction."""
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
        user.failed_login_count, user.locked_until = 0, None


@transaction.atomic
def unknown_email_failure_record(*, email: str, now: datetime) -> SignInThrottle:
    """Count one failed attempt against an email that names no active password account, exactly as
    sign_in_failure_record counts one against an account: the same threshold, the same lock, a lock
    that has run out starting the count afresh. So the page answers an unknown email as it would a
    real one, "locked" included. (A row per email tried; each attempt writes an audit row anyway.)"""
    SignInThrottle.objects.bulk_create([SignInThrottle(email=email)], ignore_conflicts=True)
    throttle = SignInThrottle.objects.select_for_update().get(email=email)
    _expire_lock(throttle, now, count="failed_count")
    throttle.failed_count += 1
    throttle.last_failure_at = now
    if throttle.failed_count >= settings.LOCKOUT_THRESHOLD:
        throttle.locked_until = now + settings.LOCKOUT_DURATION
    throttle.save(update_fields=["failed_count", "locked_until", "last_failure_at"])
    return throttle


def _unknown_email_refusal(email: str, password: str, now: datetime, *, user: User | None = None,
                           reason: str = Refusal.BAD_CREDENTIALS) -> PasswordCheck:
    """No account to check the password against (none, or a disabled one): the same answers, in the
    same order, as for an account. A locked email is refused before any password work, as a locked
    account is; otherwise the password is hashed, as an account's would be checked."""
    throttle = SignInThrottle.objects.filter(email=email).first()
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        return _refuse(email, user, Refusal.LOCKED, locked_until=throttle.locked_until, known_account=user is not None)
    if user is None:
        User().set_password(password)  # same work as the found-user path, so timing says nothing
    else:
        user.check_password(password)
    counted = unknown_email_failure_record(email=email, now=now)
    refusal = Refusal.LOCKED if counted.locked_until is not None and counted.locked_until > now else reason
    _refuse(email, user, refusal, failed_count=counted.failed_count, known_account=user is not None,
            **({"why": reason} if refusal != reason else {}))
    return PasswordCheck(user=None, refusal=refusal, locked_until=counted.locked_until)


def _refuse(email: str, user: User | None, refusal: str, locked_until: datetime | None = None,
            **detail) -> PasswordCheck:
    from audit.services import audit_record

    audit_record(
        action="login.failure", organisation_id=user.organisation_id if user else None, obj=user,
        actor_email=email, detail={"method": "password", "reason": refusal, **detail},
    )
    return PasswordCheck(user=None, refusal=refusal, locked_until=locked_until or (user.locked_until if user else None))


@transaction.atomic
def password_check(*, email: str, password: str) -> PasswordCheck:
    """The first factor. A right password for an account that needs a second factor does not
    reset the failure count: only a complete sign-in does, so a stolen password cannot buy
    unlimited guesses at the code."""
    email = (email or "").strip().lower()
    now = timezone.now()
    user = User.objects.select_for_update(of=("self",)).select_related("organisation").filter(email=email).first()
    if user is None:
        return _unknown_email_refusal(email, password, now)
    if is_locked(user, now):
        return _refuse(email, user, Refusal.LOCKED)
    if not user.is_active or (user.organisation_id and not user.organisation.is_active):
        # "Email or password is not right" and, counted per email, "locked" after as many tries:
        # a disabled account answers as an unknown email does, and so as an active one does.
        return _unknown_email_refusal(email, password, now, user=user, reason=Refusal.DISABLED)
    if user.sso_only:
        return _refuse(email, user, Refusal.SSO_ONLY)
    if not user.check_password(password):
        counted = sign_in_failure_record(user=user, action="login.failure", reason=Refusal.BAD_CREDENTIALS,
                                         detail={"method": "password"})
        refusal = Refusal.LOCKED if is_locked(counted, now) else Refusal.BAD_CREDENTIALS
        return PasswordCheck(user=None, refusal=refusal, locked_until=counted.locked_until)
    if user.locked_until is not None:  # an expired lock: clear it now the password was right
        _expire_lock(user, now)
        user.save(update_fields=["failed_login_count", "locked_until"])
    return PasswordCheck(user=user)


class EmailBackend(ModelBackend):
    """Django's authenticate() for email + password, with the same lockout as the login page."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = email or username
        if not email or password is None:
            return None  # not a password sign-in (the SSO callback, say)
        result = password_check(email=email, password=password)
        return result.user if result.ok and self.user_can_authenticate(result.user) else None
