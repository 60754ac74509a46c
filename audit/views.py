from __future__ import annotations

from django.views.generic import ListView

from accounts.models import Role
from audit.models import AuditEntry
from auror.views import ScopedQuerysetMixin


class AuditListView(ScopedQuerysetMixin, ListView):
    model = AuditEntry
    allowed_roles = frozenset({Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR})
    template_name = "audit/audit_list.html"
    paginate_by = 100
