"""Base API classes: scoped viewsets, pagination and problem-details errors.

The only queryset a viewset can use is `Model.objects.visible_to(request.user, action)`; the bypass
is named `dangerously_get_queryset` so that every use stands out in review (after PostHog)."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status, viewsets
from rest_framework.response import Response

from auror import access, rls

ACTION_FOR_VIEWSET_ACTION = {
    "list": access.VIEW,
    "retrieve": access.VIEW,
    "create": access.CHANGE,
    "update": access.CHANGE,
    "partial_update": access.CHANGE,
    "destroy": access.DELETE,
}


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ScopedViewSetMixin:
    """Applies the access policy to every viewset action. No subclass may override the scoped
    lookups (refused at class creation): a viewset narrows the rows with `scope_queryset()` and
    audits a read with `on_read()`."""

    model = None
    SEALED = ("get_queryset", "get_object")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        from auror.views import refuse_overrides

        refuse_overrides(cls, ScopedViewSetMixin)

    def scope_queryset(self, queryset):
        """Extra filters, joins and ordering of this viewset, on the rows the access policy allows."""
        return queryset

    def on_read(self, obj) -> None:
        """Called with the object get_object() found."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # The database's scope (auror.rls) follows whoever DRF authenticated, however it did.
        rls.enter_user(request.user)
        # Every body this API reads is an object of named fields: a list, a string or a number in
        # its place is refused here, once, rather than by whatever first treats it as a dict.
        # (Only for a method the route has: any other is its 405, whatever the body.)
        if request.method in BODY_METHODS and getattr(self, "action", None) is not None \
                and not isinstance(request.data, Mapping):
            raise exceptions.ValidationError(
                {"non_field_errors": [f"The request body must be a JSON object, not {_json_kind(request.data)}."]})

    def policy_action(self) -> str:
        return ACTION_FOR_VIEWSET_ACTION.get(getattr(self, "action", None) or "list", access.VIEW)

    def get_queryset(self):
        return self.scope_queryset(self.model.objects.visible_to(self.request.user, self.policy_action()))

    def dangerously_get_queryset(self):
        """Every row, unscoped. Only for code that re-applies the policy itself; reviewers look here."""
        return self.model.objects.unscoped()

    def get_object(self):
        lookup = self.lookup_value()
        obj = self.get_queryset().filter(**{self.lookup_field: lookup}).first()
        if obj is None:
            if self.policy_action() != access.VIEW and self.scope_queryset(self.model.objects.visible_to(
                self.request.user, access.VIEW
            )).filter(**{self.lookup_field: lookup}).exists():
                raise exceptions.PermissionDenied("Your role may not do that to this record.")
            raise exceptions.NotFound()
        self.check_object_permissions(self.request, obj)
        self.on_read(obj)
        return obj

    def lookup_value(self):
        """The URL's id as the model's field reads it; one it cannot read ("AAA" for a numeric id,
        one past the column's range) names no record, so it is the same 404 as an id that does not
        exist."""
        raw = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        meta = self.model._meta
        field = meta.pk if self.lookup_field == "pk" else meta.get_field(self.lookup_field)
        try:
            value = field.to_python(raw)
            field.run_validators(value)
        except (DjangoValidationError, TypeError, ValueError):
            raise exceptions.NotFound() from None
        return value


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    pass


def _json_kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), type(value).__name__)


def problem(status_code: int, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "title": "Invalid request" if status_code == 400 else "Error",
            "status": status_code, "detail": detail, **extra}
    return Response(body, status=status_code, content_type="application/problem+json")


__all__ = ["ScopedReadOnlyViewSet", "ScopedModelViewSet", "problem", "status"]
