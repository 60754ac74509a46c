"""The scoped base classes cannot be misused (issue 11): a view or viewset that overrides a scoped
lookup fails when its class is created, i.e. at import; the hooks do what the overrides did."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.views.generic import DetailView

from auror.api import ScopedModelViewSet, ScopedReadOnlyViewSet
from auror.views import ScopedQuerysetMixin
from events.models import Event


@pytest.mark.parametrize("name", ["get_queryset", "get_object", "policy_queryset", "lookup_object"])
def test_an_html_view_that_overrides_a_scoped_lookup_fails_at_import(name):
    with pytest.raises(ImproperlyConfigured, match=f"overrides {name}"):
        type("LeakyView", (ScopedQuerysetMixin, DetailView), {"model": Event, name: lambda self, *a, **k: None})


@pytest.mark.parametrize("base", [ScopedModelViewSet, ScopedReadOnlyViewSet])
@pytest.mark.parametrize("name", ["get_queryset", "get_object"])
def test_an_api_viewset_that_overrides_a_scoped_lookup_fails_at_import(base, name):
    with pytest.raises(ImproperlyConfigured, match="scope_queryset"):
        type("LeakyViewSet", (base,), {"model": Event, name: lambda self, *a, **k: None})


def test_a_subclass_of_a_subclass_is_held_to_it_too():
    class Fine(ScopedQuerysetMixin, DetailView):
        model = Event

        def scope_queryset(self, qs):
            return qs.select_related("store")

    with pytest.raises(ImproperlyConfigured):
        type("Leaky", (Fine,), {"get_object": lambda self, queryset=None: None})


@pytest.mark.django_db
def test_get_object_uses_the_views_own_queryset_and_keeps_the_403(world, rf):
    """The old get_object ignored get_queryset(): a select_related added there did nothing, and two
    views that overrode it lost the 403 branch. Now a lookup goes through scope_queryset, and a
    same-tenant user whose role may not change the record gets 403, another tenant 404."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from auror import access
    from tests.profiles.helpers import ANA, record

    event = record(world, persons=[ANA])
    seen = []

    class View(ScopedQuerysetMixin, DetailView):
        model = Event
        action = access.DELETE

        def scope_queryset(self, qs):
            seen.append(qs.model)
            return qs.select_related("store")

        def on_read(self, obj):
            seen.append(obj)

    def lookup(user):
        view = View()
        view.request, view.kwargs = rf.get("/"), {"pk": event.pk}
        view.request.user = user
        return view.get_object()

    assert lookup(world.admin) == event and event in seen and Event in seen
    with pytest.raises(PermissionDenied):
        lookup(world.staff)  # may see it, may not delete it
    with pytest.raises(Http404):
        lookup(world.other_admin)  # another retailer's: as absent as a missing one
