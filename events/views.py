from __future__ import annotations

from django.views.generic import DetailView, ListView

from accounts.models import Role
from audit.services import audit_record
from auror import access
from auror.views import ScopedQuerysetMixin
from events.models import Event, EventType
from events.police import police_purpose
from events.selectors import events_visible

EVENT_READERS = frozenset({Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_OFFICER})


class EventListView(ScopedQuerysetMixin, ListView):
    model = Event
    allowed_roles = EVENT_READERS
    template_name = "events/event_list.html"
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        self.purpose, self.missing_purpose = police_purpose(request.user, request.GET)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if self.missing_purpose:
            return Event.objects.none()
        filters = {k: self.request.GET.get(k, "").strip() for k in ("store", "type", "q")}
        if filters["store"] and not filters["store"].isdigit():
            filters["store"] = ""
        qs = events_visible(user=self.request.user, filters=filters)
        purpose = f"{self.purpose['purpose']} (case {self.purpose['case_reference']})" if self.purpose else ""
        audit_record(action="event.search", actor=self.request.user, purpose=purpose,
                     detail={"filters": {k: v for k, v in filters.items() if v}})
        return qs

    def get_context_data(self, **kwargs):
        from accounts.models import Store

        ctx = super().get_context_data(**kwargs)
        ctx["stores"] = Store.objects.visible_to(self.request.user)
        ctx["types"] = EventType.choices
        ctx["missing_purpose"] = self.missing_purpose
        ctx["is_police"] = bool(self.purpose) or bool(self.missing_purpose)
        return ctx


class EventDetailView(ScopedQuerysetMixin, DetailView):
    model = Event
    allowed_roles = EVENT_READERS
    template_name = "events/event_detail.html"

    def get_object(self, queryset=None):
        event = super().get_object(queryset)
        audit_record(action="event.view", actor=self.request.user, obj=event)
        return event

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["audience"] = access.explain_event_audience(self.object)
        return ctx


