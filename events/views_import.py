"""Bulk import and export in the browser, and the product catalogue.

- Import: upload a .jsonl/.csv/.zip and choose the mode; a Celery job works through it; the job
  page shows a progress bar (polling a small JSON status endpoint, or a meta refresh without JS)
  and then the refused rows and the descriptor values left out, each downloadable as CSV, and the
  values read as synonyms (events.vocabulary), counted.
- Export: the event list's current filters as interchange JSON Lines.
- Catalogue: retailer admins upload the product CSV; the event form searches it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django import forms
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView

from accounts.models import Role
from audit.services import audit_record
from auror.views import RoleRequiredMixin, ScopedQuerysetMixin
from events.catalogue import products_import, products_search
from events.exporter import events_export
from events.imports.archive import IMPORT_SUFFIXES, check_zip
from events.imports.jobs import import_job_create, import_progress_key, max_upload_bytes
from events.imports.report import ImportFileError
from events.models import ImportJob, Product
from events.police import police_purpose
from events.selectors import events_visible

IMPORTERS = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN})
EXPORTERS = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_OFFICER})
CATALOGUE_ADMINS = frozenset({Role.RETAILER_ADMIN})
PRODUCT_SEARCHERS = frozenset({Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN})
REPORT_ROWS_SHOWN = 200


class ImportForm(forms.Form):
    file = forms.FileField(label="File", help_text="A .jsonl, .csv or .zip (the data file plus the stills it names).")
    mode = forms.ChoiceField(label="If some rows are refused", choices=ImportJob.Mode.choices,
                             initial=ImportJob.Mode.KEEP_GOOD, widget=forms.RadioSelect)
    strict_values = forms.BooleanField(
        label="Refuse rows with a descriptor the synonym table does not know", required=False,
        help_text="By default a build, age band, gender or role that is neither a value nor a synonym is left out "
                  "of its row, which is kept, and listed in the report.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in IMPORT_SUFFIXES:
            raise forms.ValidationError("Choose a .jsonl, .csv or .zip file.")
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(f"The file is larger than {max_upload_bytes() // 1024**2} MB.")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        if Path(upload.name).suffix.lower() == ".zip":
            try:
                check_zip(upload)  # a zip bomb or a path-traversal archive is refused here, before it is stored
            except ImportFileError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return upload


class ImportView(RoleRequiredMixin, View):
    allowed_roles = IMPORTERS
    http_method_names = ["get", "post", "head", "options"]
    template_name = "events/import.html"

    def render(self, form, status=200):
        jobs = ImportJob.objects.visible_to(self.request.user).select_related("user")[:20]
        return render(self.request, self.template_name, {"form": form, "jobs": jobs}, status=status)

    def get(self, request):
        return self.render(ImportForm())

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(form, status=400)
        try:
            job = import_job_create(user=request.user, upload=form.cleaned_data["file"],
                                    mode=form.cleaned_data["mode"], strict_values=form.cleaned_data["strict_values"])
        except ImportFileError as exc:
            form.add_error("file", str(exc))
            return self.render(form, status=400)
        return redirect("events:import_job", pk=job.pk)


def _live(job: ImportJob) -> dict:
    """The job's state; while it runs, the progress the worker published (in all-or-nothing mode
    its database row only changes when the single transaction commits)."""
    from django.core.cache import cache

    state = {"status": job.status, "status_label": job.get_status_display(), "total": job.total,
             "processed": job.processed, "created": job.created, "updated": job.updated, "refused": job.refused,
             "finished": job.finished, "message": job.message}
    if job.status == ImportJob.Status.RUNNING:
        live = cache.get(import_progress_key(job.pk)) or {}
        if live.get("processed", 0) > job.processed:
            state.update({k: live[k] for k in ("processed", "created", "updated", "refused") if k in live})
        state["total"] = state["total"] or live.get("total", 0)
    total = state["total"]
    state["percent"] = 100 if job.finished else (int(100 * state["processed"] / total) if total else 0)
    return state


class ImportJobView(ScopedQuerysetMixin, DetailView):
    model = ImportJob
    allowed_roles = IMPORTERS
    template_name = "events/import_job.html"
    context_object_name = "job"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        job = self.object
        ctx["state"] = _live(job)
        ctx["errors_shown"] = job.errors[:REPORT_ROWS_SHOWN] if job.finished else []
        ctx["errors_more"] = max(0, len(job.errors) - REPORT_ROWS_SHOWN) if job.finished else 0
        ctx["warnings_shown"] = job.warnings[:REPORT_ROWS_SHOWN] if job.finished else []
        ctx["warnings_more"] = max(0, len(job.warnings) - REPORT_ROWS_SHOWN) if job.finished else 0
        ctx["status_url"] = reverse("events:import_status", args=[job.pk])
        return ctx


class ImportJobStatusView(ScopedQuerysetMixin, View):
    model = ImportJob
    allowed_roles = IMPORTERS
    http_method_names = ["get", "head", "options"]

    def get(self, request, pk):
        job = self.get_object()
        return JsonResponse(_live(job))


class ImportJobErrorsView(ScopedQuerysetMixin, View):
    """Every refused row of a job as CSV: line, field, reason."""

    model = ImportJob
    allowed_roles = IMPORTERS
    http_method_names = ["get", "head", "options"]
    report, columns, suffix = "errors", ("line", "field", "reason"), "refused-rows"

    def get(self, request, pk):
        job = self.get_object()
        rows = getattr(job, self.report)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(self.columns)
        for e in rows:
            writer.writerow([e.get(c) for c in self.columns])
        audit_record(action="event.import.report", actor=request.user, obj=job,
                     detail={"rows": len(rows), "report": self.report})
        response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
        stem = Path(job.original_name).stem or "import"
        response["Content-Disposition"] = f'attachment; filename="{stem}-{self.suffix}.csv"'
        return response


class ImportJobWarningsView(ImportJobErrorsView):
    """Every descriptor value a job left out as CSV: line, field, value, what was done."""

    report, columns, suffix = "warnings", ("line", "field", "value", "action"), "values-left-out"


# --- export ----------------------------------------------------------------------------------------


def export_filters(user, params) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The event list's filters (events.forms.EventFilterForm, the same query parameters as the
    list page) as events_visible takes them, and the form's errors by field."""
    from accounts.models import Store
    from events.forms import EventFilterForm
    from events.selectors import display_timezone

    stores = Store.objects.visible_to(user).order_by("code") if user.is_retailer_user else []
    form = EventFilterForm(params, stores=stores)
    if not form.is_valid():
        return {}, {k: list(v) for k, v in form.errors.items()}
    return {k: v for k, v in form.filters(display_timezone(user)).items() if v}, {}


def jsonl_response(lines, stem: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{stem}-{stamp}.jsonl"'
    return response


class EventExportView(RoleRequiredMixin, View):
    allowed_roles = EXPORTERS
    http_method_names = ["get", "head", "options"]

    def get(self, request):
        purpose, missing = police_purpose(request.user, request.GET)
        if missing:
            return HttpResponseBadRequest(f"Police exports must state a {missing.replace('_', ' ')}.",
                                          content_type="text/plain; charset=utf-8")
        filters, errors = export_filters(request.user, request.GET)
        if errors:
            return HttpResponseBadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()),
                                          content_type="text/plain; charset=utf-8")
        qs = events_visible(user=request.user, filters=filters)
        text = f"{purpose['purpose']} (case {purpose['case_reference']})" if purpose else ""
        lines = events_export(actor=request.user, queryset=qs, via="browser", purpose=text, filters=filters,
                              organisation_id=request.user.organisation_id)
        return jsonl_response(lines, "events")


# --- catalogue -------------------------------------------------------------------------------------


class CatalogueForm(forms.Form):
    file = forms.FileField(label="Catalogue CSV", help_text="Columns: sku, description, unit_value, barcode.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() != ".csv":
            raise forms.ValidationError("Choose a .csv file.")
        if upload.size > 50 * 1024**2:
            raise forms.ValidationError("The file is larger than 50 MB.")
        return upload


class CatalogueView(RoleRequiredMixin, View):
    allowed_roles = CATALOGUE_ADMINS
    http_method_names = ["get", "post", "head", "options"]
    template_name = "events/catalogue.html"
    page_size = 50

    def render(self, form, result=None, status=200):
        from django.core.paginator import Paginator

        q = (self.request.GET.get("q") or "").strip()
        qs = Product.objects.visible_to(self.request.user).order_by("description", "sku")
        if q:
            qs = qs.filter(pk__in=[p.pk for p in products_search(user=self.request.user, q=q, limit=200)])
        page = Paginator(qs, self.page_size).get_page(self.request.GET.get("page"))
        return render(self.request, self.template_name,
                      {"form": form, "result": result, "page": page, "q": q,
                       "total": Product.objects.visible_to(self.request.user).count()}, status=status)

    def get(self, request):
        return self.render(CatalogueForm())

    def post(self, request):
        import tempfile

        form = CatalogueForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(form, status=400)
        upload = form.cleaned_data["file"]
        with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
            for chunk in upload.chunks():
                tmp.write(chunk)
            tmp.flush()
            try:
                result = products_import(organisation=request.user.organisation, path=tmp.name,
                                         actor=request.user, source=Path(upload.name).name)
            except ImportFileError as exc:
                form.add_error("file", str(exc))
                return self.render(form, status=400)
        return self.render(CatalogueForm(), result=result, status=200)


class ProductSearchView(RoleRequiredMixin, View):
    """GET ?q= → {"results": [{"sku", "description", "unit_value"}]}: the user's retailer's active
    products by SKU, barcode or description prefix, ~20 at most (the event form's product picker)."""

    allowed_roles = PRODUCT_SEARCHERS
    http_method_names = ["get", "head", "options"]

    def get(self, request):
        q = (request.GET.get("q") or "")[:100]
        results = [{"sku": p.sku, "description": p.description, "unit_value": str(p.unit_value)}
                   for p in products_search(user=request.user, q=q)]
        return JsonResponse({"results": results})
