"""Base HTML views: the access policy is applied here, so a view cannot forget it.

- `ScopedQuerysetMixin.get_queryset()` is `Model.objects.visible_to(user, action)`, narrowed by the
  view's `scope_queryset()`; no subclass may override the lookups (refused at class creation).
- `get_object()` looks among get_queryset() and answers 404 for an object that is absent or another
  tenant's (the same answer), and 403 only when the user may see the object but not do `action` to it (a same-tenant, too-low role).
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
    """The scoped lookups, which no subclass may override (refused at class creation, after
    PostHog's posthog/api/routing.py): a view narrows the rows with `scope_queryset()` and audits a
    read of one object with `on_read()`."""

    model = None
    action = access.VIEW
    SEALED = ("get_queryset", "get_object", "policy_queryset", "lookup_object")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        refuse_overrides(cls, ScopedQuerysetMixin)

    def scope_queryset(self, queryset):
        """Extra filters, joins and ordering of this view, on the rows the access policy allows."""
        return queryset

    def on_read(self, obj) -> None:
        """Called with the object get_object() found (an audited read writes its row here)."""

    def policy_queryset(self, action: str | None = None):
        return self.model.objects.visible_to(self.request.user, action or self.action)

    def get_queryset(self):
        return self.scope_queryset(self.policy_queryset())

    def lookup_object(self):
        """The object of the URL among get_queryset() (its joins and filters too), without on_read:
        404 for one absent or another tenant's (the same answer), 403 when the user may see it but
        not do `action` to it (a same-tenant, too-low role)."""
        pk = self.kwargs.get(getattr(self, "pk_url_kwarg", "pk"))
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is not None:
            return obj
        if self.action != access.VIEW and self.scope_queryset(self.policy_queryset(access.VIEW)).filter(pk=pk).exists():
            from audit.services import audit_record

            audit_record(action="permission.denied", actor=self.request.user,
                         object_type=self.model._meta.label_lower, object_id=pk, detail={"wanted": self.action})
            raise PermissionDenied("Your role may not do that to this record.")
        raise Http404("No such record.")

    def get_object(self, queryset=None):
        obj = self.lookup_object()
        self.on_read(obj)
        return obj


def refuse_overrides(cls, base) -> None:
    """A subclass of a scoped base that defines one of its sealed lookups fails at import."""
    for name in base.SEALED:
        if name in vars(cls) and cls is not base:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"{cls.__module__}.{cls.__qualname__} overrides {name}(): the scoped base classes own the lookups "
                f"(auror/views.py, auror/api.py). Narrow the rows in scope_queryset() and audit a read in on_read().")
