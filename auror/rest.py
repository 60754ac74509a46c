"""DRF plumbing that settings name: pagination and problem-details errors. Kept apart from
auror.api so that importing DRF's generic views does not import this module half-way."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def invalid_params(errors, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested validation errors as a flat list of {"name": "persons.0.height_cm", "reason": ...}:
    the dotted path names the exact field, however deep (RFC 9457's "invalid-params" example)."""
    out: list[dict[str, str]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            out += invalid_params(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            out += [{"name": prefix or "non_field_errors", "reason": str(e)} for e in errors]
        else:
            for i, value in enumerate(errors):
                if value:  # the rows without errors are empty dicts
                    out += invalid_params(value, f"{prefix}.{i}" if prefix else str(i))
    elif errors:
        out.append({"name": prefix or "non_field_errors", "reason": str(errors)})
    return out


UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
TENANT_FIELDS = frozenset({"organisation", "organisation_id"})


def _unique_constraint_fields(name: str | None) -> tuple[object, list[str]] | None:
    """(model, its fields) of the unique constraint called `name`, the tenant column left out (a
    value is unique within its organisation: the field to name is the other one)."""
    from django.apps import apps
    from django.db.models import UniqueConstraint

    if not name:
        return None
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, UniqueConstraint) and constraint.name == name:
                return model, [f for f in constraint.fields if f not in TENANT_FIELDS]
    return None


def unique_violation(exc: IntegrityError) -> exceptions.ValidationError | None:
    """A unique constraint the database refused (two requests racing, or a value no serializer
    checked) as the 400 it is, naming the field; None for any other integrity error. The write
    that hit it was atomic, so nothing of it is stored."""
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) != UNIQUE_VIOLATION:
        return None
    found = _unique_constraint_fields(getattr(getattr(cause, "diag", None), "constraint_name", None))
    if found is None:
        return exceptions.ValidationError({"non_field_errors": ["This record conflicts with one that exists."]})
    model, fields = found
    noun = model._meta.verbose_name
    names = fields or ["non_field_errors"]
    return exceptions.ValidationError(
        {f: [f"Another {noun} already has this {f.replace('_', ' ')}."] for f in names})


def problem_details_handler(exc, context):
    """RFC 9457 problem details (application/problem+json) for every API error. Validation errors
    keep DRF's shape in `errors`, list each bad field by its dotted path in `invalid_params`, and
    name the first one in `detail` ("store: No store with code ...")."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, IntegrityError):
        exc = unique_violation(exc) or exc
    response = exception_handler(exc, context)
    if response is None:
        return None
    title = {400: "Invalid request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
             405: "Method not allowed", 406: "Not acceptable", 413: "Request too large",
             415: "Unsupported media type", 429: "Too many requests"}.get(response.status_code, "Error")
    body = {"type": "about:blank", "title": title, "status": response.status_code}
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        body["errors"] = errors
        params = invalid_params(errors)
        body["invalid_params"] = params
        if params:
            body["detail"] = f"{params[0]['name']}: {params[0]['reason']}"
    elif isinstance(data, dict) and "detail" in data:
        body["detail"] = str(data["detail"])
    response.data = body
    # DRF sets the header from `content_type` when it renders (a header set here would be replaced).
    response.content_type = "application/problem+json"
    return response


def not_found(request, exception=None):
    """The site's 404 page (settings: urls.handler404). Under /api/ a URL that matches no route is a
    problem details 404 too, like every other API error; elsewhere Django's page."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"type": "about:blank", "title": "Not found", "status": 404,
                             "detail": "No API endpoint at this URL."},
                            status=404, content_type="application/problem+json")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request):
    """The site's 500 page (urls.handler500); under /api/ a problem document like every other API
    error, so a client parsing JSON never meets an HTML page. Nothing of the error is shown."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"type": "about:blank", "title": "Internal error", "status": 500,
                             "detail": "The server met an error it did not expect; it has been logged."},
                            status=500, content_type="application/problem+json")
    from django.views.defaults import server_error as page_server_error

    return page_server_error(request)


def permission_denied(request, exception=None):
    """The site's 403 page (urls.handler403), in the site's layout, with the reason the refusal
    gave in plain words (a PermissionDenied's message) and a way back; under /api/, problem details."""
    from django.template.response import TemplateResponse

    reason = str(exception or "").strip().rstrip(".")
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"type": "about:blank", "title": "Forbidden", "status": 403,
                             "detail": reason or "You may not do this."},
                            status=403, content_type="application/problem+json")
    response = TemplateResponse(request, "403.html", {"reason": reason[:300]}, status=403)
    return response.render()


# --- OpenAPI ------------------------------------------------------------------------------------
# Registered on import; this module is imported whenever DRF's generic views are (the pagination
# class above is named in settings), so the schema generator always knows the scheme.

from drf_spectacular.extensions import OpenApiAuthenticationExtension  # noqa: E402


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>`: personal and service tokens (accounts.tokens)."""

    target_class = "accounts.tokens.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal or service API token (`manage.py create_token`, or the Security page)."}
