"""Sharing between retailers in the browser: agreements (retailer admins), cross-retailer matches and
disclosure requests (investigators and retailer admins).

Every page is a RoleRequiredMixin / ScopedQuerysetMixin view: the role check (403) and the tenant
scope (404 for another tenant's record) come from the base classes and the one access policy; the
services check again. Forms work without JavaScript; bad input answers 400 naming the field.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from accounts.forms_admin import add_service_errors
from accounts.models import Role
from audit.services import audit_record
from auror import access
from auror.views import RoleRequiredMixin, ScopedQuerysetMixin
from events.selectors import display_timezone
from matching.cross import OPEN, cross_card, cross_cards
from matching.models import Suggestion
from sharing import forms, selectors, services
from sharing.models import Agreement, DisclosureRequest

ADMINS = frozenset({Role.RETAILER_ADMIN})
INVESTIGATING = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN})


def _next_or(request, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


# --- Agreements ----------------------------------------------------------------------------------


class AgreementListView(ScopedQuerysetMixin, TemplateView):
    model = Agreement
    allowed_roles = ADMINS
    template_name = "sharing/agreements.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **selectors.agreements_for(self.request.user),
                "display_tz": display_timezone(self.request.user)}


class AgreementProposeView(ScopedQuerysetMixin, View):
    model = Agreement
    allowed_roles = ADMINS
    http_method_names = ["get", "post", "head", "options"]
    template_name = "sharing/agreement_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": forms.AgreementProposeForm(actor=request.user)})

    def post(self, request):
        form = forms.AgreementProposeForm(request.POST, actor=request.user)
        if form.is_valid():
            try:
                a = services.agreement_propose(actor=request.user, partner=form.cleaned_data["partner"],
                                               regions=form.region_list())
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(request, f"Agreement proposed to {a.partner.name}. Nothing is shared until one of "
                                          f"their admins accepts.")
                return redirect("sharing:agreements")
        return render(request, self.template_name, {"form": form}, status=400)


class AgreementActionView(ScopedQuerysetMixin, View):
    """POST only: accept a proposal made to us, or end (withdraw, turn down, revoke) an agreement."""

    model = Agreement
    allowed_roles = ADMINS
    action = access.CHANGE
    http_method_names = ["post"]
    verb = ""

    def post(self, request, pk: int):
        agreement = self.get_object()
        try:
            if self.verb == "accept":
                a = services.agreement_accept(actor=request.user, agreement=agreement)
                messages.success(request, f"Agreement with {a.retailer.name} accepted: it is in force now.")
            else:
                a = services.agreement_revoke(actor=request.user, agreement=agreement)
                messages.success(request, f"Agreement with {a.other_side(request.user.organisation_id).name} ended.")
        except ValidationError as e:
            ctx = {**selectors.agreements_for(request.user), "action_errors": e.messages,
                   "display_tz": display_timezone(request.user)}
            return render(request, "sharing/agreements.html", ctx, status=400)
        return redirect("sharing:agreements")


# --- Cross-retailer matches ------------------------------------------------------------------------


class CrossMatchListView(RoleRequiredMixin, TemplateView):
    allowed_roles = INVESTIGATING
    template_name = "sharing/cross_matches.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        open_ones = (Suggestion.objects.visible_to(user).filter(other_organisation__isnull=False, status__in=OPEN)
                     .order_by("-score", "-id")[:100])
        cards = cross_cards(user=user, suggestions=list(open_ones))
        audit_record(action="cross_match.list", actor=user, detail={"shown": [c["id"] for c in cards]})
        return {**super().get_context_data(**kwargs), "cards": cards}


def _render_match(request, suggestion: Suggestion, *, form=None, status: int = 200):
    card = cross_card(user=request.user, suggestion=suggestion)
    if card is None:
        raise Http404("No such record.")
    return render(request, "sharing/cross_match.html",
                  {"xcard": card, "request_form": form or forms.DisclosureRequestForm(),
                   "request_open": form is not None}, status=status)


class CrossMatchDetailView(ScopedQuerysetMixin, View):
    model = Suggestion
    allowed_roles = INVESTIGATING
    http_method_names = ["get", "head", "options"]

    def scope_queryset(self, qs):
        return qs.filter(other_organisation__isnull=False)

    def get(self, request, pk: int):
        suggestion = self.get_object()
        audit_record(action="suggestion.view", actor=request.user, obj=suggestion, detail={"cross_retailer": True})
        return _render_match(request, suggestion)


class DisclosureRequestCreateView(CrossMatchDetailView):
    """POST: ask the other participant to disclose their event of this cross-retailer suggestion."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        suggestion = self.get_object()
        form = forms.DisclosureRequestForm(request.POST)
        if form.is_valid():
            try:
                services.disclosure_request_create(actor=request.user, suggestion=suggestion,
                                                   reason=form.cleaned_data["reason"])
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(request, "Disclosure requested. The other participant's investigator will decide; "
                                          "you will see the answer under Disclosures.")
                return redirect(_next_or(request, reverse("sharing:cross_match", args=[suggestion.pk])))
        return _render_match(request, suggestion, form=form, status=400)


# --- Disclosure requests ---------------------------------------------------------------------------


class DisclosureListView(RoleRequiredMixin, TemplateView):
    allowed_roles = INVESTIGATING
    template_name = "sharing/disclosures.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **selectors.disclosures_for(self.request.user),
                "display_tz": display_timezone(self.request.user)}


class DisclosureDetailView(ScopedQuerysetMixin, View):
    """One request. The holding retailer's investigators approve or decline it here (POST)."""

    model = DisclosureRequest
    allowed_roles = INVESTIGATING
    http_method_names = ["get", "post", "head", "options"]
    template_name = "sharing/disclosure.html"

    def _render(self, request, dr, form=None, status=200):
        [row] = selectors.disclosure_rows(request.user,
                                          DisclosureRequest.objects.visible_to(request.user).filter(pk=dr.pk))
        can_decide = row["incoming"] and row["is_pending"]
        return render(request, self.template_name, {
            "r": row, "can_decide": can_decide, "display_tz": display_timezone(request.user),
            "form": form or (forms.DisclosureDecisionForm() if can_decide else None)}, status=status)

    def get(self, request, pk: int):
        dr = self.get_object()
        audit_record(action="disclosure.view", actor=request.user, obj=dr)
        return self._render(request, dr)

    def post(self, request, pk: int):
        self.action = access.CHANGE  # deciding is the holder's: the requester gets 403, others 404
        dr = self.get_object()
        form = forms.DisclosureDecisionForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                if d["decision"] == "approve":
                    services.disclosure_approve(actor=request.user, request=dr, reason=d["reason"], days=d["days"])
                    messages.success(request, "Approved: they can now see this one event.")
                else:
                    services.disclosure_decline(actor=request.user, request=dr, reason=d["reason"])
                    messages.success(request, "Declined. They see your reason, not who decided.")
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                return redirect("sharing:disclosures")
        return self._render(request, dr, form=form, status=400)
