"""Base API classes: scoped viewsets, pagination and problem-details errors.

The only queryset a viewset can use is `Model.objects.visible_to(request.user, action)`; the bypass
is named `dangerously_get_queryset` so that every use stands out in review (after PostHog)."""

from __future__ import annotations

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


class ScopedViewSetMixin:
    """Applies the access policy to every viewset action."""

    model = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # The database's scope (auror.rls) follows whoever DRF authenticated, however it did.
        rls.enter_user(request.user)

    def policy_action(self) -> str:
        return ACTION_FOR_VIEWSET_ACTION.get(getattr(self, "action", None) or "list", access.VIEW)

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user, self.policy_action())

    def dangerously_get_queryset(self):
        """Every row, unscoped. Only for code that re-applies the policy itself; reviewers look here."""
        return self.model.objects.unscoped()

    def get_object(self):
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = self.get_queryset().filter(**{self.lookup_field: lookup}).first()
        if obj is None:
            if self.policy_action() != access.VIEW and self.model.objects.visible_to(
                self.request.user, access.VIEW
            ).filter(**{self.lookup_field: lookup}).exists():
                raise exceptions.PermissionDenied("Your role may not do that to this record.")
            raise exceptions.NotFound()
        self.check_object_permissions(self.request, obj)
        return obj


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    pass


def problem(status_code: int, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "title": "Invalid request" if status_code == 400 else "Error",
            "status": status_code, "detail": detail, **extra}
    return Response(body, status=status_code, content_type="application/problem+json")


__all__ = ["ScopedReadOnlyViewSet", "ScopedModelViewSet", "problem", "status"]
