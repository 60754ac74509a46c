"""The audit log in the browser: retailer admins and police admins search, read and export their own
organisation's rows (platform operators: the platform's own rows).

Scoping is the base view's (auror.views.ScopedQuerysetMixin → the one access policy): another
organisation's row is simply absent, so its detail page is a 404 and no filter can reach it. Looking
at the log is itself audited: "audit.search" for the list, "audit.view" for a row, "audit.export"
for a CSV download, each written in the request that shows the rows.
"""

from __future__ import annotations

import zoneinfo

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views import View
from django.views.generic import DetailView, ListView

from accounts.models import Role
from audit.filters import AuditFilter
from audit.models import AuditEntry
from audit.selectors import (
    CappedPaginator,
    audit_csv_lines,
    audit_entry_integrity,
    audit_recent_values,
    changes_table,
    export_filename,
)
from audit.services import audit_record
from auror.views import ScopedQuerysetMixin

AUDITORS = frozenset({Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR})


def viewer_timezone(user) -> zoneinfo.ZoneInfo:
    """Audit times are typed and shown in the viewer's organisation's zone (auror.timezones), a
    police agency's too (it has no stores)."""
    from auror.timezones import organisation_timezone

    return zoneinfo.ZoneInfo(organisation_timezone(user.organisation_id))


class AuditRowsMixin(ScopedQuerysetMixin):
    """The caller's rows (the access policy), narrowed by the filter form and by `until`: the newest
    row id when the search began, carried by the page links and the export link so that rows written
    meanwhile (this search's own audit row among them) do not shift the pages."""

    model = AuditEntry
    allowed_roles = AUDITORS

    def visible(self):
        """Every row the caller may see: the access policy's queryset, from the base view."""
        return self.policy_queryset()

    def setup_rows(self) -> None:
        request = self.request
        self.tz = viewer_timezone(request.user)
        self.filterset = AuditFilter(request.GET or None, queryset=self.visible(), tz=self.tz)
        self.valid = not self.filterset.is_bound or self.filterset.is_valid()
        until = request.GET.get("until", "")
        self.until = int(until) if until.isdigit() and len(until) < 19 else None
        if self.until is None:
            self.until = self.visible().order_by("-id").values_list("id", flat=True).first() or 0

    def scope_queryset(self, qs):
        if not self.valid:
            return qs.none()
        if self.filterset.is_bound:
            qs = self.filterset.filter_queryset(qs)
        return qs.filter(id__lte=self.until).order_by("-at", "-id")

    def query(self, **changes) -> str:
        params = self.request.GET.copy()
        params.pop("page", None)
        params["until"] = str(self.until)
        for key, value in changes.items():
            params[key] = value
        return params.urlencode()


class AuditListView(AuditRowsMixin, ListView):
    template_name = "audit/audit_list.html"
    paginate_by = 50
    paginator_class = CappedPaginator
    context_object_name = "entries"

    def get(self, request, *args, **kwargs):
        self.setup_rows()
        response = super().get(request, *args, **kwargs)
        if self.valid:
            audit_record(action="audit.search", actor=request.user,
                         detail={"filters": self.filterset.used, "page": request.GET.get("page") or "1"})
        else:
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        visible = self.visible()
        form = self.filterset.form
        more = ("actor", "action", "object_type", "object_id")
        ctx.update({
            "filter": self.filterset, "form": form, "tz": self.tz, "valid": self.valid,
            "filtered": bool(self.filterset.used),
            "more_open": any(self.request.GET.get(k) for k in more) or any(k in form.errors for k in more),
            "pages_query": self.query(), "export_url": reverse("audit:export") + "?" + self.query(),
            "action_choices": audit_recent_values(rows=visible, field="action"),
            "type_choices": audit_recent_values(rows=visible, field="object_type"),
        })
        # The page's rows are read now, before this search's own audit row is written.
        ctx["entries"] = list(ctx["entries"])
        return ctx


class AuditExportView(AuditRowsMixin, View):
    """The filtered rows as CSV, streamed from a database cursor (constant memory, any size)."""

    http_method_names = ["get", "head", "options"]

    def get(self, request, *args, **kwargs):
        self.setup_rows()
        if not self.valid:  # the list page, with the errors next to the filters (400)
            page = AuditListView()
            page.setup(request, *args, **kwargs)
            return page.get(request, *args, **kwargs)
        rows = self.get_queryset()
        audit_record(action="audit.export", actor=request.user,
                     detail={"format": "csv", "filters": self.filterset.used, "until": self.until,
                             "rows": rows.count()})
        stamp = timezone.now().astimezone(self.tz).strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(audit_csv_lines(rows=rows, tz=self.tz), content_type="text/csv; charset=utf-8")
        name = export_filename(organisation_slug=request.user.organisation.slug, stamp=stamp)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class AuditDetailView(ScopedQuerysetMixin, DetailView):
    """One row, every field: the detail JSON (before and after values), and its place in the chain."""

    model = AuditEntry
    allowed_roles = AUDITORS
    template_name = "audit/audit_detail.html"
    context_object_name = "entry"

    def on_read(self, entry) -> None:
        audit_record(action="audit.view", actor=self.request.user, obj=entry)

    def get_context_data(self, **kwargs):
        import json

        from django.core.serializers.json import DjangoJSONEncoder

        ctx = super().get_context_data(**kwargs)
        entry = self.object
        rows = super().get_queryset()
        ctx.update({
            "tz": viewer_timezone(self.request.user),
            "integrity": audit_entry_integrity(rows=rows, entry=entry),
            "changes": changes_table(entry.detail),
            "detail_json": json.dumps(entry.detail, indent=2, sort_keys=True, cls=DjangoJSONEncoder,
                                      ensure_ascii=False),
            "same_object_query": urlencode({"object_type": entry.object_type, "object_id": entry.object_id})
            if entry.object_type and entry.object_id else "",
            "same_actor_query": urlencode({"actor": entry.actor_email}) if entry.actor_email else "",
            "next_in_chain": rows.filter(chain=entry.chain, seq=entry.seq + 1).first(),
        })
        return ctx
