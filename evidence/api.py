"""Evidence API: upload (multipart, many files), statements, list per event, detail with custody,
download (streamed, verified), delete. Scoped by the base classes; police callers state a purpose
and a case reference on every request, as for events."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from audit.services import audit_record
from auror import access
from auror.api import ScopedViewSetMixin, problem
from auror.parsers import JSONParser
from events.models import Event
from events.police import police_purpose
from evidence import services
from evidence.models import CustodyEntry, EvidenceItem
from evidence.serializers import (
    EvidenceDetailSerializer,
    EvidenceItemSerializer,
    StatementInput,
    UploadInput,
    UploadOutput,
)
from evidence.upload import install_size_cap
from evidence.views import download_response

POLICE_PARAMS = [
    OpenApiParameter("purpose", str, description="Police callers: why (required for police)."),
    OpenApiParameter("case_reference", str, description="Police callers: the case (required for police)."),
]


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """A download is the file itself, whatever the client's Accept header says."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _EvidenceAPIMixin(ScopedViewSetMixin):
    model = EvidenceItem

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        values, missing = police_purpose(request.user, request.query_params)
        if missing:
            raise exceptions.ValidationError({missing: ["Police requests must state a purpose and a case reference."]})
        self.purpose_text = f"{values['purpose']} (case {values['case_reference']})" if values else ""

    def token_id(self):
        return getattr(self.request.auth, "pk", None)


def _validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


class EventEvidenceViewSet(_EvidenceAPIMixin, viewsets.GenericViewSet):
    """/api/v1/events/{event_id}/evidence/ and /statements/."""

    serializer_class = EvidenceItemSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            install_size_cap(request)  # before DRF or CSRF reads the body
        return super().initialize_request(request, *args, **kwargs)

    def _event(self, wanted: str) -> Event:
        pk = self.kwargs["event_id"]
        event = Event.objects.visible_to(self.request.user, wanted).filter(pk=pk).select_related(
            "store", "organisation").first()
        if event is None:
            if wanted != access.VIEW and Event.objects.visible_to(self.request.user, access.VIEW).filter(pk=pk).exists():
                raise exceptions.PermissionDenied("Your role may not add evidence to this event.")
            raise exceptions.NotFound()
        return event

    def _person(self, event, raw):
        if raw in (None, ""):
            return None
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            raise exceptions.ValidationError({"person": ["Must be the id of a person of this event."]}) from None
        person = event.persons.filter(pk=pk).first()
        if person is None:
            raise exceptions.ValidationError({"person": ["That person is not part of this event."]})
        return person

    @extend_schema(parameters=POLICE_PARAMS, responses=EvidenceItemSerializer(many=True))
    def list(self, request, event_id=None):
        event = self._event(access.VIEW)
        items = self.get_queryset().filter(event=event).select_related("uploaded_by").order_by("created_at", "id")
        page = self.paginate_queryset(items)
        audit_record(action="evidence.list", actor=request.user, obj=event, purpose=self.purpose_text,
                     token_id=self.token_id(), detail={"count": len(page)})
        return self.get_paginated_response(EvidenceItemSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={201: UploadOutput, 400: OpenApiResponse(description="No file was stored; each refused file "
                                                                       "is named with its reason.")},
        description="Upload one or more files (field `files`, repeated). Each file is checked on its own: "
                    "by default good files are stored and refused ones reported in `refused` (201); when "
                    "no file could be stored, or with `atomic=true` when any was refused, the answer is 400 "
                    "and nothing is stored.",
    )
    def create(self, request, event_id=None):
        event = self._event(access.CHANGE)
        person = self._person(event, request.data.get("person"))
        files = request.FILES.getlist("files") + request.FILES.getlist("file")
        atomic = str(request.data.get("atomic", request.query_params.get("atomic", ""))).lower() in ("1", "true", "yes")
        try:
            outcome = services.evidence_upload(actor=request.user, event=event, files=files, person=person,
                                               all_or_nothing=atomic, token_id=self.token_id(),
                                               oversize=getattr(request._request, "evidence_oversize", []))
        except DjangoValidationError as exc:
            raise _validation_error(exc) from None
        refused = [{"file": r.filename, "reason": r.reason, "message": r.message} for r in outcome.refused]
        if not outcome.stored:
            return problem(400, outcome.messages[0] if len(refused) == 1 else
                           f"{len(refused)} files were refused; nothing was stored.",
                           errors={"files": outcome.messages}, refused=refused)
        return Response({"stored": EvidenceItemSerializer(outcome.stored, many=True).data, "refused": refused},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=StatementInput, responses={201: EvidenceDetailSerializer})
    def statement(self, request, event_id=None):
        event = self._event(access.CHANGE)
        data = StatementInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        person = self._person(event, values.pop("person", None))
        try:
            item = services.statement_create(actor=request.user, event=event, person=person,
                                             token_id=self.token_id(), **values)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from None
        return Response(EvidenceDetailSerializer(item).data, status=status.HTTP_201_CREATED)


class EvidenceViewSet(_EvidenceAPIMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """/api/v1/evidence/ (?event=), /api/v1/evidence/{id}/, /api/v1/evidence/{id}/download/."""

    serializer_class = EvidenceItemSerializer
    http_method_names = ["get", "delete", "head", "options"]

    def scope_queryset(self, qs):
        qs = qs.select_related("uploaded_by", "data_key").order_by("-created_at", "-id")
        event = self.request.query_params.get("event")
        if self.action == "list" and event:
            if not event.isdigit():
                raise exceptions.ValidationError({"event": ["Must be an event id."]})
            qs = qs.filter(event_id=int(event))
        return qs

    @extend_schema(parameters=POLICE_PARAMS + [OpenApiParameter("event", int, description="Only this event's.")])
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_record(action="evidence.list", actor=request.user, purpose=self.purpose_text, token_id=self.token_id(),
                     detail={"params": dict(request.query_params.items()), "count": response.data.get("count")})
        return response

    @extend_schema(parameters=POLICE_PARAMS, responses=EvidenceDetailSerializer)
    def retrieve(self, request, pk=None, format=None):
        item = self.get_object()
        services.evidence_viewed(actor=request.user, item=item, purpose=self.purpose_text, token_id=self.token_id())
        custody = CustodyEntry.objects.visible_to(request.user).filter(item=item)
        return Response(EvidenceDetailSerializer(item, context={"custody": custody}).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None, format=None):
        item = self.get_object()
        services.evidence_delete(actor=request.user, item=item, token_id=self.token_id(),
                                 reason=str(request.query_params.get("reason", "")))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=POLICE_PARAMS, responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                                                        409: OpenApiResponse(description="Integrity check failed"),
                                                        410: OpenApiResponse(description="Deleted")})
    @action(detail=True, methods=["get"], content_negotiation_class=IgnoreAcceptNegotiation, url_path="download",
            url_name="download")
    def download(self, request, pk=None, format=None):
        item = self.get_object()
        try:
            chunks = services.evidence_download(actor=request.user, item=item, purpose=self.purpose_text,
                                                token_id=self.token_id())
        except services.EvidenceGone:
            return problem(410, "This evidence file was deleted; its record and chain of custody remain.")
        except services.IntegrityFailed:
            return problem(409, "The stored file does not match the SHA-256 recorded at upload; nothing was sent. "
                                "The failure has been recorded.")
        return download_response(item, chunks)
