"""DRF plumbing that settings name: pagination and problem-details errors. Kept apart from
auror.api so that importing DRF's generic views does not import this module half-way."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
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


def problem_details_handler(exc, context):
    """RFC 9457 problem details (application/problem+json) for every API error. Validation errors
    keep DRF's shape in `errors`, list each bad field by its dotted path in `invalid_params`, and
    name the first one in `detail` ("store: No store with code ...")."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
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
