"""Writes to an organisation's single sign-on provider (accounts.OIDCProvider), for its own admins.

Same rules as accounts.services: keyword-only, atomic, checked against the actor's tenant through the
one access policy, audited in the same transaction with the fields' before and after. The client
secret is write-only: it is never returned to a page, and the audit row says only that it was set
or replaced, never its value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import OIDCProvider, Organisation, Role
from accounts.services import (
    UNSET,
    Actor,
    _audit,
    _changes,
    _clean,
    _given,
    _is_system,
    _locked_org,
    _require,
    _require_role,
    _Unset,
)
from auror import access

SSO_ADMIN_ROLES = {Role.RETAILER_ADMIN, Role.POLICE_ADMIN}
URL_FIELDS = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
ENDPOINT_FIELDS = URL_FIELDS[1:]
FIELDS = ("issuer", "client_id", *ENDPOINT_FIELDS, "enabled", "mfa_at_idp")
SECRET_SET = "[set, not shown]"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
NOT_ALLOWED = "Only your organisation's admins change its single sign-on."


def oidc_provider_snapshot(provider: OIDCProvider) -> dict[str, Any]:
    """The provider's settings as the audit log and the page show them: the secret only as set or not."""
    snap = {f: getattr(provider, f) for f in FIELDS}
    snap["client_secret"] = SECRET_SET if provider.client_secret else ""
    return snap


def _check_urls(provider: OIDCProvider) -> None:
    """HTTPS, as OpenID Connect requires (plain HTTP only for a provider on this machine, in development)."""
    errors = {}
    for name in URL_FIELDS:
        value = getattr(provider, name)
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
            errors[name] = "Use an https:// address (OpenID Connect providers are reached over HTTPS only)."
    if errors:
        raise ValidationError(errors)


def _apply(provider: OIDCProvider, values: dict[str, Any], client_secret: str | _Unset) -> bool:
    """Set the given fields; True when the secret was replaced. When the issuer changes, endpoints
    still as they were (read from the old issuer's discovery document, most likely) would send people
    to the old provider: they are cleared, to be read again from the new issuer."""
    old = {name: getattr(provider, name) for name in URL_FIELDS}
    for name, value in values.items():
        if _given(value):
            setattr(provider, name, value.strip() if isinstance(value, str) else value)
    if provider.pk and provider.issuer != old["issuer"]:
        for name in ENDPOINT_FIELDS:
            if getattr(provider, name) == old[name]:
                setattr(provider, name, "")
    if _given(client_secret) and client_secret:
        replaced = client_secret != provider.client_secret
        provider.client_secret = client_secret
        return replaced
    return False


@transaction.atomic
def oidc_provider_create(
    *,
    actor: Actor,
    organisation: Organisation,
    issuer: str,
    client_id: str,
    client_secret: str,
    authorization_endpoint: str = "",
    token_endpoint: str = "",
    userinfo_endpoint: str = "",
    jwks_uri: str = "",
    enabled: bool = True,
    mfa_at_idp: bool = False,
) -> tuple[OIDCProvider, dict]:
    """Set up single sign-on for `organisation` (one provider per organisation). Blank endpoints are
    read from the issuer's discovery document at the first sign-in (accounts.oidc)."""
    _require_role(actor, SSO_ADMIN_ROLES, NOT_ALLOWED)
    _require(actor, access.MANAGE, organisation, NOT_ALLOWED)
    org = _locked_org(organisation)  # one provider per organisation: two admins saving at once queue here
    if OIDCProvider.objects.unscoped().filter(organisation=org).exists():
        raise ValidationError({"issuer": f"{org.name} already has a single sign-on provider: change that one."})
    if not client_secret:
        raise ValidationError({"client_secret": "Give the client secret the provider issued for Auror."})
    provider = OIDCProvider(organisation=org)
    _apply(provider, {"issuer": issuer, "client_id": client_id, "authorization_endpoint": authorization_endpoint,
                      "token_endpoint": token_endpoint, "userinfo_endpoint": userinfo_endpoint, "jwks_uri": jwks_uri,
                      "enabled": enabled, "mfa_at_idp": mfa_at_idp}, client_secret)
    _clean(provider)
    _check_urls(provider)
    provider.save()
    changes = _changes({}, oidc_provider_snapshot(provider))
    changes["client_secret"] = {"before": "", "after": SECRET_SET}
    _audit("sso.provider_create", actor, org.pk, provider, {"changes": changes})
    return provider, changes


@transaction.atomic
def oidc_provider_update(
    *,
    actor: Actor,
    provider: OIDCProvider,
    issuer: str | _Unset = UNSET,
    client_id: str | _Unset = UNSET,
    client_secret: str | _Unset = UNSET,
    authorization_endpoint: str | _Unset = UNSET,
    token_endpoint: str | _Unset = UNSET,
    userinfo_endpoint: str | _Unset = UNSET,
    jwks_uri: str | _Unset = UNSET,
    enabled: bool | _Unset = UNSET,
    mfa_at_idp: bool | _Unset = UNSET,
) -> tuple[OIDCProvider, dict]:
    """Change the provider's settings. A blank or omitted `client_secret` keeps the stored one. When
    the issuer changes, endpoints not changed with it are cleared, to be read from the new issuer."""
    _require_role(actor, SSO_ADMIN_ROLES, NOT_ALLOWED)
    scope = OIDCProvider.objects.unscoped() if _is_system(actor) else OIDCProvider.objects.visible_to(
        actor, access.MANAGE)
    provider = scope.select_for_update().filter(pk=provider.pk).first()
    if provider is None:
        raise PermissionDenied(NOT_ALLOWED)
    before = oidc_provider_snapshot(provider)
    replaced = _apply(provider, {"issuer": issuer, "client_id": client_id,
                                 "authorization_endpoint": authorization_endpoint, "token_endpoint": token_endpoint,
                                 "userinfo_endpoint": userinfo_endpoint, "jwks_uri": jwks_uri, "enabled": enabled,
                                 "mfa_at_idp": mfa_at_idp}, client_secret)
    _clean(provider)
    _check_urls(provider)
    changes = _changes(before, oidc_provider_snapshot(provider))
    changes.pop("client_secret", None)
    if replaced:
        changes["client_secret"] = {"before": before["client_secret"], "after": SECRET_SET + " (replaced)"}
    if changes:
        provider.save(update_fields=[*FIELDS, "client_secret"])
        _audit("sso.provider_update", actor, provider.organisation_id, provider, {"changes": changes})
    return provider, changes
