"""The Lexicon page: a retailer admin sees the platform lexicon (read-only) and their organisation's own
entries, adds an entry, disables or re-enables one, and tries a description against the lexicon."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View

from accounts.forms_admin import add_service_errors
from accounts.models import Role
from auror import access
from auror.views import ScopedQuerysetMixin
from guardrails import services
from guardrails.checker import check_text
from guardrails.forms import LexiconEntryForm, TryForm
from guardrails.models import Category, LexiconEntry

ADMINS = frozenset({Role.RETAILER_ADMIN})


class LexiconView(ScopedQuerysetMixin, View):
    model = LexiconEntry
    allowed_roles = ADMINS
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request):
        return self.page(LexiconEntryForm(), status=200)

    def post(self, request):
        form = LexiconEntryForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                entry = services.lexicon_entry_add(actor=request.user, organisation=request.user.organisation,
                                                   term=d["term"], category=d["category"], context=d["context"],
                                                   note=d["note"])
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(request, f"Added “{entry.term}”: from now on it is refused in your organisation's "
                                          "descriptions.")
                return redirect("guardrails:lexicon")
        return self.page(form, status=400)

    def page(self, form, *, status: int):
        user = self.request.user
        entries = self.get_queryset().select_related("created_by")
        own = [e for e in entries if e.organisation_id == user.organisation_id]
        platform = [e for e in entries if e.organisation_id is None and e.is_active]
        by_category = [(label, [e for e in platform if e.category == value]) for value, label in Category.choices]
        try_form = TryForm(self.request.GET or None)
        findings = None
        if try_form.is_bound and try_form.is_valid() and try_form.cleaned_data["text"]:
            findings = check_text(try_form.cleaned_data["text"], organisation=user.organisation)
        return render(self.request, "guardrails/lexicon.html", {
            "form": form, "own": own, "platform_by_category": by_category, "platform_count": len(platform),
            "try_form": try_form, "findings": findings,
        }, status=status)


class _EntryActiveView(ScopedQuerysetMixin, View):
    model = LexiconEntry
    allowed_roles = ADMINS
    action = access.CHANGE
    http_method_names = ["post", "options"]
    active = False

    def post(self, request, pk):
        entry = self.get_object()
        try:
            if self.active:
                services.lexicon_entry_enable(actor=request.user, entry=entry)
            else:
                services.lexicon_entry_disable(actor=request.user, entry=entry)
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        else:
            messages.success(request, f"“{entry.term}” is {'refused again' if self.active else 'no longer refused'}.")
        return redirect("guardrails:lexicon")


class EntryDisableView(_EntryActiveView):
    active = False


class EntryEnableView(_EntryActiveView):
    active = True
