"""API of Connect the Dots across retailers: cross-retailer matches (as the caller may see them) and
disclosure requests. Scoped viewsets: another tenant's record is 404, a role that may not use these
endpoints 403; explicit input and output serializers; errors as problem details naming the field."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import Role
from audit.services import audit_record
from auror import access
from auror.api import ScopedReadOnlyViewSet
from matching.cross import CrossFeatureSerializer, CrossMatchSerializer, CrossSideSerializer, cross_cards
from matching.models import Suggestion
from sharing import selectors, services
from sharing.models import DisclosureRequest
from sharing.services import MAX_DISCLOSURE_DAYS

INVESTIGATING = {Role.INVESTIGATOR, Role.RETAILER_ADMIN}


class InvestigatorsOnly(permissions.BasePermission):
    message = "Only investigators and retailer admins use Connect the Dots across retailers."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.role in INVESTIGATING)


def _field_errors(e: DjangoValidationError) -> ValidationError:
    return ValidationError(e.message_dict if hasattr(e, "error_dict") else {"non_field_errors": e.messages})


def _disclosure_rows(user, pks) -> list[dict]:
    """The requests with these ids as `user` may read them (sharing.selectors.disclosure_rows), newest
    first: re-read through the policy, so a row the user may not see is simply not there."""
    qs = DisclosureRequest.objects.visible_to(user).filter(pk__in=pks).order_by("-created_at", "-id")
    return selectors.disclosure_rows(user, qs)


class DisclosureRequestInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class DisclosureDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "decline"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    days = serializers.IntegerField(min_value=1, max_value=MAX_DISCLOSURE_DAYS, required=False, allow_null=True,
                                    default=None)

    def validate(self, data):
        if data["decision"] == "decline" and not data["reason"].strip():
            raise ValidationError({"reason": "Say why you decline."})
        return data


class DisclosureRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incoming = serializers.BooleanField(help_text="True: your organisation holds the event and decides.")
    status = serializers.CharField()
    state = serializers.CharField()
    counterpart = serializers.CharField(allow_null=True, help_text="The other retailer, when you may know it.")
    requested_by = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField(allow_blank=True)
    mine = CrossSideSerializer(allow_null=True)
    theirs = CrossSideSerializer(allow_null=True)
    features = CrossFeatureSerializer(many=True)


class CrossMatchViewSet(ScopedReadOnlyViewSet):
    """Your retailer's cross-retailer suggestions. The other side's event appears only when the access
    policy lets you see it (a sharing agreement, an approved disclosure); otherwise only the features
    that agreed."""

    model = Suggestion
    permission_classes = [permissions.IsAuthenticated, InvestigatorsOnly]
    serializer_class = CrossMatchSerializer

    def scope_queryset(self, qs):
        return qs.filter(other_organisation__isnull=False).order_by("-score", "-id")

    def list(self, request, *args, **kwargs):
        qs = self.get_queryset()
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        page = self.paginate_queryset(qs)
        cards = cross_cards(user=request.user, suggestions=page)
        audit_record(action="cross_match.list", actor=request.user, detail={"shown": [c["id"] for c in cards]})
        return self.get_paginated_response(CrossMatchSerializer(cards, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        suggestion = self.get_object()
        [card] = cross_cards(user=request.user, suggestions=[suggestion])
        audit_record(action="suggestion.view", actor=request.user, obj=suggestion, detail={"cross_retailer": True})
        return Response(CrossMatchSerializer(card).data)

    @extend_schema(request=DisclosureRequestInput, responses={201: DisclosureRequestOutput})
    @action(detail=True, methods=["post"], url_path="disclosure-request")
    def disclosure_request(self, request, pk=None):
        suggestion = self.get_object()  # VIEW: asking changes nothing of the suggestion
        data = DisclosureRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            dr = services.disclosure_request_create(actor=request.user, suggestion=suggestion,
                                                    reason=data.validated_data["reason"])
        except DjangoValidationError as e:
            raise _field_errors(e) from e
        [row] = _disclosure_rows(request.user, [dr.pk])
        return Response(DisclosureRequestOutput(row).data, status=status.HTTP_201_CREATED)


class DisclosureRequestViewSet(ScopedReadOnlyViewSet):
    """Disclosure requests your retailer made (outgoing) or must decide (incoming: `incoming` true)."""

    model = DisclosureRequest
    permission_classes = [permissions.IsAuthenticated, InvestigatorsOnly]
    serializer_class = DisclosureRequestOutput

    def policy_action(self) -> str:
        return access.CHANGE if getattr(self, "action", None) == "decision" else super().policy_action()

    def scope_queryset(self, qs):
        direction = self.request.query_params.get("direction")
        if direction == "incoming":
            qs = qs.filter(holding_organisation_id=self.request.user.organisation_id)
        elif direction == "outgoing":
            qs = qs.filter(requesting_organisation_id=self.request.user.organisation_id)
        elif direction:
            raise ValidationError({"direction": "Use incoming or outgoing."})
        return qs.order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = _disclosure_rows(request.user, [r.pk for r in page])
        return self.get_paginated_response(DisclosureRequestOutput(rows, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        dr = self.get_object()
        audit_record(action="disclosure.view", actor=request.user, obj=dr)
        [row] = _disclosure_rows(request.user, [dr.pk])
        return Response(DisclosureRequestOutput(row).data)

    @extend_schema(request=DisclosureDecisionInput, responses={200: DisclosureRequestOutput})
    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        dr = self.get_object()  # CHANGE: the holder; the requester gets 403, anyone else 404
        data = DisclosureDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            if d["decision"] == "approve":
                services.disclosure_approve(actor=request.user, request=dr, reason=d["reason"], days=d["days"])
            else:
                services.disclosure_decline(actor=request.user, request=dr, reason=d["reason"])
        except DjangoValidationError as e:
            raise _field_errors(e) from e
        [row] = _disclosure_rows(request.user, [dr.pk])
        return Response(DisclosureRequestOutput(row).data)
