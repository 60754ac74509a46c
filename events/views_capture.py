"""Recording and correcting events in the browser, drafts, and deleting an event.

The form works without JavaScript: repeatable sections render N rows plus "Add another …" buttons
that post the form back with one more row (what was typed is kept, and saved as the draft).
static/js/event_form.js makes it better: rows added in the page, catalogue search, a running total,
drafts saved as the user types (to the server and to the phone), and a submit that waits for the
connection to come back. Validation is events.interchange.EventInput's (through events.forms);
writes are events.services' and events.drafts'.
"""

from __future__ import annotations

import json
import re
import uuid
import zoneinfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from accounts.models import Role, Store
from auror import access
from auror.views import RoleRequiredMixin, ScopedQuerysetMixin
from events import drafts, services
from events.forms import (
    EventFormPage,
    add_row,
    clean_state,
    compact,
    ensure_refs,
    guard_warnings,
    local_input_value,
    nul_errors,
    remove_row,
    state_from_event,
    state_from_post,
    validate,
    without_nul,
)
from events.models import Event, EventDraft, EventType, Product
from events.selectors import display_timezone

RECORDERS = frozenset({Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN})
_PHOTO_KEY = re.compile(r"^persons\.(\d+)\.photos$")
_ROW_REF = re.compile(r"^(persons|products|vehicles)\.(\d+)$")


def with_upload_cap(view_class):
    """Photos arrive with the form: the evidence size cap must be installed before anything reads
    the body, and CSRF reads it, so the view is exempted outside and protected again inside (as
    evidence.views.upload_view does)."""
    from evidence.upload import install_size_cap

    inner = csrf_protect(view_class.as_view())

    @csrf_exempt
    def view(request, *args, **kwargs):
        if request.method == "POST":
            install_size_cap(request)
        return inner(request, *args, **kwargs)

    return view


class EventFormMixin:
    template_name = "events/event_form.html"
    mode = "create"

    def stores(self) -> list[Store]:
        if not hasattr(self, "_stores"):
            self._stores = list(Store.objects.visible_to(self.request.user).filter(is_active=True).order_by("code"))
        return self._stores

    def store_tz(self, code: str) -> zoneinfo.ZoneInfo:
        for store in self.stores():
            if store.code == code:
                try:
                    return zoneinfo.ZoneInfo(store.timezone)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    break
        return display_timezone(self.request.user)

    def fill_from_catalogue(self, state: dict[str, str]) -> dict[str, str]:
        """A SKU typed without description or value gets them from the catalogue, so the running
        total is right even without the page's script."""
        skus = {v.strip() for k, v in state.items() if k.startswith("products.") and k.endswith(".sku") and v.strip()}
        if not skus:
            return state
        catalogue = {p.sku: p for p in Product.objects.visible_to(self.request.user).filter(sku__in=skus)}
        state = dict(state)
        for k, v in list(state.items()):
            if k.startswith("products.") and k.endswith(".sku") and v.strip() in catalogue:
                prefix, item = k[: -len("sku")], catalogue[v.strip()]
                if not state.get(prefix + "description", "").strip():
                    state[prefix + "description"] = item.description
                if not state.get(prefix + "unit_value", "").strip():
                    state[prefix + "unit_value"] = str(item.unit_value)
        return state

    def form_page(self, state, errors, *, new_row=None, photos_chosen=False) -> EventFormPage:
        org = self.request.user.organisation
        tz = self.store_tz(state.get("store", ""))
        choices = [(s.code, f"{s.code} {s.name}") for s in self.stores()]
        event = getattr(self, "object", None)
        if event is not None and event.store.code not in {c for c, _ in choices}:
            choices.insert(0, (event.store.code, f"{event.store.code} {event.store.name}"))
        return EventFormPage(
            state=state, errors=errors, store_choices=choices, tz_name=str(tz), new_row=new_row,
            police_default_label=org.get_police_sharing_default_display().lower(),
            max_when=local_input_value(timezone.now() + timezone.timedelta(minutes=5), tz),
            photos_chosen=photos_chosen)

    def refuse_nul(self, state, **extra):
        """The form again, 400, when a field holds a NUL character: the error on that field, the
        character taken out of what is shown, nothing saved (not even the draft)."""
        errors = nul_errors(state)
        if not errors:
            return None
        return self.render_form(without_nul(state), {k.replace("\x00", ""): v for k, v in errors.items()},
                                status=400, **extra)

    def render_form(self, state, errors=None, *, status=200, new_row=None, photos_chosen=False, **extra):
        page = self.form_page(state, errors or {}, new_row=new_row, photos_chosen=photos_chosen)
        ctx = {"form": page, "mode": self.mode, "types": EventType.choices,
               "tz_name": str(self.store_tz(state.get("store", ""))),
               "search_url": reverse("events:product_search"), **extra}
        return render(self.request, self.template_name, ctx, status=status)

    def photos_by_ref(self, state: dict[str, str]) -> dict[str, list]:
        out: dict[str, list] = {}
        for key in self.request.FILES:
            m = _PHOTO_KEY.match(key)
            files = [f for f in self.request.FILES.getlist(key) if f.name]
            if m and files:
                ref = state.get(f"persons.{m.group(1)}.ref") or f"p{int(m.group(1)) + 1}"
                out.setdefault(ref, []).extend(files)
        return out

    def attach_photos(self, event: Event, photos: dict[str, list]) -> None:
        """Photos chosen for people become evidence on those people (evidence.services)."""
        from evidence.services import evidence_upload

        oversize = list(getattr(self.request, "evidence_oversize", []))
        if not photos and not oversize:
            return
        persons = {p.ref: p for p in event.persons.all()}
        stored = 0
        for n, (ref, files) in enumerate(photos.items()):
            try:
                outcome = evidence_upload(actor=self.request.user, event=event, files=files,
                                          person=persons.get(ref), oversize=oversize if n == 0 else ())
            except (ValidationError, PermissionDenied) as exc:
                text = "; ".join(sum(exc.message_dict.values(), [])) if hasattr(exc, "message_dict") else str(exc)
                messages.error(self.request, f"Photos not added: {text}")
                continue
            stored += len(outcome.stored)
            for message in outcome.messages:
                messages.error(self.request, f"Photo not added: {message}")
        if oversize and not photos:
            for name in oversize:
                messages.error(self.request, f"Photo not added: {name} is too large.")
        if stored:
            messages.success(self.request, f"{stored} photo{'s' if stored != 1 else ''} added to the evidence.")

    def edit_rows(self, state: dict[str, str]):
        """The no-JavaScript row buttons: (state, new row) or None when the post is a submit."""
        post = self.request.POST
        if post.get("add") in ("persons", "products", "vehicles"):
            state, index = add_row(state, post["add"])
            return state, (post["add"], index)
        if m := _ROW_REF.match(post.get("remove", "")):
            return remove_row(state, m.group(1), int(m.group(2))), None
        return None

    def check_store(self, data, errors) -> None:
        store = data["store"]
        event = getattr(self, "object", None)
        moving = event is None or store.pk != event.store_id
        if moving and not access.can_record_event_at(self.request.user, store):
            errors["store"] = [f"You may not record events at {store.code} {store.name}."]


def finished(request, pk: int):
    """Where to go after a save: the event page. The page's script sends the form in the
    background (X-Requested-With: fetch) and is told where to go instead of being redirected, so
    the success message is still there when it gets there."""
    url = reverse("events:detail", args=[pk])
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"redirect": url})
    return redirect(url)


def _draft_key(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


class EventCreateView(EventFormMixin, RoleRequiredMixin, View):
    allowed_roles = RECORDERS
    http_method_names = ["get", "post", "head", "options"]

    def initial_state(self) -> dict[str, str]:
        stores = self.stores()
        state = {"persons.0.ref": "p1", "persons.0.role": "offender", "products.0.quantity": "1"}
        if len(stores) == 1:
            state["store"] = stores[0].code
        state["occurred_at"] = local_input_value(timezone.now(), self.store_tz(state.get("store", "")))
        return state

    def get(self, request):
        key = _draft_key(request.GET.get("draft"))
        state, draft = None, None
        if key is not None:
            draft = drafts.draft_get(user=request.user, key=key)
            if draft is not None and draft.event_id:
                if Event.objects.visible_to(request.user).filter(pk=draft.event_id).exists():
                    messages.info(request, "That draft has already been recorded: here is the event.")
                    return redirect("events:detail", pk=draft.event_id)
                raise Http404("No such draft.")
            if draft is not None:
                state = ensure_refs(dict(draft.data))
            elif not drafts.draft_key_usable(user=request.user, key=key):
                key = None
        key = key or uuid.uuid4()
        return self.render_form(state or self.initial_state(), draft_key=key, draft=draft)

    def post(self, request):
        key = _draft_key(request.POST.get("draft_key"))
        if key is None or not drafts.draft_key_usable(user=request.user, key=key):
            key = uuid.uuid4()
        state = ensure_refs(state_from_post(request.POST))
        if refused := self.refuse_nul(state, draft_key=key):
            return refused
        photos = self.photos_by_ref(state)
        rows = self.edit_rows(state)
        if rows is not None or request.POST.get("action") == "save":
            state, new_row = rows or (state, None)
            state = self.fill_from_catalogue(state)
            saved = self.save_draft(key, state)
            if rows is None and saved:
                messages.success(request, "Draft saved. Find it again under “My drafts”.")
            return self.render_form(state, draft_key=key, new_row=new_row, photos_chosen=bool(photos))
        state = self.fill_from_catalogue(compact(state, keep_refs=set(photos)))
        data, errors = validate(state, organisation=request.user.organisation, tz=self.store_tz(state.get("store", "")))
        if data is not None:
            self.check_store(data, errors)
        if errors:
            self.save_draft(key, state)
            return self.render_form(state, errors, status=400, draft_key=key, photos_chosen=bool(photos))
        event, created = services.event_submit(actor=request.user, data=data, client_key=key, via="form")
        drafts.draft_mark_submitted(user=request.user, key=key, event=event, data=state)
        if created:
            messages.success(request, f"{event.get_type_display()} at {event.store.name} recorded.")
            self.attach_photos(event, photos)
        else:
            messages.info(request, "This event was already recorded (the form was sent twice); nothing was duplicated.")
        return finished(request, event.pk)

    def save_draft(self, key, state) -> bool:
        try:
            drafts.draft_save(user=self.request.user, key=key, data=state)
        except (drafts.DraftSubmitted, drafts.DraftNotYours):
            return False
        return True


class EventEditView(EventFormMixin, ScopedQuerysetMixin, View):
    """Corrections by the author and by investigators (the access policy's "change")."""

    model = Event
    action = access.CHANGE
    allowed_roles = RECORDERS
    mode = "edit"
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request, pk):
        self.object = self.get_object()
        return self.render_form(ensure_refs(state_from_event(self.object)), event=self.object)

    def post(self, request, pk):
        self.object = event = self.get_object()
        state = ensure_refs(state_from_post(request.POST))
        if refused := self.refuse_nul(state, event=event):
            return refused
        photos = self.photos_by_ref(state)
        rows = self.edit_rows(state)
        if rows is not None or request.POST.get("action") == "save":
            state, new_row = rows or (state, None)
            return self.render_form(self.fill_from_catalogue(state), new_row=new_row, event=event,
                                    photos_chosen=bool(photos))
        state = self.fill_from_catalogue(compact(state, keep_refs=set(photos)))
        data, errors = validate(state, organisation=event.organisation, tz=self.store_tz(state.get("store", "")))
        if data is not None:
            self.check_store(data, errors)
        if errors:
            return self.render_form(state, errors, status=400, event=event, photos_chosen=bool(photos))
        data["external_id"] = event.external_id  # not on the form: an imported event keeps its id
        event = services.event_update(actor=request.user, event=event, data=data, via="form")
        messages.success(request, "Your corrections were saved.")
        self.attach_photos(event, photos)
        return finished(request, event.pk)


class EventDeleteView(ScopedQuerysetMixin, View):
    """Self-remediation: retailer admins delete an event and everything attached to it."""

    model = Event
    action = access.DELETE
    allowed_roles = RECORDERS
    http_method_names = ["get", "post", "head", "options"]
    template_name = "events/event_confirm_delete.html"

    def get(self, request, pk):
        event = self.get_object()
        from evidence.models import EvidenceItem

        return render(request, self.template_name, {
            "event": event, "persons": event.persons.count(), "products": event.products.count(),
            "vehicles": event.vehicles.count(),
            "evidence": EvidenceItem.objects.visible_to(request.user).filter(event=event).count()})

    def post(self, request, pk):
        event = self.get_object()
        label = f"{event.get_type_display()} at {event.store.name}"
        services.event_delete(actor=request.user, event=event)
        messages.success(request, f"The event ({label}) and everything attached to it were deleted.")
        return redirect("events:list")


# --- drafts ----------------------------------------------------------------------------------------


class DraftListView(RoleRequiredMixin, View):
    allowed_roles = RECORDERS
    http_method_names = ["get", "head", "options"]

    def get(self, request):
        rows = EventDraft.objects.visible_to(request.user).filter(event__isnull=True).order_by("-updated_at")[:200]
        types = dict(EventType.choices)
        stores = {s.code: s for s in Store.objects.visible_to(request.user)}
        items = []
        for d in rows:
            data = d.data or {}
            names = [v for k, v in data.items() if k.startswith("persons.") and k.endswith(".name") and v]
            products = [v for k, v in data.items() if k.startswith("products.") and k.endswith(".description") and v]
            store = stores.get(data.get("store", ""))
            items.append({"key": d.key, "updated_at": d.updated_at, "type": types.get(data.get("type", ""), ""),
                          "store": f"{store.code} {store.name}" if store else "",
                          "people": ", ".join(names[:3]), "products": ", ".join(products[:3]),
                          "narrative": (data.get("narrative") or "")[:120]})
        return render(request, "events/drafts.html", {"drafts": items, "tz": display_timezone(request.user)})


class DraftSaveView(RoleRequiredMixin, View):
    """POST {"data": {field name: value}} → the user's draft `key` is that state. JSON answers:
    200 {"saved", "updated_at", "warnings"} (warnings: a guarded field's refusal, shown at the
    field as the user types), 409 {"event_url"} once the draft is an event, 404 for another's key."""

    allowed_roles = RECORDERS
    http_method_names = ["post", "options"]

    def post(self, request, key):
        if len(request.body) > 256 * 1024:
            return JsonResponse({"error": "The draft is too large."}, status=413)
        try:
            data = clean_state(json.loads(request.body or b"{}").get("data"))
        except (ValueError, AttributeError):
            return JsonResponse({"error": "Send {\"data\": {field name: value}} as JSON."}, status=400)
        if errors := nul_errors(data):
            field = next(iter(errors))
            return JsonResponse({"error": f"{field}: {errors[field][0]}", "field": field, "errors": errors}, status=400)
        try:
            draft = drafts.draft_save(user=request.user, key=key, data=data)
        except drafts.DraftNotYours as exc:
            raise Http404("No such draft.") from exc
        except drafts.DraftSubmitted as exc:
            url = reverse("events:detail", args=[exc.event.pk]) if exc.event else reverse("events:list")
            return JsonResponse({"error": str(exc), "event_url": url}, status=409)
        return JsonResponse({"saved": True, "updated_at": draft.updated_at.isoformat(),
                             "warnings": guard_warnings(data, organisation=request.user.organisation)})


class DraftDiscardView(RoleRequiredMixin, View):
    allowed_roles = RECORDERS
    http_method_names = ["post", "options"]

    def post(self, request, key):
        if not drafts.draft_discard(user=request.user, key=key):
            raise Http404("No such draft.")
        messages.success(request, "The draft was discarded.")
        return redirect("events:drafts")
