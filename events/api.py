from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.services import audit_record
from auror.api import ScopedModelViewSet
from events import services
from events.exporter import events_export
from events.interchange import EventInput
from events.models import Event
from events.police import police_purpose
from events.selectors import events_visible
from events.serializers import EventDetailSerializer, EventOutputSerializer

POLICE_PARAMS = [
    OpenApiParameter("purpose", str, description="Police callers: why this search is made (required for police)."),
    OpenApiParameter("case_reference", str, description="Police callers: the case it is for (required for police)."),
]
IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                               description="A UUID; sending the same create twice makes one event.")
STRICT_VALUES = OpenApiParameter(
    "strict_values", bool, description="Refuse (400) a build, age band, gender or role that is neither a value, a "
                                       "synonym nor an age the rule reads; by default it is left out with a warning.")
WARNINGS_NOTE = ("The response carries `warnings`: each descriptor value that was not the field's own, with "
                 "`field` (dotted), `value`, `outcome` (`mapped`: read as `maps_to`; `not_known`: left out) and "
                 "`action` (what was done, in words).")


@extend_schema_view(
    list=extend_schema(parameters=POLICE_PARAMS, responses=EventOutputSerializer(many=True)),
    retrieve=extend_schema(parameters=POLICE_PARAMS, responses=EventDetailSerializer),
    create=extend_schema(parameters=[IDEMPOTENCY, STRICT_VALUES], request=EventInput, responses=EventDetailSerializer,
                         description=WARNINGS_NOTE),
    update=extend_schema(parameters=[STRICT_VALUES], request=EventInput, responses=EventDetailSerializer,
                         description=WARNINGS_NOTE),
    partial_update=extend_schema(parameters=[STRICT_VALUES], request=EventInput, responses=EventDetailSerializer,
                                 description=WARNINGS_NOTE),
)
class EventViewSet(ScopedModelViewSet):
    model = Event
    serializer_class = EventOutputSerializer
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def scope_queryset(self, qs):
        qs = qs.select_related("store", "organisation")
        if self.action == "retrieve":
            qs = qs.prefetch_related("persons", "products", "vehicles")
        return qs

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        values, missing = police_purpose(request.user, request.query_params)
        if missing:
            raise exceptions.ValidationError({missing: ["Police requests must state a purpose and a case reference."]})
        self.stated_purpose = values

    def _purpose_text(self) -> str:
        v = getattr(self, "stated_purpose", {})
        return f"{v['purpose']} (case {v['case_reference']})" if v else ""

    def _token_id(self):
        return getattr(self.request.auth, "pk", None)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_record(action="event.search", actor=request.user, purpose=self._purpose_text(),
                     token_id=self._token_id(), organisation_id=request.user.organisation_id,
                     detail={"params": dict(request.query_params.items()), "count": response.data.get("count")})
        return response

    def retrieve(self, request, *args, **kwargs):
        event = self.get_object()
        audit_record(action="event.view", actor=request.user, obj=event, purpose=self._purpose_text(),
                     token_id=self._token_id(), organisation_id=request.user.organisation_id)
        return Response(EventDetailSerializer(event).data)

    def _validated(self, data, partial_base: Event | None = None) -> tuple[dict, list[dict]]:
        """The validated event and the warnings about its descriptor values (events.vocabulary)."""
        from events.vocabulary import vocabulary_for

        org = request_org = self.request.user.organisation
        if partial_base is not None:
            from events.interchange import event_to_interchange

            merged = event_to_interchange(partial_base)
            merged.update(data)
            data = merged
            org = partial_base.organisation
        if not getattr(request_org, "is_retailer", False):
            raise exceptions.PermissionDenied("Only retailers record events.")
        strict = self.request.query_params.get("strict_values", "").lower() in ("1", "true", "yes", "on")
        warnings: list[dict] = []
        serializer = EventInput(data=data, context={"organisation": org, "vocabulary": vocabulary_for(org),
                                                    "strict_values": strict, "warnings": warnings})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data, warnings

    @staticmethod
    def _with_warnings(event: Event, warnings: list[dict]) -> dict:
        return {**EventDetailSerializer(event).data, "warnings": warnings}

    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        try:
            client_key = uuid.UUID(key) if key else None
        except ValueError as exc:
            raise exceptions.ValidationError({"Idempotency-Key": ["Must be a UUID."]}) from exc
        data, warnings = self._validated(request.data)
        event, created = services.event_submit(actor=request.user, data=data, client_key=client_key, via="api",
                                               token_id=self._token_id())
        return Response(self._with_warnings(event, warnings),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def update(self, request, *args, **kwargs):
        event = self.get_object()
        data, warnings = self._validated(request.data, partial_base=event if kwargs.get("partial") else None)
        event = services.event_update(actor=request.user, event=event, data=data, via="api", token_id=self._token_id())
        return Response(self._with_warnings(event, warnings))

    def destroy(self, request, *args, **kwargs):
        event = self.get_object()
        services.event_delete(actor=request.user, event=event)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[*POLICE_PARAMS, *[OpenApiParameter(k, str) for k in (
            "q", "store", "type", "date_from", "date_to", "prevented", "violence", "value_min", "value_max")]],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
        description="Every event the caller may see (filtered like the list) as interchange JSON Lines, streamed; "
                    "audited as an export.",
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request, *args, **kwargs):
        from events.views_import import EXPORTERS, export_filters, jsonl_response

        if request.user.role not in EXPORTERS:
            raise exceptions.PermissionDenied("Your role may not export events.")
        filters, errors = export_filters(request.user, request.query_params)
        if errors:
            raise exceptions.ValidationError(errors)
        qs = events_visible(user=request.user, filters=filters)
        lines = events_export(actor=request.user, queryset=qs, via="api", purpose=self._purpose_text(),
                              filters=filters, organisation_id=request.user.organisation_id,
                              token_id=self._token_id())
        return jsonl_response(lines, "events")
