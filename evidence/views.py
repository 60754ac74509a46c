"""HTML views of the evidence locker. Scoping comes from the base classes (auror.views): an item or
event the user may not see is a 404, a visible one they may not change is a 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.generic import DetailView

from accounts.models import Role
from audit.services import audit_record
from auror import access
from auror.views import ScopedQuerysetMixin
from events.models import Event
from evidence import services
from evidence.forms import EvidenceUploadForm, StatementForm
from evidence.models import CustodyEntry, EvidenceItem
from evidence.upload import install_size_cap

READERS = frozenset({Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_OFFICER})
WRITERS = frozenset({Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN})


def _purpose(request) -> str:
    purpose = (request.GET.get("purpose") or "").strip()
    case = (request.GET.get("case_reference") or "").strip()
    return f"{purpose} (case {case})" if purpose and case else purpose


class EventEvidenceView(ScopedQuerysetMixin, DetailView):
    """The evidence section of an event on a page of its own (the event page includes the same
    partial)."""

    model = Event
    allowed_roles = READERS
    template_name = "evidence/event_evidence.html"
    context_object_name = "event"

    def on_read(self, event) -> None:
        audit_record(action="evidence.list", actor=self.request.user, obj=event, purpose=_purpose(self.request))


class EvidenceUploadView(ScopedQuerysetMixin, View):
    model = Event
    action = access.CHANGE
    allowed_roles = WRITERS
    http_method_names = ["post"]

    def post(self, request, pk):
        event = self.get_object()
        form = EvidenceUploadForm(request.POST, request.FILES, event=event)
        oversize = getattr(request, "evidence_oversize", [])
        if not form.is_valid():
            return self._again(event, form, status=400)
        try:
            outcome = services.evidence_upload(actor=request.user, event=event,
                                               files=request.FILES.getlist("files"),
                                               person=form.cleaned_data.get("person"), oversize=oversize)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self._again(event, form, status=400)
        if not outcome.stored:
            for message in outcome.messages:
                form.add_error("files", message)
            return self._again(event, form, status=400)
        count = len(outcome.stored)
        messages.success(request, f"{count} file{'s' if count != 1 else ''} added to the evidence.")
        for message in outcome.messages:
            messages.error(request, message)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            target = reverse("evidence:event", args=[event.pk])
        return redirect(target)

    def _again(self, event, form, status):
        return render(self.request, "evidence/event_evidence.html",
                      {"event": event, "evidence_upload_form": form}, status=status)


def upload_view():
    """The size cap must be installed before anything reads the body, and CSRF reads it: so the
    view is exempted at the outside and protected again inside (as Django's docs show)."""
    inner = csrf_protect(EvidenceUploadView.as_view())

    @csrf_exempt
    def view(request, *args, **kwargs):
        install_size_cap(request)
        return inner(request, *args, **kwargs)

    return view


class StatementCreateView(ScopedQuerysetMixin, View):
    model = Event
    action = access.CHANGE
    allowed_roles = WRITERS
    template_name = "evidence/statement_form.html"

    def get(self, request, pk):
        event = self.get_object()
        return render(request, self.template_name, {"event": event, "form": StatementForm(event=event)})

    def post(self, request, pk):
        event = self.get_object()
        form = StatementForm(request.POST, event=event)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                item = services.statement_create(actor=request.user, event=event, **data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "The witness statement was recorded.")
                return redirect("evidence:item", pk=item.pk)
        return render(request, self.template_name, {"event": event, "form": form}, status=400)


class EvidenceItemView(ScopedQuerysetMixin, DetailView):
    model = EvidenceItem
    allowed_roles = READERS
    template_name = "evidence/item_detail.html"
    context_object_name = "item"

    def scope_queryset(self, qs):
        return qs.select_related("event__store", "person", "uploaded_by", "deleted_by")

    def on_read(self, item) -> None:
        services.evidence_viewed(actor=self.request.user, item=item, purpose=_purpose(self.request))

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        item = self.object
        ctx["custody"] = CustodyEntry.objects.visible_to(self.request.user).filter(item=item).select_related("actor")
        ctx["statement"] = getattr(item, "statement", None) if item.kind == "statement" else None
        ctx["can_delete"] = not item.is_deleted and access.can(self.request.user, access.DELETE, item)
        return ctx


class EvidenceDownloadView(ScopedQuerysetMixin, View):
    model = EvidenceItem
    allowed_roles = READERS
    http_method_names = ["get"]

    def get(self, request, pk):
        item = self.get_object()
        try:
            chunks = services.evidence_download(actor=request.user, item=item, purpose=_purpose(request))
        except services.EvidenceGone:
            return render(request, "evidence/unavailable.html", {"item": item, "gone": True}, status=410)
        except services.IntegrityFailed:
            return render(request, "evidence/unavailable.html", {"item": item, "gone": False}, status=409)
        return download_response(item, chunks)


def download_response(item: EvidenceItem, chunks) -> StreamingHttpResponse:
    import base64

    response = StreamingHttpResponse(chunks, content_type=item.content_type)
    response["Content-Length"] = str(item.size)
    response["Content-Disposition"] = content_disposition_header(True, item.original_filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(item.sha256)).decode()}:"
    response["X-Evidence-SHA256"] = item.sha256
    return response


class EvidenceThumbnailView(ScopedQuerysetMixin, View):
    model = EvidenceItem
    allowed_roles = READERS
    http_method_names = ["get"]

    def get(self, request, pk):
        item = self.get_object()
        data = services.evidence_thumbnail(actor=request.user, item=item, purpose=_purpose(request))
        if data is None:
            return HttpResponse(status=404)
        response = HttpResponse(data, content_type="image/jpeg")
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=300"
        return response


class EvidenceDeleteView(ScopedQuerysetMixin, View):
    model = EvidenceItem
    action = access.DELETE
    allowed_roles = READERS

    def get(self, request, pk):
        return render(request, "evidence/delete_confirm.html", {"item": self.get_object()})

    def post(self, request, pk):
        item = self.get_object()
        services.evidence_delete(actor=request.user, item=item, reason=request.POST.get("reason", ""))
        messages.success(request, f"“{item.original_filename}” was deleted; its chain of custody is kept.")
        return redirect("evidence:item", pk=item.pk)
