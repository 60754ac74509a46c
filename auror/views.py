"""Base HTML views: the access policy is applied here, so a view cannot forget it.

- `ScopedQuerysetMixin.get_queryset()` is `Model.objects.visible_to(user, action)`.
- `get_object()` answers 404 for an object that is absent or another tenant's (the same answer), and
  403 only when the user may see the object but not do `action` to it (a same-tenant, too-low role).
- `RoleRequiredMixin` answers 403 to a signed-in user whose role may not use the page at all.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from auror import access


def _roles_in_words(roles) -> str:
    """"investigators and retailer admins": who a page is for, as its 403 says it."""
    from accounts.models import Role

    names = [f"{Role(r).label.lower()}s" for r in Role.values if r in roles]
    if not names:
        return "no role"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class RoleRequiredMixin(LoginRequiredMixin):
    allowed_roles: frozenset[str] | None = None  # None: every signed-in role

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.allowed_roles is not None and request.user.role not in self.allowed_roles:
            from audit.services import audit_record

            audit_record(action="permission.denied", actor=request.user, detail={"path": request.path})
            raise PermissionDenied(f"This page is for {_roles_in_words(self.allowed_roles)}")
        return super().dispatch(request, *args, **kwargs)


class ScopedQuerysetMixin(RoleRequiredMixin):
    model = None
    action = access.VIEW

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user, self.action)

    def get_object(self, queryset=None):
        pk = self.kwargs.get(getattr(self, "pk_url_kwarg", "pk"))
        obj = self.model.objects.visible_to(self.request.user, self.action).filter(pk=pk).first()
        if obj is not None:
            return obj
        if self.action != access.VIEW and self.model.objects.visible_to(self.request.user, access.VIEW).filter(pk=pk).exists():
            from audit.services import audit_record

            audit_record(action="permission.denied", actor=self.request.user,
                         object_type=self.model._meta.label_lower, object_id=pk, detail={"wanted": self.action})
            raise PermissionDenied("Your role may not do that to this record.")
        raise Http404("No such record.")
