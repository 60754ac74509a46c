"""Request context for services that record who did what from where (the audit log)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("auror_request", default=None)


@dataclass
class RequestContext:
    ip: str | None
    user_agent: str
    # Set by token authentication: every audit row of this request carries the token's id, and a
    # request that wrote no audit row of its own gets a "token.use" row at the end (audit.services).
    token: object | None = None
    committed_audit_rows: int = 0


def current_request_context() -> RequestContext | None:
    return _current.get()


def client_ip(request) -> str | None:
    # Behind the load balancer the app sees X-Forwarded-For; only trust it when configured to.
    from django.conf import settings

    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ctx = RequestContext(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])
        reset = _current.set(ctx)
        try:
            response = self.get_response(request)
            if ctx.token is not None and ctx.committed_audit_rows == 0:
                from audit.services import audit_token_use

                audit_token_use(ctx.token, request=request, status=response.status_code)
            return response
        finally:
            _current.reset(reset)
