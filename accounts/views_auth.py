"""Sign-in (password, second factor, SSO), sign-out, the Security page and the home page.

The sign-in logic lives in services (accounts.backends, accounts.mfa, accounts.oidc); these views
validate the form, call one service and redirect.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import mfa
from accounts.backends import Refusal, is_locked, lock_message, password_check
from accounts.forms_auth import CodeForm, EnrolForm, LoginForm, SSOStartForm, TokenCreateForm
from accounts.models import ApiToken
from accounts.oidc import SSO_ORG_KEY, sso_provider_for
from accounts.tokens import token_create, token_revoke

PASSWORD_BACKEND = "accounts.backends.EmailBackend"

REFUSALS = {
    Refusal.BAD_CREDENTIALS: "Email or password is not right.",
    Refusal.DISABLED: "Email or password is not right.",
    Refusal.SSO_ONLY: "This account signs in through your organisation's single sign-on, not a password. "
                      "Use “Sign in with your organisation's SSO”.",
}


def _next_url(request, fallback: str = "") -> str:
    """The ?next= (or posted next) page, if it is on this site; else `fallback`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return fallback


def _with_next(name: str, next_url: str) -> str:
    return reverse(name) + (f"?{urlencode({'next': next_url})}" if next_url else "")


def _form_page(request, template: str, context: dict):
    """A page with a form: 400 when a submitted form came back with errors."""
    form = context.get("form")
    status = 400 if request.method == "POST" and form is not None and form.errors else 200
    return render(request, template, context, status=status)


# --- Sign-in --------------------------------------------------------------------------------------


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = _next_url(request)
    if request.method == "GET" and request.user.is_authenticated and not mfa.second_factor_pending(request):
        return redirect(next_url or "home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = password_check(email=form.cleaned_data["email"], password=form.cleaned_data["password"])
        if result.ok:
            if mfa.sign_in_start(request, result.user, backend=PASSWORD_BACKEND, method="password", next_url=next_url):
                return redirect(next_url or "home")
            return redirect(_with_next("mfa_verify", next_url))
        if result.refusal == Refusal.LOCKED:
            form.add_error(None, lock_message(result.locked_until))
        else:
            form.add_error(None, REFUSALS[result.refusal])
    return _form_page(request, "accounts/login.html", {"form": form, "next": next_url,
                                                       "expired": request.GET.get("expired") == "1"})


@never_cache
@require_http_methods(["GET", "POST"])
def sso_start(request):
    """Single sign-on, step one: which organisation's provider?"""
    next_url = _next_url(request)
    form = SSOStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        provider = sso_provider_for(form.cleaned_data["organisation"])
        if provider is not None:
            request.session[SSO_ORG_KEY] = provider.organisation_id
            return redirect(_with_next("oidc_authentication_init", next_url))
        form.add_error("organisation", f"No organisation with single sign-on matches “{form.cleaned_data['organisation']}”. "
                                       "Check the code with your administrator, or sign in with your password.")
    return _form_page(request, "accounts/sso.html", {"form": form, "next": next_url})


@require_POST
def logout_view(request):
    mfa.sign_out(request, reason="user")
    return redirect("login")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify_view(request):
    """Second factor: the code from the app (or a backup code)."""
    pending = mfa.pending_sign_in(request) or {}
    next_url = _next_url(request, pending.get("next", ""))
    if not mfa.second_factor_pending(request):
        return redirect(next_url or "home")
    if not mfa.mfa_enabled(request.user):
        return redirect(_with_next("mfa_enrol", next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified, user = mfa.mfa_verify(request, code=form.cleaned_data["code"])
        if verified:
            return redirect(next_url or "home")
        if is_locked(user):
            mfa.sign_out(request, reason="locked")
            messages.error(request, lock_message(user.locked_until))
            return redirect("login")
        form.add_error("code", "That code is not right. Use the newest code your app shows.")
    # No navigation on this page: nothing else can be reached until the code is in.
    return _form_page(request, "accounts/mfa_verify.html", {"form": form, "next": next_url, "nav_items": []})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_enrol(request):
    """Set up an authenticator app: QR code (drawn here) and the secret, confirmed by a code."""
    user = request.user
    pending = mfa.pending_sign_in(request) or {}
    next_url = _next_url(request, pending.get("next", ""))
    if mfa.mfa_enabled(user):
        if mfa.second_factor_pending(request):
            return redirect(_with_next("mfa_verify", next_url))  # never a second device to dodge the first
        messages.info(request, "Two-step sign-in is already on for your account.")
        return redirect("security")
    device = mfa.totp_enrolment_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = mfa.mfa_enable(request, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            return render(request, "accounts/mfa_backup_codes.html",
                          {"codes": codes, "next": next_url or reverse("home"), "first_time": True})
        form.add_error("code", "That code is not right. Check your phone sets its time automatically, "
                               "then type the newest code.")
    return _form_page(request, "accounts/mfa_enrol.html", {
        "form": form, "next": next_url, "qr_svg": mfa.totp_qr_svg(device), "secret": mfa.totp_secret(device),
        "pending": mfa.second_factor_pending(request), "required": user.mfa_required,
        **({"nav_items": []} if mfa.second_factor_pending(request) else {}),
    })


# --- Security page --------------------------------------------------------------------------------


def _personal_tokens(user):
    return (ApiToken.objects.visible_to(user, "view")
            .filter(user_id=user.pk, kind=ApiToken.Kind.PERSONAL)
            .order_by("revoked_at", "-created_at"))


def _security_page(request, *, status: int = 200, **context):
    user = request.user
    context.setdefault("token_form", TokenCreateForm())
    context.setdefault("disable_form", CodeForm(prefix="disable"))
    return render(request, "accounts/security.html", {
        "mfa_enabled": mfa.mfa_enabled(user),
        "backup_codes_left": mfa.backup_codes_left(user),
        "tokens": _personal_tokens(user),
        "can_have_tokens": bool(user.organisation_id),
        **context,
    }, status=status)


@never_cache
@login_required
@require_http_methods(["GET"])
def security(request):
    return _security_page(request)


@never_cache
@login_required
@require_POST
def mfa_disable(request):
    form = CodeForm(request.POST, prefix="disable")
    if form.is_valid():
        refusal = mfa.mfa_disable(user=request.user, code=form.cleaned_data["code"])
        if refusal is None:
            messages.success(request, "Two-step sign-in is off.")
            return redirect("security")
        form.add_error("code", refusal)
    return _security_page(request, status=400, disable_form=form)


@never_cache
@login_required
@require_POST
def mfa_backup_codes(request):
    if not mfa.mfa_enabled(request.user):
        messages.error(request, "Turn on two-step sign-in first.")
        return redirect("security")
    codes = mfa.backup_codes_regenerate(user=request.user)
    return render(request, "accounts/mfa_backup_codes.html", {"codes": codes, "next": reverse("security")})


@never_cache
@login_required
@require_POST
def security_token_create(request):
    form = TokenCreateForm(request.POST)
    if not request.user.organisation_id:
        form.add_error(None, "Only members of an organisation can have API tokens.")
    if form.is_valid():
        token, raw = token_create(organisation=request.user.organisation, name=form.cleaned_data["name"],
                                  user=request.user, actor=request.user)
        # Shown in this response only: the secret is not stored, so it cannot be shown again.
        return _security_page(request, status=201, new_token=token, new_token_raw=raw)
    return _security_page(request, status=400, token_form=form)


@login_required
@require_POST
def security_token_revoke(request, pk: int):
    token = get_object_or_404(
        ApiToken.objects.visible_to(request.user, "change").filter(user_id=request.user.pk, kind=ApiToken.Kind.PERSONAL),
        pk=pk,
    )
    token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” is revoked: it no longer works.")
    return redirect("security")


# --- Home -----------------------------------------------------------------------------------------


@require_GET
@login_required
def home(request):
    from accounts.selectors_home import home_panels

    return render(request, "accounts/home.html", {"panels": home_panels(request.user)})


urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", login_view, name="login"),
    path("accounts/sso/", sso_start, name="sso_start"),
    path("accounts/logout/", logout_view, name="logout"),
    # Reachable while a sign-in still owes its second factor (accounts.middleware):
    path("accounts/mfa/verify/", mfa_verify_view, name="mfa_verify"),
    path("accounts/mfa/enrol/", mfa_enrol, name="mfa_enrol"),
    # Only once fully signed in:
    path("accounts/security/", security, name="security"),
    path("accounts/security/mfa/disable/", mfa_disable, name="mfa_disable"),
    path("accounts/security/mfa/backup-codes/", mfa_backup_codes, name="mfa_backup_codes"),
    path("accounts/security/tokens/", security_token_create, name="security_token_create"),
    path("accounts/security/tokens/<int:pk>/revoke/", security_token_revoke, name="security_token_revoke"),
]
