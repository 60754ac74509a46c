"""Filtering the audit log in the browser (and its CSV export): the same form for both, so an
export holds exactly the rows the page showed.

The queryset handed in is already the caller's own organisation's rows (the access policy, applied
by the base view); these filters only narrow it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from audit.models import AuditEntry

TEXT_MAX = 200


class AuditFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data


def _text_input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", "maxlength": TEXT_MAX, **attrs})


class AuditFilter(django_filters.FilterSet):
    """Date range (inclusive, in the viewer's time zone), actor email, action, object type and id,
    and free text over the object's description and the stated purpose."""

    date_from = django_filters.DateFilter(label="From", method="filter_from",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label="To", method="filter_to",
                                        widget=forms.DateInput(attrs={"type": "date"}))
    actor = django_filters.CharFilter(label="Who (email)", field_name="actor_email", lookup_expr="icontains",
                                      max_length=TEXT_MAX, widget=_text_input(inputmode="email"))
    action = django_filters.CharFilter(
        label="Action", method="filter_action", max_length=TEXT_MAX, widget=_text_input(list="audit-actions"),
        help_text="An action such as event.view, or its first part followed by a dot (event.) for all of them.")
    object_type = django_filters.CharFilter(label="Object type", field_name="object_type", lookup_expr="iexact",
                                            max_length=TEXT_MAX, widget=_text_input(list="audit-object-types"))
    object_id = django_filters.CharFilter(label="Object id", field_name="object_id", lookup_expr="exact",
                                          max_length=64, widget=_text_input())
    q = django_filters.CharFilter(label="Description or purpose", method="filter_text", max_length=TEXT_MAX,
                                  widget=forms.TextInput(attrs={"type": "search", "maxlength": TEXT_MAX}))

    class Meta:
        model = AuditEntry
        fields: list[str] = []
        form = AuditFilterForm

    def __init__(self, data=None, queryset=None, *, tz: dt.tzinfo | None = None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.tz = tz or zoneinfo.ZoneInfo("UTC")

    def _start_of(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.tz)

    def filter_from(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(at__gte=self._start_of(value)) if value else queryset

    def filter_to(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(at__lt=self._start_of(value + dt.timedelta(days=1))) if value else queryset

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        if value.endswith((".", "*")):
            return queryset.filter(action__startswith=value.rstrip("*"))
        return queryset.filter(action=value)

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(object_repr__icontains=value) | Q(purpose__icontains=value) | Q(object_id=value))

    @property
    def used(self) -> dict[str, str]:
        """The filters that narrowed the rows, as typed (for the audit row and the page)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: str(v) for k, v in self.form.cleaned_data.items() if v not in (None, "")}
