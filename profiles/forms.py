"""Forms of the profile pages: merge, split, deciding an offender group."""

from __future__ import annotations

from django import forms

from profiles.models import OffenderGroup

REASON = dict(required=False, max_length=500, label="Reason", widget=forms.Textarea(attrs={"rows": 2}),
              error_messages={"max_length": "Keep the reason under 500 characters."})


class MergeForm(forms.Form):
    target = forms.IntegerField(label="Merge into profile number", min_value=1,
                                help_text="This profile's people join that profile; this one is closed, with history.",
                                error_messages={"required": "Find and pick the profile to merge into.",
                                                "invalid": "Enter a profile number.",
                                                "min_value": "Enter a profile number."})
    reason = forms.CharField(**REASON)


class SplitForm(forms.Form):
    members = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), label="People to split off", widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick the people to split off.",
                        "invalid_choice": "Only people in this profile can be split off."})
    reason = forms.CharField(**REASON)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(m.person_id, str(m.person_id)) for m in members]


class GroupDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(OffenderGroup.Status.CONFIRMED, "Confirm"),
                                          (OffenderGroup.Status.REJECTED, "Reject")],
                                 error_messages={"required": "Choose confirm or reject.",
                                                 "invalid_choice": "Choose confirm or reject."})
    name = forms.CharField(required=False, max_length=120, label="Group name",
                           error_messages={"max_length": "Keep the name under 120 characters."})
