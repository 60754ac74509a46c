"""Idle timeout and MFA enforcement for browser sessions."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

EXEMPT_PREFIXES = ("/static/", "/healthz", "/api/", "/oidc/", "/accounts/login", "/accounts/logout", "/accounts/mfa/")


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            limit = settings.IDLE_TIMEOUT_PRIVILEGED if user.is_privileged else settings.IDLE_TIMEOUT_DEFAULT
            now = int(time.time())
            last = request.session.get("last_activity")
            if last is not None and now - int(last) > limit:
                logout(request)
                return redirect(f"{reverse('login')}?expired=1")
            request.session["last_activity"] = now
        return self.get_response(request)


class MFARequiredMiddleware:
    """Users whose role requires MFA reach nothing but MFA set-up and verification until verified."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and user.mfa_required
            and not user.is_verified()
            and not request.session.get("sso_verified")
        ):
            return redirect("mfa_verify")
        return self.get_response(request)
