from __future__ import annotations

from django import forms
from django.utils import timezone

from evidence.validation import accepted_types_text

ACCEPT = "image/jpeg,image/png,image/webp,video/mp4,application/pdf,.jpg,.jpeg,.png,.webp,.mp4,.pdf"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; each is validated by evidence.validation, not here."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


def _person_choices(event) -> list[tuple[str, str]]:
    return [("", "The event as a whole")] + [(str(p.pk), f"{p} ({p.get_role_display().lower()})")
                                              for p in event.persons.all()]


class EvidenceUploadForm(forms.Form):
    files = MultipleFileField(label="Photos, videos or documents", required=False,
                              help_text=f"{accepted_types_text()}. Choose several at once if you like.")
    person = forms.TypedChoiceField(label="About", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        self.fields["person"].choices = _person_choices(event)

    def clean_person(self):
        pk = self.cleaned_data.get("person")
        return self.event.persons.filter(pk=pk).first() if pk else None


class StatementForm(forms.Form):
    witness_name = forms.CharField(label="Witness's name", max_length=120)
    witness_contact = forms.CharField(label="Contact (phone or email)", max_length=200, required=False)
    statement_date = forms.DateField(label="Date of statement", widget=forms.DateInput(attrs={"type": "date"}))
    statement = forms.CharField(label="Statement", max_length=20000, widget=forms.Textarea(attrs={"rows": 10}),
                                help_text="In the witness's own words: what they saw and heard.")
    declaration_signed = forms.BooleanField(
        label="The witness declares that this statement is true to the best of their knowledge and belief.",
        error_messages={"required": "The witness must sign the declaration."})
    signature_name = forms.CharField(label="Signature (the witness types their full name)", max_length=120)
    person = forms.TypedChoiceField(label="About", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, event, **kwargs):
        kwargs.setdefault("initial", {"statement_date": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.event = event
        self.fields["person"].choices = _person_choices(event)

    def clean_person(self):
        pk = self.cleaned_data.get("person")
        return self.event.persons.filter(pk=pk).first() if pk else None
