"""API tokens: hashed at rest (SHA-256 of a 256-bit random secret), revocable, last use recorded,
every use audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiToken, Organisation, User
from auror import rls

TOKEN_PREFIX = "aur_"
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, organisation: Organisation, name: str, user: User | None = None, actor=None,
                 actor_email: str = "", detail: dict | None = None) -> tuple[ApiToken, str]:
    """Create a token and return it with the raw secret, which is shown once and never stored.
    Without a user as `actor` (manage.py create_token), `actor_email` names who made it in the audit
    row and `detail` says how."""
    from audit.services import audit_record

    if user is not None and user.organisation_id != organisation.pk:
        raise ValueError("a personal token belongs to the user's own organisation")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organisation=organisation,
        user=user,
        kind=ApiToken.Kind.PERSONAL if user else ApiToken.Kind.SERVICE,
        name=name,
        prefix=raw[:12],
        token_hash=hash_token(raw),
    )
    audit_record(action="token.create", actor=actor, actor_email=actor_email, organisation_id=organisation.pk,
                 obj=token, detail={**(detail or {}), "kind": token.kind, "for_user": user.email if user else None})
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor) -> None:
    from audit.services import audit_record

    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="token.revoke", actor=actor, organisation_id=token.organisation_id, obj=token)


class ServicePrincipal:
    """The request.user of a service token: belongs to an organisation, has no role of a person."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    sensitive_access = False
    role = "service"
    email = ""

    def __init__(self, token: ApiToken):
        self.token = token
        self.pk = None
        self.id = None
        self.organisation = token.organisation
        self.organisation_id = token.organisation_id
        self.email = f"service:{token.name}"

    def __str__(self) -> str:
        return self.email


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        raw = header[1].decode(errors="replace")
        # token_hash is unique: no ordering needed. A personal token's user belongs to the token's
        # organisation (token_create), so that one row serves both.
        # Before the token is found nobody is signed in: the lookup reads across tenants on purpose.
        with rls.system():
            token = next(iter(
                ApiToken.objects.unscoped().select_related("user", "organisation")
                .filter(token_hash=hash_token(raw)).order_by()[:1]
            ), None)
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.user_id and token.user.organisation_id == token.organisation_id:
            token.user.organisation = token.organisation
        principal = token.user if token.user_id else ServicePrincipal(token)
        if not principal.is_active or not token.organisation.is_active:
            raise exceptions.AuthenticationFailed("This token's user or organisation is disabled.")
        rls.enter_user(principal)  # the request's scope, now that its organisation is known
        self._record_use(token, principal, request)
        return principal, token

    def _record_use(self, token: ApiToken, principal, request) -> None:
        """Mark the request as made with this token: its audit rows carry the token id, and if it
        writes none, a "token.use" row is written when it ends (auror.middleware). Last use is
        recorded at most once a minute, so a busy integration doesn't write on every call."""
        from auror.middleware import current_request_context

        ctx = current_request_context()
        if ctx is not None:
            ctx.token = token
        else:  # outside a request (a test calling the authenticator directly)
            from audit.services import audit_token_use

            audit_token_use(token, request=request, status=0)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.unscoped().filter(pk=token.pk).update(last_used_at=now)

    def authenticate_header(self, request):
        return self.keyword
