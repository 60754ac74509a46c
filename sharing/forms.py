"""Forms of the sharing pages. They only parse input; the services decide and name the field."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from sharing.services import MAX_DISCLOSURE_DAYS, agreement_partner_choices, regions_clean


class AgreementProposeForm(forms.Form):
    partner = forms.ModelChoiceField(
        queryset=None, label="Retailer", empty_label="Choose a retailer",
        help_text="They see nothing until one of their admins accepts.")
    regions = forms.CharField(
        required=False, max_length=400, label="Regions",
        help_text="Region codes separated by commas, e.g. AKL, WLG. Leave empty to share events in every region.")

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = agreement_partner_choices(actor=actor)
        self.fields["partner"].error_messages["invalid_choice"] = "Choose another retailer from the list."

    def clean_regions(self) -> list[str]:
        try:
            return regions_clean(self.cleaned_data.get("regions", "").replace(";", ",").split(","))
        except ValidationError as e:
            raise ValidationError(e.message_dict["regions"]) from e

    def region_list(self) -> list[str]:
        return self.cleaned_data["regions"]


class DisclosureRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why do you need to see it?", max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The other participant's investigator reads this before deciding. No need to describe your event.")


class DisclosureDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision", widget=forms.RadioSelect,
        choices=[("approve", "Approve: show them this one event"), ("decline", "Decline")])
    reason = forms.CharField(
        label="Reason", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed when you decline. The requester reads it, but not who decided.")
    days = forms.IntegerField(
        label="Show it for (days)", min_value=1, max_value=MAX_DISCLOSURE_DAYS, required=False,
        help_text=f"Approving: the event stays visible to them for this long (1 to {MAX_DISCLOSURE_DAYS}).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.DISCLOSURE_EXPIRY_DAYS

    def clean(self):
        data = super().clean()
        if data.get("decision") == "decline" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why you decline.")
        return data
