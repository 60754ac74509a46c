from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.response import Response

from audit.services import audit_record
from auror.api import ScopedReadOnlyViewSet
from events.models import Event
from events.police import police_purpose
from events.serializers import EventOutputSerializer

POLICE_PARAMS = [
    OpenApiParameter("purpose", str, description="Police callers: why this search is made (required for police)."),
    OpenApiParameter("case_reference", str, description="Police callers: the case it is for (required for police)."),
]


@extend_schema_view(list=extend_schema(parameters=POLICE_PARAMS), retrieve=extend_schema(parameters=POLICE_PARAMS))
class EventViewSet(ScopedReadOnlyViewSet):
    model = Event
    serializer_class = EventOutputSerializer

    def get_queryset(self):
        return super().get_queryset().select_related("store", "organisation")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        values, missing = police_purpose(request.user, request.query_params)
        if missing:
            raise exceptions.ValidationError({missing: ["Police requests must state a purpose and a case reference."]})
        self.stated_purpose = values

    def _purpose_text(self) -> str:
        v = getattr(self, "stated_purpose", {})
        return f"{v['purpose']} (case {v['case_reference']})" if v else ""

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_record(action="event.search", actor=request.user, purpose=self._purpose_text(),
                     token_id=getattr(request.auth, "pk", None), organisation_id=request.user.organisation_id,
                     detail={"params": {k: v for k, v in request.query_params.items()}, "count": response.data.get("count")})
        return response

    def retrieve(self, request, *args, **kwargs):
        event = self.get_object()
        audit_record(action="event.view", actor=request.user, obj=event, purpose=self._purpose_text(),
                     token_id=getattr(request.auth, "pk", None), organisation_id=request.user.organisation_id)
        return Response(self.get_serializer(event).data)
