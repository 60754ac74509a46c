from __future__ import annotations

from django.shortcuts import render
from django.views.generic import DetailView, ListView

from accounts.models import Role, Store
from audit.services import audit_record
from auror import access
from auror.views import RoleRequiredMixin, ScopedQuerysetMixin
from events.forms import EventFilterForm
from events.models import Event, EventType
from events.police import police_purpose
from events.selectors import (
    display_timezone,
    event_detail_parts,
    event_history,
    events_visible,
    list_page,
    list_page_number,
)

EVENT_READERS = frozenset({Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_OFFICER})
RECORDERS = frozenset({Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN})
FILTER_NAMES = ("q", "store", "type", "date_from", "date_to", "prevented", "violence", "value_min", "value_max")


class EventListView(RoleRequiredMixin, ListView):
    """The list and search: its rows come from events.selectors.events_visible, which applies the
    access policy (and the search), not from the scoped base class."""

    model = Event
    allowed_roles = EVENT_READERS
    template_name = "events/event_list.html"
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        self.purpose, self.missing_purpose = police_purpose(request.user, request.GET)
        stores = Store.objects.visible_to(request.user).order_by("code") if request.user.is_retailer_user else []
        self.filter_form = EventFilterForm(request.GET or None, stores=stores)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if self.missing_purpose:
            return Event.objects.none()
        form = self.filter_form
        if form.is_bound:
            form.is_valid()
        filters = form.filters(display_timezone(self.request.user)) if form.is_bound else {}
        self.page_number = list_page_number(self.request.GET.get("page"))
        qs = events_visible(user=self.request.user, filters=filters,
                            search_limit=self.page_number * self.paginate_by + 1).order_by("-occurred_at", "-id")
        purpose = f"{self.purpose['purpose']} (case {self.purpose['case_reference']})" if self.purpose else ""
        audit_record(action="event.search", actor=self.request.user, purpose=purpose, detail={"filters": filters})
        return qs

    def paginate_queryset(self, queryset, page_size):
        """A page without counting every match (events.selectors.ListPage)."""
        page = list_page(queryset, number=getattr(self, "page_number", 1), page_size=page_size)
        return None, page, page.object_list, page.has_next or page.has_previous

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["filter_form"] = self.filter_form
        ctx["filter_controls"] = self.filter_form.controls(with_store=self.request.user.is_retailer_user)
        ctx["types"] = EventType.choices
        ctx["missing_purpose"] = self.missing_purpose
        ctx["is_police"] = bool(self.purpose) or bool(self.missing_purpose)
        ctx["can_record"] = self.request.user.role in RECORDERS
        params = self.request.GET.copy()
        params.pop("page", None)
        ctx["query_without_page"] = params.urlencode()
        ctx["filtered"] = any(self.request.GET.get(k) for k in FILTER_NAMES)
        ctx["more_filters_open"] = any(self.request.GET.get(k) for k in FILTER_NAMES[1:]) or \
            bool(self.filter_form.is_bound and self.filter_form.errors)
        return ctx


class EventDetailView(ScopedQuerysetMixin, DetailView):
    model = Event
    allowed_roles = EVENT_READERS
    template_name = "events/event_detail.html"

    def get(self, request, *args, **kwargs):
        self.purpose, self.missing_purpose = police_purpose(request.user, request.GET)
        if self.missing_purpose:
            self.object = self.get_object_unaudited()
            return render(request, "events/event_detail.html",
                          {"object": None, "missing_purpose": self.missing_purpose}, status=400)
        return super().get(request, *args, **kwargs)

    def get_object_unaudited(self):
        return self.lookup_object()

    def on_read(self, event) -> None:
        purpose = f"{self.purpose['purpose']} (case {self.purpose['case_reference']})" if self.purpose else ""
        audit_record(action="event.view", actor=self.request.user, obj=event, purpose=purpose)
        if self.request.user.organisation_id != event.organisation_id:
            # Seen by another organisation (police, a partner, a disclosure): the holder's own audit
            # log shows it too.
            audit_record(action="event.view", actor=self.request.user, obj=event, purpose=purpose,
                         organisation_id=event.organisation_id)
        return event

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        event, user = self.object, self.request.user
        ctx.update(event_detail_parts(event=event))
        # Who else can see it is the holder's business: not shown to police, partners or requesters.
        own = user.is_retailer_user and user.organisation_id == event.organisation_id
        ctx["audience"] = access.explain_event_audience(event) if own else []
        ctx["can_change"] = user.role in RECORDERS and access.can(user, access.CHANGE, event)
        ctx["can_delete"] = user.role in RECORDERS and access.can(user, access.DELETE, event)
        ctx["history"] = event_history(user=user, event=event)
        ctx["is_police"] = bool(self.purpose)
        ctx["purpose_query"] = self.request.GET.urlencode() if self.purpose else ""
        ctx["event"] = event
        return ctx
