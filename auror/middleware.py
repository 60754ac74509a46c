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


NUL = "\x00"
NUL_MESSAGE = "Null characters (NUL, \\x00) are not allowed."


def _nul_field(params) -> str | None:
    """The first parameter (name or value) of a QueryDict holding a NUL, or None."""
    for key, values in params.lists():
        if NUL in key:
            return "(a parameter name)"
        if any(NUL in v for v in values if isinstance(v, str)):
            return key
    return None


class NulCharacterGuard:
    """No NUL character reaches a view through a query string (nor an API form body): PostgreSQL
    cannot store one in text, so a NUL would fail in whatever query or audit row it reached first
    (a 500) instead of being refused. Refused here once for every route: a problem document naming
    the parameter under /api/, a 400 page naming it elsewhere. Form bodies of pages are left to their
    forms, which put the error on the field; JSON bodies of the API to its parser (auror.parsers)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_field(request.GET)
        where = "query"
        api = request.path.startswith("/api/")
        if field is None and api and request.method in ("POST", "PUT", "PATCH") and \
                request.content_type == "application/x-www-form-urlencoded":
            field, where = _nul_field(request.POST), "form"
        if field is None:
            return self.get_response(request)
        if api:
            from django.http import JsonResponse

            reason = NUL_MESSAGE
            return JsonResponse({"type": "about:blank", "title": "Invalid request", "status": 400,
                                 "detail": f"{field}: {reason}", "errors": {field: [reason]},
                                 "invalid_params": [{"name": field, "reason": reason, "in": where}]},
                                status=400, content_type="application/problem+json")
        from django.template.response import TemplateResponse

        return TemplateResponse(request, "400.html", {"field": field, "reason": NUL_MESSAGE}, status=400).render()
