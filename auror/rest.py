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


def problem_details_handler(exc, context):
    """RFC 9457 problem details. Validation errors name each bad field in `errors`."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    title = {400: "Invalid request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
             405: "Method not allowed", 429: "Too many requests"}.get(response.status_code, "Error")
    body = {"type": "about:blank", "title": title, "status": response.status_code}
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        body["errors"] = errors
        first = next(iter(errors.items()), None)
        if first:
            field, msgs = first
            msg = msgs[0] if isinstance(msgs, list) and msgs and isinstance(msgs[0], str) else msgs
            body["detail"] = f"{field}: {msg}"
    elif isinstance(data, dict) and "detail" in data:
        body["detail"] = str(data["detail"])
    response.data = body
    response["Content-Type"] = "application/problem+json"
    return response
