"""Administration in the browser: retailer admins manage their users and stores, police admins their
officers and jurisdictions, platform operators provision tenants (their settings and users, never
their content).

Every page is a ScopedQuerysetMixin view: the role check (403) and the tenant scope (404 for another
tenant's record) come from the base class and the one access policy; the services check again.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views import View
from django.views.generic import FormView, ListView

from accounts import forms_admin as f
from accounts import services, services_sso
from accounts.models import OIDCProvider, Organisation, OrgKind, Role, Store, User
from audit.services import audit_record
from auror import access
from auror.views import ScopedQuerysetMixin

MANAGERS = frozenset({Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR})
STORE_MANAGERS = frozenset({Role.RETAILER_ADMIN, Role.PLATFORM_OPERATOR})
ORG_ADMINS = frozenset({Role.RETAILER_ADMIN, Role.POLICE_ADMIN})
OPERATORS = frozenset({Role.PLATFORM_OPERATOR})


class AdminFormView(ScopedQuerysetMixin, FormView):
    """Form → service → message → redirect. A service's ValidationError goes next to the field it
    names, and an invalid form answers 400 with nothing stored."""

    http_method_names = ["get", "post", "head", "options"]
    error_fields: dict[str, str] = {}  # a service's field name → this form's, where they differ

    def save(self, form):
        raise NotImplementedError

    def success(self, result) -> tuple[str, str]:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            result = self.save(form)
        except ValidationError as e:
            f.add_service_errors(form, e, self.error_fields)
            return self.form_invalid(form)
        message, url = self.success(result)
        messages.success(self.request, message)
        return redirect(url)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _chosen_organisation(request, kinds=None) -> Organisation | None:
    """The organisation a new user or store is for: the admin's own, or for a platform operator the
    one picked (checked against what they may manage). None: the operator has not picked yet."""
    if request.user.role != Role.PLATFORM_OPERATOR:
        return request.user.organisation
    picker = f.OrganisationPickForm(request.GET, actor=request.user, kinds=kinds)
    if not request.GET.get("organisation"):
        return None
    if not picker.is_valid():
        raise Http404("No such organisation.")
    return picker.cleaned_data["organisation"]


# --- users --------------------------------------------------------------------------------------


class UserListView(ScopedQuerysetMixin, ListView):
    model = User
    allowed_roles = MANAGERS
    action = access.MANAGE
    template_name = "accounts/admin/user_list.html"
    paginate_by = 50

    def scope_queryset(self, qs):
        qs = qs.select_related("organisation").prefetch_related("stores")
        g = self.request.GET
        if q := g.get("q", "").strip():
            qs = qs.filter(Q(email__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q))
        if g.get("role") in Role.values:
            qs = qs.filter(role=g["role"])
        if g.get("status") in ("active", "inactive"):
            qs = qs.filter(is_active=g["status"] == "active")
        if g.get("organisation", "").isdigit():
            qs = qs.filter(organisation_id=int(g["organisation"]))
        return qs.order_by("organisation__name", "email")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        user = self.request.user
        g = self.request.GET
        organisation = g.get("organisation", "")
        audit_record(action="user.list", actor=user, detail={
            "q": g.get("q", "").strip(), "role": g.get("role", ""), "status": g.get("status", ""),
            "organisation": int(organisation) if organisation.isdigit() else None,
            "count": ctx["paginator"].count, "page": ctx["page_obj"].number})
        ctx["is_operator"] = user.role == Role.PLATFORM_OPERATOR
        ctx["roles"] = f.role_choices(None if ctx["is_operator"] else user.organisation)
        ctx["show_stores"] = ctx["is_operator"] or user.organisation.kind == OrgKind.RETAILER
        if ctx["is_operator"]:
            ctx["organisations"] = Organisation.objects.visible_to(user, access.MANAGE)
        return ctx


class UserCreateView(AdminFormView):
    model = User
    allowed_roles = MANAGERS
    action = access.MANAGE
    template_name = "accounts/admin/user_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role in MANAGERS:
            self.organisation = _chosen_organisation(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.organisation is None:
            return render(request, "accounts/admin/org_pick.html", {
                "form": f.OrganisationPickForm(actor=request.user), "title": "Add a user",
                "action": reverse("accounts:user_create"),
            })
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.organisation is None:
            raise Http404("Choose an organisation first.")
        return super().post(request, *args, **kwargs)

    def get_form_class(self):
        return f.UserCreateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.organisation, "actor": self.request.user}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "organisation": self.organisation, "creating": True}

    def save(self, form):
        d = form.cleaned_data
        fields = {
            "actor": self.request.user, "organisation": self.organisation, "email": d["email"],
            "role": d["role"], "first_name": d["first_name"], "last_name": d["last_name"],
            "stores": d.get("stores") or [], "sensitive_access": d.get("sensitive_access", False),
        }
        if d["sign_in"] == "invite":
            return services.user_invite(**fields)
        if d["sign_in"] == "password":
            return services.user_create(password=d["password"], **fields), None
        return services.user_create(sso_only=True, **fields), None

    def success(self, result):
        user, url = result
        if url:
            msg = (f"Invitation sent to {user.email}. If it does not arrive, give them this link "
                   f"(it works once): {url}")
        else:
            msg = f"{user.email} can now sign in."
        return msg, reverse("accounts:user_edit", args=[user.pk])


class UserEditView(AdminFormView):
    model = User
    allowed_roles = MANAGERS
    action = access.MANAGE
    template_name = "accounts/admin/user_form.html"
    form_class = f.UserEditForm
    error_fields = {"password": "new_password"}

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role in MANAGERS:
            self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.object, "actor": self.request.user}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "object": self.object, "organisation": self.object.organisation,
                "is_self": self.object.pk == self.request.user.pk}

    def save(self, form):
        d = form.cleaned_data
        changes = {k: d[k] for k in ("first_name", "last_name", "role", "sensitive_access", "sso_only", "stores")
                   if k in form.fields}
        if d.get("new_password"):
            changes["password"] = d["new_password"]
        user, _ = services.user_update(actor=self.request.user, user=self.object, **changes)
        return user

    def success(self, user):
        return f"Saved {user.email}.", reverse("accounts:user_edit", args=[user.pk])


class _UserActiveView(ScopedQuerysetMixin, View):
    model = User
    allowed_roles = MANAGERS
    action = access.MANAGE
    http_method_names = ["post", "options"]
    service = None
    done = ""

    def post(self, request, pk):
        user = self.get_object()
        try:
            type(self).service(actor=request.user, user=user)
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        else:
            messages.success(request, f"{user.email} {self.done}.")
        return redirect("accounts:user_edit", pk=user.pk)


class UserDeactivateView(_UserActiveView):
    service = services.user_deactivate
    done = "is deactivated: they can no longer sign in, and their API tokens stop working"


class UserReactivateView(_UserActiveView):
    service = services.user_reactivate
    done = "is active again"


# --- stores -------------------------------------------------------------------------------------


class StoreListView(ScopedQuerysetMixin, ListView):
    model = Store
    allowed_roles = STORE_MANAGERS
    action = access.MANAGE
    template_name = "accounts/admin/store_list.html"
    paginate_by = 100

    def scope_queryset(self, qs):
        qs = qs.select_related("organisation").annotate(
            staff_count=Count("staff", filter=Q(staff__is_active=True)))
        g = self.request.GET
        if q := g.get("q", "").strip():
            qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(region__iexact=q))
        if g.get("organisation", "").isdigit():
            qs = qs.filter(organisation_id=int(g["organisation"]))
        return qs.order_by("organisation__name", "code")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "is_operator": self.request.user.role == Role.PLATFORM_OPERATOR}


class StoreCreateView(AdminFormView):
    model = Store
    allowed_roles = STORE_MANAGERS
    action = access.MANAGE
    template_name = "accounts/admin/store_form.html"
    form_class = f.StoreForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role in STORE_MANAGERS:
            self.organisation = _chosen_organisation(request, kinds=[OrgKind.RETAILER])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.organisation is None:
            return render(request, "accounts/admin/org_pick.html", {
                "form": f.OrganisationPickForm(actor=request.user, kinds=[OrgKind.RETAILER]),
                "title": "Add a store", "action": reverse("accounts:store_create"),
            })
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.organisation is None:
            raise Http404("Choose an organisation first.")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "organisation": self.organisation, "creating": True}

    def save(self, form):
        d = form.cleaned_data
        return services.store_create(actor=self.request.user, organisation=self.organisation, code=d["code"],
                                     name=d["name"], address=d["address"], region=d["region"],
                                     timezone=d["timezone"], latitude=d["latitude"], longitude=d["longitude"])

    def success(self, store):
        return f"Added store {store.code}.", reverse("accounts:stores")


class StoreEditView(AdminFormView):
    model = Store
    allowed_roles = STORE_MANAGERS
    action = access.CHANGE
    template_name = "accounts/admin/store_form.html"
    form_class = f.StoreForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role in STORE_MANAGERS:
            self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "store": self.object}

    def get_context_data(self, **kwargs):
        staff = User.objects.visible_to(self.request.user, access.MANAGE).filter(stores=self.object, is_active=True)
        return {**super().get_context_data(**kwargs), "object": self.object,
                "organisation": self.object.organisation, "staff": staff}

    def save(self, form):
        d = form.cleaned_data
        store, _ = services.store_update(
            actor=self.request.user, store=self.object, name=d["name"], address=d["address"], region=d["region"],
            timezone=d["timezone"], latitude=d["latitude"], longitude=d["longitude"])
        return store

    def success(self, store):
        return f"Saved store {store.code}.", reverse("accounts:stores")


class _StoreActiveView(ScopedQuerysetMixin, View):
    model = Store
    allowed_roles = STORE_MANAGERS
    action = access.CHANGE
    http_method_names = ["post", "options"]
    service = None
    done = ""

    def post(self, request, pk):
        store = self.get_object()
        type(self).service(actor=request.user, store=store)
        messages.success(request, f"Store {store.code} {self.done}.")
        return redirect("accounts:store_edit", pk=store.pk)


class StoreDeactivateView(_StoreActiveView):
    service = services.store_deactivate
    done = "is closed: its events stay, and it is no longer offered for store staff scope"


class StoreReactivateView(_StoreActiveView):
    service = services.store_reactivate
    done = "is open again"


# --- the admin's own organisation ---------------------------------------------------------------


class OrganisationSettingsView(AdminFormView):
    """Retailer admins: police sharing and opt-ins. Police admins: jurisdictions."""

    model = Organisation
    allowed_roles = ORG_ADMINS
    action = access.MANAGE
    template_name = "accounts/admin/organisation.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role in ORG_ADMINS:
            self.kwargs["pk"] = request.user.organisation_id
            self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self):
        return f.RetailerSettingsForm if self.object.kind == OrgKind.RETAILER else f.JurisdictionsForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.object}

    def get_context_data(self, **kwargs):
        sso = OIDCProvider.objects.visible_to(self.request.user, access.MANAGE).filter(organisation=self.object).first()
        return {**super().get_context_data(**kwargs), "object": self.object, "sso": sso}

    def save(self, form):
        d = form.cleaned_data
        with transaction.atomic():
            org, zone = services.organisation_timezone_update(actor=self.request.user, organisation=self.object,
                                                              timezone=d.get("timezone") or self.object.timezone)
            if self.object.kind == OrgKind.RETAILER:
                org, changes = services.organisation_sharing_update(
                    actor=self.request.user, organisation=org, police_sharing_default=d["police_sharing_default"],
                    police_excluded_agencies=d["police_excluded_agencies"], ctd_opt_in=d["ctd_opt_in"],
                    image_matching_opt_in=d["image_matching_opt_in"])
            else:
                org, changes = services.organisation_jurisdictions_update(actor=self.request.user, organisation=org,
                                                                          jurisdictions=d["jurisdictions"])
        return org, {**zone, **changes}

    def success(self, result):
        org, changes = result
        return ("Settings saved." if changes else "Nothing changed."), reverse("accounts:organisation")


class OIDCProviderView(AdminFormView):
    """The organisation's single sign-on provider: set it up, or change it. Keyed by the organisation
    (one provider each): another organisation's page is a 404, like any record not the admin's."""

    model = Organisation
    allowed_roles = ORG_ADMINS
    action = access.MANAGE
    template_name = "accounts/admin/sso_settings.html"
    form_class = f.OIDCProviderForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role in ORG_ADMINS:
            self.object = self.get_object()
            self.provider = OIDCProvider.objects.visible_to(request.user, access.MANAGE).filter(
                organisation=self.object).first()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "provider": self.provider}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "object": self.object, "provider": self.provider,
                "creating": self.provider is None,
                "callback_url": self.request.build_absolute_uri(reverse("oidc_authentication_callback"))}

    def save(self, form):
        d = {**form.cleaned_data}
        if self.provider is None:
            return services_sso.oidc_provider_create(actor=self.request.user, organisation=self.object, **d)
        if not d["client_secret"]:
            d.pop("client_secret")  # write-only: blank keeps the stored secret
        return services_sso.oidc_provider_update(actor=self.request.user, provider=self.provider, **d)

    def success(self, result):
        _, changes = result
        message = "Single sign-on saved." if changes else "Nothing changed."
        return message, reverse("accounts:sso_settings", args=[self.object.pk])


# --- tenants (platform operators) ---------------------------------------------------------------


class TenantListView(ScopedQuerysetMixin, ListView):
    model = Organisation
    allowed_roles = OPERATORS
    action = access.MANAGE
    template_name = "accounts/admin/tenant_list.html"
    paginate_by = 100

    def scope_queryset(self, qs):
        admins = User.objects.visible_to(self.request.user, access.VIEW).filter(
            organisation=OuterRef("pk"), role__in=list(services.FIRST_ADMIN_ROLE.values())
        ).order_by("date_joined", "pk")
        qs = qs.annotate(
            user_count=Count("users", distinct=True), store_count=Count("stores", distinct=True),
            first_admin=Subquery(admins.values("email")[:1]),
        )
        if self.request.GET.get("kind") in OrgKind.values:
            qs = qs.filter(kind=self.request.GET["kind"])
        return qs.order_by("kind", "name")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "kinds": OrgKind.choices}


class TenantCreateView(AdminFormView):
    model = Organisation
    allowed_roles = OPERATORS
    template_name = "accounts/admin/tenant_form.html"
    form_class = f.TenantCreateForm

    def save(self, form):
        d = form.cleaned_data
        return services.tenant_create(
            actor=self.request.user, slug=d["slug"], name=d["name"], kind=d["kind"], jurisdictions=d["jurisdictions"],
            admin_email=d["admin_email"], admin_first_name=d["admin_first_name"],
            admin_last_name=d["admin_last_name"],
            admin_password=d["admin_password"] if d["admin_sign_in"] == "password" else None)

    def success(self, result):
        org, admin, url = result
        msg = f"Created {org.name} with its first admin {admin.email}."
        if url:
            msg += f" Invitation sent; if it does not arrive, give them this link (it works once): {url}"
        return msg, reverse("accounts:tenant_edit", args=[org.pk])


class TenantEditView(AdminFormView):
    model = Organisation
    allowed_roles = OPERATORS
    action = access.CHANGE
    template_name = "accounts/admin/tenant_detail.html"
    form_class = f.TenantEditForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role in OPERATORS:
            self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.object}

    def get_context_data(self, **kwargs):
        actor = self.request.user
        return {
            **super().get_context_data(**kwargs), "object": self.object,
            "users": User.objects.visible_to(actor, access.MANAGE).filter(organisation=self.object)
            .prefetch_related("stores").order_by("email"),
            "stores": Store.objects.visible_to(actor, access.MANAGE).filter(organisation=self.object),
            "excluded": self.object.police_excluded_agencies.all(),
        }

    def save(self, form):
        d = form.cleaned_data
        org, _ = services.organisation_update(actor=self.request.user, organisation=self.object, name=d["name"],
                                              is_active=d["is_active"])
        return org

    def success(self, org):
        return f"Saved {org.name}.", reverse("accounts:tenant_edit", args=[org.pk])


# --- invitations (public: the signed link is the proof) ----------------------------------------


class InvitationAcceptView(FormView):
    http_method_names = ["get", "post", "head", "options"]
    template_name = "accounts/admin/invite_accept.html"
    form_class = f.InvitationAcceptForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            messages.info(request, "You are already signed in.")
            return redirect("home")
        self.invited = services.user_for_invitation(uidb64=kwargs["uidb64"], token=kwargs["token"])
        if self.invited is None:
            return render(request, "accounts/admin/invite_invalid.html", status=404)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "invited": self.invited}

    def form_valid(self, form):
        try:
            services.user_invitation_accept(user=self.invited, password=form.cleaned_data["password"])
        except ValidationError as e:
            f.add_service_errors(form, e)
            return self.form_invalid(form)
        messages.success(self.request, "Your password is set. Sign in with your email and new password.")
        return redirect_to_login(reverse("home"))

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


urlpatterns = [
    path("users/", UserListView.as_view(), name="users"),
    path("users/new/", UserCreateView.as_view(), name="user_create"),
    path("users/<int:pk>/", UserEditView.as_view(), name="user_edit"),
    path("users/<int:pk>/deactivate/", UserDeactivateView.as_view(), name="user_deactivate"),
    path("users/<int:pk>/reactivate/", UserReactivateView.as_view(), name="user_reactivate"),
    path("stores/", StoreListView.as_view(), name="stores"),
    path("stores/new/", StoreCreateView.as_view(), name="store_create"),
    path("stores/<int:pk>/", StoreEditView.as_view(), name="store_edit"),
    path("stores/<int:pk>/deactivate/", StoreDeactivateView.as_view(), name="store_deactivate"),
    path("stores/<int:pk>/reactivate/", StoreReactivateView.as_view(), name="store_reactivate"),
    path("organisation/", OrganisationSettingsView.as_view(), name="organisation"),
    path("organisation/<int:pk>/sso/", OIDCProviderView.as_view(), name="sso_settings"),
    path("tenants/", TenantListView.as_view(), name="tenants"),
    path("tenants/new/", TenantCreateView.as_view(), name="tenant_create"),
    path("tenants/<int:pk>/", TenantEditView.as_view(), name="tenant_edit"),
    path("invite/<uidb64>/<token>/", InvitationAcceptView.as_view(), name="invite_accept"),
]
