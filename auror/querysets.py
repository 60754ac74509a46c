"""The scoped queryset every tenant-owned model uses (after NetBox's RestrictedQuerySet)."""

from __future__ import annotations

from django.db import models


class TenantQuerySet(models.QuerySet):
    def visible_to(self, user, action: str = "view") -> TenantQuerySet:
        """Only the rows `user` may `action`, as decided by the one access policy (auror.access)."""
        from auror import access

        return self.filter(access.q_for(self.model, user, action))

    def unscoped(self) -> TenantQuerySet:
        """Every row, ignoring the access policy. For background jobs, commands and migrations only:
        a view or an API endpoint must never call this (tests/test_scoping_lint.py refuses it)."""
        return self.all()
