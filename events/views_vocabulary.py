"""The Synonyms page: the descriptor synonym table that ships with the product (read-only), the age
rule with worked examples, and the retailer's own words. Investigators read it (they import, and the
import report sends them here); retailer admins add and remove their organisation's words. Store
staff record through the form's selects and do not see it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views import View

from accounts.forms_admin import add_service_errors
from accounts.models import Role
from audit.services import audit_record
from auror import access
from auror.views import ScopedQuerysetMixin
from events.models import Descriptor, DescriptorSynonym
from events.services_vocabulary import MAX_VALUE, descriptor_synonym_add, descriptor_synonym_remove
from events.vocabulary import (
    DESCRIPTORS,
    NOT_KNOWN_VALUE,
    WIDEST_RANGE,
    age_band_for,
    builtin,
    value_label,
    vocabulary_for,
)

READERS = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN})
ADMINS = frozenset({Role.RETAILER_ADMIN})
NOT_KNOWN_CHOICE = "(not known)"  # the form's name for "" (empty: not known), which is also "nothing chosen"
AGE_EXAMPLES = ("32", "30-40", "20 to 30", "30s", "mid 30s", "early twenties", "late teens", "40+", "over 60",
                "under 18", "about 45 years old", "18-65")
FIELD_CHOICE_ERROR = ("Choose one of build, age band, gender or role: hair, clothing and marks are free text, "
                      "with nothing to map.")


def _maps_to_choices() -> list:
    groups: list = [("", "Choose…")]
    for field, choices in DESCRIPTORS.items():
        options = list(choices.choices)
        if NOT_KNOWN_VALUE[field] == "":
            options.append((f"{NOT_KNOWN_CHOICE}", "Not known (left empty)"))
        groups.append((Descriptor(field).label, options))
    return groups


class SynonymForm(forms.Form):
    field = forms.ChoiceField(label="Descriptor", choices=[("", "Choose…"), *Descriptor.choices],
                              error_messages={"invalid_choice": FIELD_CHOICE_ERROR})
    value = forms.CharField(label="Your data's word", max_length=MAX_VALUE,
                            help_text="As your spreadsheets or system write it; case, spaces and hyphens do not matter.")
    maps_to = forms.ChoiceField(label="Read as", choices=_maps_to_choices,
                                help_text="A value of the field chosen above.")

    def clean_maps_to(self) -> str:
        value = self.cleaned_data["maps_to"]
        return "" if value == NOT_KNOWN_CHOICE else value


class TryForm(forms.Form):
    try_field = forms.ChoiceField(label="Descriptor to try", choices=Descriptor.choices, required=False)
    try_value = forms.CharField(label="Value to try", max_length=200, required=False)


class SynonymsView(ScopedQuerysetMixin, View):
    model = DescriptorSynonym
    allowed_roles = READERS
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request):
        return self.page(SynonymForm() if request.user.role in ADMINS else None, status=200)

    def post(self, request):
        if request.user.role not in ADMINS:
            audit_record(action="permission.denied", actor=request.user, detail={"path": request.path})
            raise PermissionDenied("Only a retailer admin may change the organisation's synonyms.")
        form = SynonymForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                entry = descriptor_synonym_add(actor=request.user, organisation=request.user.organisation,
                                               field=d["field"], value=d["value"], maps_to=d["maps_to"])
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(request, f"Added: {entry.get_field_display().lower()} “{entry.value}” is read as "
                                          f"{entry.maps_to or 'not known'} in your imports from now on.")
                return redirect("events:synonyms")
        return self.page(form, status=400)

    def page(self, form, *, status: int):
        user = self.request.user
        own = list(self.get_queryset().select_related("created_by"))
        table = builtin()
        fields = []
        for field in DESCRIPTORS:
            rows = [{"value": value, "label": value_label(field, value), "words": words}
                    for value, words in table.groups[field] if words]
            fields.append({"field": field, "label": Descriptor(field).label, "rows": rows,
                           "own": [e for e in own if e.field == field]})
        try_form = TryForm(self.request.GET or None)
        tried = None
        if try_form.is_bound and try_form.is_valid() and try_form.cleaned_data["try_value"]:
            field, value = try_form.cleaned_data["try_field"] or "build", try_form.cleaned_data["try_value"]
            vocabulary = vocabulary_for(user.organisation)
            reading = vocabulary.read(field, value)
            tried = vocabulary.note(field, value, reading) or {
                "action": f"“{value.strip()}” is the {Descriptor(field).label.lower()} {reading.value}"}
        return render(self.request, "events/synonyms.html", {
            "form": form, "fields": fields, "own_count": len(own), "version": table.version,
            "ages": [(text, age_band_for(text)) for text in AGE_EXAMPLES], "widest": WIDEST_RANGE,
            "try_form": try_form, "tried": tried, "may_change": user.role in ADMINS,
        }, status=status)


class SynonymRemoveView(ScopedQuerysetMixin, View):
    model = DescriptorSynonym
    allowed_roles = READERS
    action = access.DELETE
    http_method_names = ["post", "options"]

    def post(self, request, pk):
        entry = self.get_object()
        descriptor_synonym_remove(actor=request.user, entry=entry)
        messages.success(request, f"Removed: {entry.get_field_display().lower()} “{entry.value}” is no longer read "
                                  "as a synonym (events already imported keep their values).")
        return redirect("events:synonyms")
