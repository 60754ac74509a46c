"""The review queue: suggestions side by side with their explanation, judgements and their undo, and
the retailer admin's matching settings. Views are short: permission (base classes), form, service,
redirect. Every page and action is audited."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from accounts.models import Role, Store
from audit.services import audit_record
from auror import access
from auror.views import RoleRequiredMixin, ScopedQuerysetMixin
from matching.forms import JudgementForm, MatchSettingsForm, QueueFilterForm, UndoForm
from matching.models import Judgement, MatchSettings, Suggestion
from matching.selectors_review import (
    both_sides_visible,
    judgements_visible,
    review_cards,
    review_queue,
    suggestions_visible,
    undoable,
)
from matching.services_review import judgement_record, judgement_undo, match_settings_update

REVIEWERS = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN})
PAGE_SIZE = 20
CROSS_CARD_TEMPLATE = "matching/_cross_retailer_card.html"


def has_cross_card_template() -> bool:
    """Whether the cross-retailer card partial is installed (matching.cross's cards); otherwise the
    queue shows its own minimal "held by another participant" box."""
    try:
        get_template(CROSS_CARD_TEMPLATE)
    except TemplateDoesNotExist:
        return False
    return True


def safe_next(request, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return default


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


class ReviewQueueView(RoleRequiredMixin, View):
    allowed_roles = REVIEWERS

    def get(self, request):
        stores = Store.objects.visible_to(request.user).filter(is_active=True).order_by("code")
        form = QueueFilterForm(request.GET or None, stores=stores)
        filters = form.filters()
        page = Paginator(review_queue(user=request.user, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
        audit_record(action="suggestion.list", actor=request.user,
                     detail={"status": filters["status"], "store": filters["store"].pk if filters["store"] else None,
                             "type": filters["event_type"], "sort": filters["sort"], "retailer": filters["retailer"],
                             "page": page.number})
        params = request.GET.copy()
        params.pop("page", None)
        return render(request, "matching/queue.html", {
            "filter_form": form, "page_obj": page, "cards": review_cards(user=request.user, suggestions=list(page)),
            "query_without_page": params.urlencode(), "has_cross_card": has_cross_card_template(),
            "judgement_form": JudgementForm(), "can_configure": request.user.role == Role.RETAILER_ADMIN,
            "filtered": any(request.GET.get(k) for k in ("store", "type", "status", "sort")),
        })


class SuggestionMixin(ScopedQuerysetMixin):
    model = Suggestion
    allowed_roles = REVIEWERS

    def scope_queryset(self, qs):
        # Both events must be visible too: a sensitive one without the grant is as absent as another tenant's.
        return qs.filter(both_sides_visible(self.request.user))


class SuggestionView(SuggestionMixin, View):
    """One card on its own page (a link from a profile or the judgement history; errors come back here)."""

    def get(self, request, pk):
        return self.render_card(request, self.get_object(), JudgementForm())

    def render_card(self, request, suggestion, form, status=200):
        audit_record(action="suggestion.view", actor=request.user, obj=suggestion)
        history = list(judgements_visible(request.user).filter(suggestion=suggestion).order_by("-at", "-id"))
        return render(request, "matching/suggestion.html", {
            "card": review_cards(user=request.user, suggestions=[suggestion])[0], "judgement_form": form,
            "history": history, "undoable": undoable(history, user=request.user),
            "has_cross_card": has_cross_card_template(),
            "next": safe_next(request, reverse("matching:queue")),
        }, status=status)


class JudgeView(SuggestionView):
    """POST a decision (accept, reject, unsure) with an optional reason."""

    action = access.CHANGE
    http_method_names = ["post"]

    def post(self, request, pk):
        suggestion = self.get_object()
        form = JudgementForm(request.POST)
        if form.is_valid():
            try:
                judgement = judgement_record(actor=request.user, suggestion=suggestion,
                                             decision=form.cleaned_data["decision"], reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                for name, errs in _field_errors(exc).items():
                    for e in errs:
                        form.add_error(name if name in form.fields else None, e)
            else:
                messages.success(request, _judged_message(judgement))
                return redirect(safe_next(request, reverse("matching:queue")))
        return self.render_card(request, suggestion, form, status=400)


BULK_MAX = 100


class BulkRejectView(RoleRequiredMixin, View):
    """POST `ids` (the cards ticked in the queue) and an optional reason: each recorded as "not the
    same person" through judgement_record, all or none (one refused, none stored: 400 naming it)."""

    allowed_roles = REVIEWERS
    http_method_names = ["post"]

    def post(self, request):
        raw = request.POST.getlist("ids")
        back = safe_next(request, reverse("matching:queue"))
        try:
            ids = sorted({int(x) for x in raw})
        except ValueError:
            return self._refuse(request, "ids", "Tick the suggestions to record as not the same person.", back)
        if not ids:
            return self._refuse(request, "ids", "Tick at least one suggestion.", back)
        if len(ids) > BULK_MAX:
            return self._refuse(request, "ids", f"At most {BULK_MAX} at once.", back)
        reason = request.POST.get("reason", "")
        found = {s.pk: s for s in suggestions_visible(request.user, access.CHANGE).filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise Http404("No such suggestion.")
        try:
            with transaction.atomic():
                for i in ids:
                    judgement_record(actor=request.user, suggestion=found[i], decision=Judgement.Decision.REJECT,
                                     reason=reason)
        except ValidationError as exc:
            field, errs = next(iter(_field_errors(exc).items()))
            return self._refuse(request, field if field != "__all__" else "ids", f"Suggestion {i}: {errs[0]}", back)
        messages.success(request, f"Recorded {len(ids)} as not the same person. These pairs will not be suggested "
                                  "again; each can be undone from the judgement history.")
        return redirect(back)

    def _refuse(self, request, field: str, message: str, back: str):
        return render(request, "matching/bulk_refused.html", {"field": field, "message": message, "back": back},
                      status=400)


def _judged_message(j: Judgement) -> str:
    if j.decision == Judgement.Decision.ACCEPT:
        return "Linked: the two events are now in one profile. You can undo this from the judgement history."
    if j.decision == Judgement.Decision.REJECT:
        return "Recorded as not the same person. This pair will not be suggested again."
    return "Marked unsure: it stays in the queue, flagged."


class JudgementListView(RoleRequiredMixin, View):
    allowed_roles = REVIEWERS

    def get(self, request):
        page = Paginator(judgements_visible(request.user).order_by("-at", "-id"), 30).get_page(request.GET.get("page"))
        audit_record(action="judgement.list", actor=request.user, detail={"page": page.number})
        return render(request, "matching/judgements.html", {
            "page_obj": page, "undoable": undoable(list(page), user=request.user), "undo_form": UndoForm()})


class JudgementUndoView(ScopedQuerysetMixin, View):
    model = Judgement
    action = access.CHANGE
    allowed_roles = REVIEWERS
    http_method_names = ["post"]

    def post(self, request, pk):
        judgement = self.get_object()
        if not judgements_visible(request.user).filter(pk=judgement.pk).exists():
            raise Http404("No such judgement.")
        try:
            judgement_undo(actor=request.user, judgement=judgement)
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in _field_errors(exc).values() for m in ms))
            return redirect(safe_next(request, reverse("matching:judgements")))
        messages.success(request, f"Undone: {judgement.get_decision_display().lower()} by {judgement.by.email}. "
                                  "The suggestion is open for review again.")
        return redirect(safe_next(request, reverse("matching:judgements")))


class MatchSettingsView(RoleRequiredMixin, View):
    allowed_roles = frozenset({Role.RETAILER_ADMIN})

    def get(self, request):
        settings = self._settings(request)
        return self._render(request, MatchSettingsForm(initial={"review_threshold": settings.review_threshold}))

    def post(self, request):
        form = MatchSettingsForm(request.POST)
        if form.is_valid():
            try:
                match_settings_update(actor=request.user, review_threshold=form.cleaned_data["review_threshold"])
            except ValidationError as exc:
                for name, errs in _field_errors(exc).items():
                    for e in errs:
                        form.add_error(name if name in form.fields else None, e)
            else:
                messages.success(request, "Review threshold saved.")
                return redirect("matching:settings")
        return self._render(request, form, status=400)

    def _settings(self, request) -> MatchSettings:
        found = MatchSettings.objects.visible_to(request.user).filter(organisation_id=request.user.organisation_id).first()
        return found or MatchSettings(organisation_id=request.user.organisation_id)

    def _render(self, request, form, status=200):
        return render(request, "matching/settings.html", {"form": form, "settings": self._settings(request)},
                      status=status)
