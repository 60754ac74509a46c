"""Single sign-on through each organisation's own OpenID Connect provider (mozilla-django-oidc).

mozilla-django-oidc reads one provider from settings; here every organisation has its own
(accounts.OIDCProvider). The flow:

1. The sign-in page asks for the organisation (its code, or a work email address), resolves it to
   an enabled provider (`sso_provider_for`) and keeps the organisation's id in the session.
2. `OrganisationOIDCRequestView` fills the provider's endpoints from its discovery document when
   they are blank, sends the browser to that provider, and binds the organisation to the `state`
   of this one flow (in the session's `oidc_states`), so a callback is only ever checked against
   the provider that the flow started with.
3. `OrganisationOIDCCallbackView` looks the provider up again from the state and hands it to
   `OrganisationOIDCBackend`, which exchanges the code, checks the ID token's signature (RS256,
   from the provider's JWKS), issuer, audience, expiry and nonce, and matches the email from the
   provider WITHIN THAT ORGANISATION ONLY. Users are never created: an email the organisation
   does not have, or one belonging to another organisation, is refused.

MFA: an SSO sign-in counts as MFA-verified only when the provider is marked `mfa_at_idp` (an
admin's statement that the IdP enforces MFA for everyone; off by default). Otherwise accounts that
need a second factor are sent to Auror's own code page, exactly as after a password.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.backends import is_locked
from accounts.mfa import sign_in_start
from accounts.models import OIDCProvider, User

log = logging.getLogger(__name__)

SSO_ORG_KEY = "auror_sso_org"
BACKEND_PATH = "accounts.oidc.OrganisationOIDCBackend"
ENDPOINT_FIELDS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
GENERIC_FAILURE = "Single sign-on did not sign you in. Try again, or ask your administrator."


class SSOUnavailable(Exception):
    """The provider cannot be used right now (unreachable, or its discovery document is wrong)."""


# --- Finding the provider (before anyone is signed in, so not scoped by the access policy) -------


def _enabled_providers():
    return (
        OIDCProvider.objects.unscoped()  # pre-authentication lookup by organisation code
        .filter(enabled=True, organisation__is_active=True)
        .select_related("organisation")
    )


def sso_provider_for(identifier: str) -> OIDCProvider | None:
    """The enabled provider of the organisation named by its code (slug) or by a work email
    address / email domain of its users. None when nothing, or more than one, matches."""
    ident = (identifier or "").strip().lower()
    if not ident:
        return None
    domain = ident.rsplit("@", 1)[1] if "@" in ident else (ident if "." in ident else None)
    providers = _enabled_providers()
    if domain is None:
        return providers.filter(organisation__slug=ident).first()
    org_ids = list(
        User.objects.filter(email__iendswith="@" + domain, organisation__oidc__enabled=True)
        .order_by()
        .values_list("organisation_id", flat=True)
        .distinct()[:2]
    )
    if len(org_ids) != 1:
        return None  # unknown, or a shared domain (gmail.com): the organisation code is needed
    return providers.filter(organisation_id=org_ids[0]).first()


def provider_for_organisation(organisation_id: int | None) -> OIDCProvider | None:
    if not organisation_id:
        return None
    return _enabled_providers().filter(organisation_id=organisation_id).first()


def provider_endpoints_fill(provider: OIDCProvider) -> OIDCProvider:
    """Fill blank endpoints from the issuer's /.well-known/openid-configuration and keep them.
    (A cache of the provider's own published configuration, not a change anyone made: no audit.)"""
    missing = [f for f in ENDPOINT_FIELDS if not getattr(provider, f)]
    if not missing:
        return provider
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("OIDC discovery failed for %s: %s", provider.issuer, exc)
        raise SSOUnavailable(f"the provider's configuration at {url} could not be read") from exc
    if str(document.get("issuer", "")).rstrip("/") != provider.issuer.rstrip("/"):
        raise SSOUnavailable(f"the provider says its issuer is {document.get('issuer')!r}, not {provider.issuer!r}")
    for field in missing:
        value = document.get(field)
        if not value:
            raise SSOUnavailable(f"the provider's configuration has no {field}")
        setattr(provider, field, value)
    provider.save(update_fields=missing)
    return provider


# --- The backend ----------------------------------------------------------------------------------


class OrganisationOIDCBackend(OIDCAuthenticationBackend):
    """Matches users by email within the organisation whose provider signed them in, only.

    Acts only for a request that `OrganisationOIDCCallbackView` marked with its provider; for any
    other authenticate() call (a password sign-in) it answers None straight away."""

    def __init__(self, *args, **kwargs):  # provider settings are per organisation, set per request
        self.UserModel = get_user_model()
        self.provider: OIDCProvider | None = None
        self.request = None

    def _configure(self, provider: OIDCProvider) -> None:
        self.provider = provider
        self.OIDC_OP_TOKEN_ENDPOINT = provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = provider.jwks_uri
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = provider.client_secret
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        provider = getattr(request, "auror_sso_provider", None) if request is not None else None
        if provider is None or "password" in kwargs:
            return None
        self._configure(provider)
        try:
            return super().authenticate(request, **kwargs)
        except (requests.RequestException, SuspiciousOperation, jwt.PyJWTError, ValueError, KeyError) as exc:
            log.warning("SSO for %s failed: %s", provider.organisation.slug, exc)
            self._refuse("provider_error", error=str(exc)[:200])
            return None

    def _verify_jws(self, payload, key):
        """As the library, plus what it leaves out: the token must be for this client (aud), from
        this organisation's issuer (iss), unexpired, and signed with the expected algorithm."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}, expected {self.OIDC_RP_SIGN_ALGO}")
        issuer = self.provider.issuer.rstrip("/")
        try:
            return jwt.decode(
                payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO], audience=self.OIDC_RP_CLIENT_ID,
                issuer=[issuer, issuer + "/"], options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from exc

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        email = (claims.get("email") or "").strip().lower()
        if claims.get("sub") and claims.get("sub") != payload.get("sub"):
            return self._refuse("subject_mismatch", email=email)
        if not email or claims.get("email_verified") is False:
            return self._refuse("no_verified_email", email=email)
        organisation = self.provider.organisation
        user = User.objects.filter(organisation=organisation, email__iexact=email).first()
        if user is None:
            # Never created, never looked for elsewhere: another organisation's user with this
            # email is not this provider's to vouch for.
            elsewhere = User.objects.filter(email__iexact=email).exclude(organisation=organisation).exists()
            return self._refuse("not_in_organisation" if elsewhere else "unknown_user", email=email,
                                message="Your organisation's sign-in worked, but there is no Auror account "
                                        f"for {email} in {organisation.name}. Ask your administrator.")
        if not user.is_active or not organisation.is_active:
            return self._refuse("disabled", email=email, user=user)
        if is_locked(user):
            from accounts.backends import lock_message

            return self._refuse("locked", email=email, user=user, message=lock_message(user.locked_until))
        return user

    def _refuse(self, reason: str, *, email: str = "", user: User | None = None, message: str = "", **detail):
        from audit.services import audit_record

        provider = self.provider
        audit_record(
            action="login.failure", organisation_id=provider.organisation_id, obj=user, actor_email=email,
            detail={"method": "sso", "reason": reason, "issuer": provider.issuer, **detail},
        )
        if self.request is not None:
            self.request.auror_sso_error = message or GENERIC_FAILURE
        return None

    def get_user(self, user_id):
        return ModelBackend.get_user(self, user_id)  # refuses inactive users, unlike the library's


# --- The views ------------------------------------------------------------------------------------


class OrganisationOIDCRequestView(OIDCAuthenticationRequestView):
    """Starts the flow for the organisation chosen on the SSO page (its id in the session)."""

    def __init__(self, *args, **kwargs):
        View.__init__(self, *args, **kwargs)  # the library reads one provider from settings here

    def get(self, request):
        provider = provider_for_organisation(request.session.get(SSO_ORG_KEY))
        if provider is None:
            messages.error(request, "Choose your organisation to sign in with single sign-on.")
            return redirect("sso_start")
        try:
            provider_endpoints_fill(provider)
        except SSOUnavailable as exc:
            messages.error(request, f"{provider.organisation.name}'s single sign-on is not available right now ({exc}).")
            return redirect("sso_start")
        self.OIDC_OP_AUTH_ENDPOINT = provider.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = provider.client_id
        response = super().get(request)
        state = parse_qs(urlsplit(response.url).query)["state"][0]
        request.session["oidc_states"][state]["org_id"] = provider.organisation_id
        request.session.pop(SSO_ORG_KEY, None)
        request.session.modified = True
        return response


class OrganisationOIDCCallbackView(OIDCAuthenticationCallbackView):
    """Checks the provider's answer against the provider this flow started with."""

    def get(self, request):
        state = request.GET.get("state")
        entry = (request.session.get("oidc_states") or {}).get(state) if state else None
        request.auror_sso_provider = provider_for_organisation(entry.get("org_id")) if entry else None
        return super().get(request)

    def login_failure(self):
        messages.error(self.request, getattr(self.request, "auror_sso_error", GENERIC_FAILURE))
        return redirect("login")

    def login_success(self):
        provider = self.request.auror_sso_provider
        next_url = self.success_url
        complete = sign_in_start(
            self.request, self.user, backend=BACKEND_PATH, method="sso", next_url=next_url,
            mfa_at_idp=provider.mfa_at_idp, detail={"issuer": provider.issuer},
        )
        if complete:
            return redirect(next_url)
        return redirect(f"{reverse('mfa_verify')}?{urlencode({'next': next_url})}")
