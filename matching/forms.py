"""Forms of the review queue: filters, a judgement, the matching settings."""

from __future__ import annotations

from django import forms

from events.models import EventType
from matching.models import Judgement
from matching.services_review import REASON_MAX, THRESHOLD_MAX, THRESHOLD_MIN

STATUS_CHOICES = [("open", "To review"), ("pending", "New"), ("unsure", "Unsure"),
                  ("decided", "Decided")]
SORT_CHOICES = [("score", "Score, then harm"), ("harm", "Harm, then score")]


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label="Show")
    store = forms.ModelChoiceField(queryset=None, required=False, empty_label="All stores", label="Store")
    type = forms.ChoiceField(choices=[("", "All types"), *EventType.choices], required=False, label="Type")
    retailer = forms.ChoiceField(choices=[("", "Yours and other retailers'"), ("own", "Your retailer's only"),
                                          ("cross", "Other retailers' only")], required=False, label="Retailer")
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, label="Sort by")

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["store"].label_from_instance = lambda s: f"{s.code} {s.name}"

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {"status": data.get("status") or "open", "store": data.get("store"), "event_type": data.get("type") or "",
                "sort": data.get("sort") or "score", "retailer": data.get("retailer") or ""}


class JudgementForm(forms.Form):
    decision = forms.ChoiceField(choices=[(Judgement.Decision.ACCEPT, "Same person"),
                                          (Judgement.Decision.REJECT, "Not the same person"),
                                          (Judgement.Decision.UNSURE, "Unsure")],
                                 error_messages={"required": "Choose same person, not the same person or unsure.",
                                                 "invalid_choice": "Choose same person, not the same person or unsure."})
    reason = forms.CharField(required=False, max_length=REASON_MAX, label="Reason",
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"max_length": f"Keep the reason under {REASON_MAX} characters."})


class UndoForm(forms.Form):
    """Nothing to fill in: the button is the decision (a form so that CSRF applies)."""


class MatchSettingsForm(forms.Form):
    review_threshold = forms.FloatField(
        min_value=THRESHOLD_MIN, max_value=THRESHOLD_MAX, label="Review threshold",
        help_text="Suggestions with a match probability at or above this are likely matches, shown first; those "
                  "below it are at most possible matches "
                  f"(between {THRESHOLD_MIN} and {THRESHOLD_MAX}; 0.5 means even odds). A lower threshold calls more "
                  "suggestions likely and gives reviewers more to read. It applies to suggestions computed from now on.",
        error_messages={"min_value": f"Enter a number between {THRESHOLD_MIN} and {THRESHOLD_MAX}.",
                        "max_value": f"Enter a number between {THRESHOLD_MIN} and {THRESHOLD_MAX}.",
                        "invalid": f"Enter a number between {THRESHOLD_MIN} and {THRESHOLD_MAX}.",
                        "required": "Enter the review threshold."},
        widget=forms.NumberInput(attrs={"step": "0.01"}))
