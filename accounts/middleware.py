"""Idle timeout and MFA enforcement for browser sessions.

Both run after django-otp's OTPMiddleware (settings.MIDDLEWARE), so `request.user.is_verified()`
is known. API requests authenticated by a bearer token carry no session and pass through both.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.mfa import LAST_ACTIVITY_KEY, second_factor_pending, sign_out

# What a session that still owes its second factor may reach: the code and enrolment pages,
# signing out (or in as someone else), and the assets those pages need.
PENDING_ALLOWED_PREFIXES = ("/static/", "/healthz", "/accounts/login/", "/accounts/logout/", "/accounts/mfa/")
# Last activity is written at most this often, so a busy page doesn't save the session on every
# request. A session may therefore time out up to this much early, never late.
ACTIVITY_RESOLUTION_SECONDS = 30


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _signed_in_by_session(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and hasattr(request, "session"))


def idle_limit(user) -> int:
    return settings.IDLE_TIMEOUT_PRIVILEGED if user.is_privileged else settings.IDLE_TIMEOUT_DEFAULT


class IdleTimeoutMiddleware:
    """Signs out a session idle for longer than its role's limit (30 minutes for police and admins)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _signed_in_by_session(request):
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - int(last) > idle_limit(request.user):
                return self._expire(request, idle_seconds=now - int(last))
            if last is None or now - int(last) >= ACTIVITY_RESOLUTION_SECONDS:
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)

    def _expire(self, request, *, idle_seconds: int):
        sign_out(request, reason="idle_timeout", idle_seconds=idle_seconds, limit=idle_limit(request.user))
        if _is_api(request):
            # Carry on as anonymous: the API answers 401/403 as for any unauthenticated call.
            return self.get_response(request)
        query = {"expired": "1"}
        if request.method == "GET":
            query["next"] = request.get_full_path()
        return redirect(f"{reverse('login')}?{urlencode(query)}")


class MFARequiredMiddleware:
    """A session that owes its second factor reaches nothing but the code, enrolment and sign-out
    pages: roles that require MFA always owe it until verified; other accounts owe it when their
    owner turned MFA on (accounts.mfa.second_factor_pending)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            _signed_in_by_session(request)
            and not request.path.startswith(PENDING_ALLOWED_PREFIXES)
            and second_factor_pending(request)
        ):
            if _is_api(request):
                if request.META.get("HTTP_AUTHORIZATION"):
                    return self.get_response(request)  # a token call: the session plays no part
                return JsonResponse(
                    {"type": "about:blank", "title": "Second factor required", "status": 403,
                     "detail": "Finish signing in with your authentication code first."},
                    status=403, content_type="application/problem+json",
                )
            target = reverse("mfa_verify")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)
