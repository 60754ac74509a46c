"""Profiles, vehicles and offender groups in the browser. Short views on the base classes (another
tenant's record is a 404, a role that may not use the pages a 403); every page view and action audited."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views import View

from accounts.models import Role
from audit.services import audit_record
from auror import access
from auror.views import RoleRequiredMixin, ScopedQuerysetMixin
from events.models import EventPerson
from profiles.forms import GroupDecisionForm, MergeForm, SplitForm
from profiles.models import OffenderGroup, Profile, ProfileMember, Vehicle
from profiles.selectors import HARM_HELP, group_page, profile_list, profile_page, vehicle_page
from profiles.services import offender_group_decide, profile_merge, profile_split

READERS = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN})


def _add_errors(form, exc: ValidationError) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, messages_ in errors.items():
        for m in messages_:
            form.add_error(name if name in form.fields else None, m)


class ProfileListView(RoleRequiredMixin, View):
    allowed_roles = READERS

    def get(self, request):
        q = request.GET.get("q", "")
        page = Paginator(profile_list(user=request.user, q=q), 25).get_page(request.GET.get("page"))
        audit_record(action="profile.list", actor=request.user, detail={"q": q, "page": page.number})
        return render(request, "profiles/profile_list.html", {"page_obj": page, "q": q, "harm_help": HARM_HELP})


class ProfileDetailView(ScopedQuerysetMixin, View):
    model = Profile
    allowed_roles = READERS

    def get(self, request, pk):
        profile = self.get_object()
        if profile.status == Profile.Status.MERGED and profile.merged_into_id and \
                Profile.objects.visible_to(request.user).filter(pk=profile.merged_into_id).exists():
            messages.info(request, f"Profile {profile.pk} was merged into this one.")
            return redirect("profiles:detail", profile.merged_into_id)
        return self.render_page(request, profile)

    def render_page(self, request, profile, *, merge_form=None, split_form=None, status=200):
        audit_record(action="profile.view", actor=request.user, obj=profile)
        ctx = profile_page(user=request.user, profile=profile)
        merge_q = (request.GET.get("merge_q") or request.POST.get("merge_q") or "").strip()[:120]
        picks = []
        if merge_q and profile.status == Profile.Status.ACTIVE:
            # Search and pick the profile to merge into (issue 10): by its label or number, among the
            # active profiles the reviewer may change; never this one.
            found = Profile.objects.visible_to(request.user, access.CHANGE).filter(status=Profile.Status.ACTIVE)
            found = found.filter(pk=int(merge_q)) if merge_q.isdigit() else found.filter(label__icontains=merge_q)
            picks = list(found.exclude(pk=profile.pk).order_by("-harm_score", "-id")[:10])
        ctx.update({
            "profile": profile,
            "merge_q": merge_q, "merge_picks": picks,
            "merge_form": merge_form or MergeForm(),
            "split_form": split_form or SplitForm(members=ctx["members"]),
            "active": profile.status == Profile.Status.ACTIVE,
        })
        return render(request, "profiles/profile_detail.html", ctx, status=status)


class ProfileMergeView(ProfileDetailView):
    action = access.CHANGE
    http_method_names = ["post"]

    def post(self, request, pk):
        profile = self.get_object()
        form = MergeForm(request.POST)
        if form.is_valid():
            target = Profile.objects.visible_to(request.user, access.CHANGE).filter(pk=form.cleaned_data["target"]).first()
            if target is None:
                form.add_error("target", "There is no profile with that number in your organisation.")
            else:
                try:
                    profile_merge(actor=request.user, source=profile, target=target, reason=form.cleaned_data["reason"])
                except ValidationError as exc:
                    _add_errors(form, exc)
                else:
                    messages.success(request, f"Profile {profile.pk} merged into this profile. Undo it from the history.")
                    return redirect("profiles:detail", target.pk)
        return self.render_page(request, profile, merge_form=form, status=400)


class ProfileSplitView(ProfileDetailView):
    action = access.CHANGE
    http_method_names = ["post"]

    def post(self, request, pk):
        profile = self.get_object()
        form = SplitForm(request.POST, members=access.visible(ProfileMember, request.user, access.CHANGE)
                         .filter(profile=profile, person__in=access.visible(EventPerson, request.user, access.VIEW)))
        if form.is_valid():
            try:
                judgement = profile_split(actor=request.user, profile=profile, person_ids=form.cleaned_data["members"],
                                          reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                new = Profile.objects.visible_to(request.user).filter(origin=judgement).first()
                messages.success(request, f"Split off into profile {new.pk}." if new else
                                 "The ticked person was taken out of this profile.")
                profile.refresh_from_db()
                return redirect("profiles:detail", new.pk if new and profile.status != Profile.Status.ACTIVE else profile.pk)
        return self.render_page(request, profile, split_form=form, status=400)


class VehicleListView(RoleRequiredMixin, View):
    allowed_roles = READERS

    def get(self, request):
        from events.models import normalise_plate

        q = normalise_plate(request.GET.get("q", ""))
        qs = Vehicle.objects.visible_to(request.user).order_by("-last_seen", "plate_normalised")
        if q:
            qs = qs.filter(plate_normalised__contains=q)
        page = Paginator(qs, 50).get_page(request.GET.get("page"))
        audit_record(action="vehicle.list", actor=request.user, detail={"q": q, "page": page.number})
        return render(request, "profiles/vehicle_list.html", {"page_obj": page, "q": request.GET.get("q", "")})


class VehicleDetailView(ScopedQuerysetMixin, View):
    model = Vehicle
    allowed_roles = READERS

    def get(self, request, pk):
        vehicle = self.get_object()
        audit_record(action="vehicle.view", actor=request.user, obj=vehicle)
        return render(request, "profiles/vehicle_detail.html",
                      {"vehicle": vehicle, **vehicle_page(user=request.user, vehicle=vehicle)})


GROUP_TABS = [("suggested", "Suggested"), ("confirmed", "Confirmed"), ("rejected", "Rejected")]


class GroupListView(RoleRequiredMixin, View):
    allowed_roles = READERS

    def get(self, request):
        status = request.GET.get("status") if request.GET.get("status") in dict(GROUP_TABS) else "suggested"
        qs = (OffenderGroup.objects.visible_to(request.user).filter(status=status)
              .prefetch_related("members").order_by("-co_occurrences", "-id"))
        page = Paginator(qs, 25).get_page(request.GET.get("page"))
        audit_record(action="offender_group.list", actor=request.user, detail={"status": status, "page": page.number})
        return render(request, "profiles/group_list.html", {"page_obj": page, "status": status, "tabs": GROUP_TABS})


class GroupDetailView(ScopedQuerysetMixin, View):
    model = OffenderGroup
    allowed_roles = READERS

    def get(self, request, pk):
        return self.render_page(request, self.get_object(), GroupDecisionForm())

    def render_page(self, request, group, form, status=200):
        audit_record(action="offender_group.view", actor=request.user, obj=group)
        return render(request, "profiles/group_detail.html",
                      {"group": group, "form": form, **group_page(user=request.user, group=group)}, status=status)


class GroupDecideView(GroupDetailView):
    action = access.CHANGE
    http_method_names = ["post"]

    def post(self, request, pk):
        group = self.get_object()
        form = GroupDecisionForm(request.POST)
        if form.is_valid():
            try:
                offender_group_decide(actor=request.user, group=group, decision=form.cleaned_data["decision"],
                                      name=form.cleaned_data["name"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Group confirmed." if form.cleaned_data["decision"] == "confirmed"
                                 else "Group rejected: it will not be suggested again.")
                return redirect("profiles:group", group.pk)
        return self.render_page(request, group, form, status=400)
