"""Forms of the administration pages. They check the shape of the input; the services check the
rules (a role that fits the organisation, stores of the same retailer, the actor's own tenant)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import (
    ROLES_BY_KIND,
    Organisation,
    OrgKind,
    PoliceSharing,
    Role,
    Store,
    validate_timezone,
)
from auror import access

SIGN_IN_CHOICES = [
    ("invite", "Email them an invitation to choose their own password"),
    ("password", "Set a first password now and give it to them"),
    ("sso", "Single sign-on only (the organisation's identity provider)"),
]


def agency_directory():
    """Police agencies a retailer may exclude from its sharing: names only, no tenant content. Every
    retailer chooses among all of them, so this list is not scoped to the viewer's tenant."""
    return Organisation.objects.unscoped().filter(kind=OrgKind.LAW_ENFORCEMENT, is_active=True).order_by("name")


def role_choices(organisation: Organisation | None) -> list[tuple[str, str]]:
    allowed = ROLES_BY_KIND[organisation.kind] if organisation else set(Role.values)
    return [(value, label) for value, label in Role.choices if value in allowed]


class StoreChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Store) -> str:
        return f"{obj.code} · {obj.name} ({obj.region})"


class StoreScopeMixin(forms.Form):
    """Role, store scope and the sensitive-access grant, for a user of `organisation`."""

    role = forms.ChoiceField(choices=Role.choices)
    stores = StoreChoiceField(
        queryset=Store.objects.none(), required=False,
        help_text="Store staff see and record events only at the stores ticked here.",
    )
    sensitive_access = forms.BooleanField(
        required=False, label="May see sensitive events",
        help_text="Events labelled sensitive (a minor involved, say) are hidden from everyone without this grant.",
    )

    def setup_scope(self, organisation: Organisation | None, actor) -> None:
        self.fields["role"].choices = role_choices(organisation)
        if organisation is None or organisation.kind != OrgKind.RETAILER:
            del self.fields["stores"]
        else:
            # Only the stores the actor may manage, of this organisation: another tenant's store id
            # posted here is "not one of the available choices".
            self.fields["stores"].queryset = Store.objects.visible_to(actor, access.MANAGE).filter(
                organisation=organisation, is_active=True
            )
        if organisation is not None and organisation.kind == OrgKind.PLATFORM:
            del self.fields["sensitive_access"]

    def clean(self):
        data = super().clean()
        if data.get("role") == Role.STORE_STAFF and "stores" in self.fields and not data.get("stores"):
            self.add_error("stores", "Tick at least one store: store staff work at one or more stores.")
        return data


class UserCreateForm(StoreScopeMixin):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    sign_in = forms.ChoiceField(label="How will they sign in?", choices=SIGN_IN_CHOICES, initial="invite",
                                widget=forms.RadioSelect)
    password = forms.CharField(
        label="First password", required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Only when you set a first password: at least 10 characters, not a common one.",
    )

    field_order = ["email", "first_name", "last_name", "role", "stores", "sensitive_access", "sign_in", "password"]

    def __init__(self, *args, organisation: Organisation, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].conditional = True  # required with "set a first password": not "(optional)"
        self.organisation = organisation
        self.setup_scope(organisation, actor)
        if not hasattr(organisation, "oidc"):
            self.fields["sign_in"].choices = SIGN_IN_CHOICES[:2]

    def clean(self):
        data = super().clean()
        if data.get("sign_in") == "password" and not data.get("password"):
            self.add_error("password", "Give a first password, or choose to send an invitation.")
        return data


class UserEditForm(StoreScopeMixin):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    sso_only = forms.BooleanField(required=False, label="Single sign-on only",
                                  help_text="They must sign in through the organisation's identity provider.")
    new_password = forms.CharField(
        label="Set a new password", required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep their password.",
    )

    field_order = ["first_name", "last_name", "role", "stores", "sensitive_access", "sso_only", "new_password"]

    def __init__(self, *args, user, actor, **kwargs):
        kwargs["initial"] = {
            "first_name": user.first_name, "last_name": user.last_name, "role": user.role,
            "stores": list(user.stores.all()), "sensitive_access": user.sensitive_access, "sso_only": user.sso_only,
        }
        super().__init__(*args, **kwargs)
        self.setup_scope(user.organisation, actor)


class OrganisationPickForm(forms.Form):
    """Platform operators choose whose user or store they are adding (a GET form: no JS needed)."""

    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), empty_label="Choose…")

    def __init__(self, *args, actor, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = Organisation.objects.visible_to(actor, access.MANAGE).filter(is_active=True)
        if kinds:
            qs = qs.filter(kind__in=kinds)
        self.fields["organisation"].queryset = qs


class StoreForm(forms.Form):
    code = forms.CharField(max_length=30, help_text="Your own store code, e.g. ACME-017. It cannot change later.")
    name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=300, required=False)
    region = forms.CharField(max_length=10, help_text="The police region code, e.g. AKL, WLG, CHC.")
    timezone = forms.CharField(max_length=64, initial="Pacific/Auckland", help_text="e.g. Pacific/Auckland",
                               validators=[validate_timezone])
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, required=False, min_value=-90, max_value=90)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, required=False, min_value=-180, max_value=180)

    def __init__(self, *args, store: Store | None = None, **kwargs):
        if store is not None:
            kwargs["initial"] = {f: getattr(store, f) for f in
                                 ("code", "name", "address", "region", "timezone", "latitude", "longitude")}
        super().__init__(*args, **kwargs)
        if store is not None:
            self.fields["code"].disabled = True
            self.fields["code"].help_text = "A store's code is its identity in imports and cannot change."


def timezone_choices() -> list[tuple[str, str]]:
    import zoneinfo

    return [(z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones()) if "/" in z and not z.startswith("Etc/")]


class TimezoneField(forms.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=timezone_choices, label="Time zone", help_text=(
            "Times on every page are shown in this zone, named (an event's own time is always its store's)."),
            error_messages={"invalid_choice": "Choose a time zone from the list."}, **kwargs)


class RetailerSettingsForm(forms.Form):
    timezone = TimezoneField(required=False)
    police_sharing_default = forms.ChoiceField(
        label="Share events with police by default", choices=PoliceSharing.choices, widget=forms.RadioSelect,
        help_text="Each event can still choose otherwise when it is recorded.",
    )
    police_excluded_agencies = forms.ModelMultipleChoiceField(
        label="Never share with these agencies", queryset=Organisation.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ctd_opt_in = forms.BooleanField(
        label="Connect the Dots", required=False,
        help_text="Suggest links between events and with other retailers that also opted in.",
    )
    image_matching_opt_in = forms.BooleanField(
        label="Image matching", required=False,
        help_text="Compare faces in still images when suggesting links (needs Connect the Dots).",
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        kwargs["initial"] = {
            "timezone": organisation.timezone,
            "police_sharing_default": organisation.police_sharing_default,
            "police_excluded_agencies": list(organisation.police_excluded_agencies.all()),
            "ctd_opt_in": organisation.ctd_opt_in,
            "image_matching_opt_in": organisation.image_matching_opt_in,
        }
        super().__init__(*args, **kwargs)
        self.fields["police_excluded_agencies"].queryset = agency_directory()

    def clean(self):
        data = super().clean()
        if data.get("image_matching_opt_in") and not data.get("ctd_opt_in"):
            self.add_error("image_matching_opt_in", "Image matching works within Connect the Dots: turn that on too.")
        return data


def parse_region_codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.replace(";", ",").replace(" ", ",").split(",") if c.strip()]


class JurisdictionsForm(forms.Form):
    timezone = TimezoneField(required=False)
    jurisdictions = forms.CharField(
        required=False, max_length=500,
        help_text="The region codes your agency covers, separated by commas, e.g. AKL, WLG.",
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        kwargs["initial"] = {"jurisdictions": ", ".join(organisation.jurisdictions), "timezone": organisation.timezone}
        super().__init__(*args, **kwargs)

    def clean_jurisdictions(self) -> list[str]:
        from accounts.models import validate_region_code

        codes = parse_region_codes(self.cleaned_data["jurisdictions"])
        for code in codes:
            try:
                validate_region_code(code)
            except ValidationError as e:
                raise ValidationError(f"{code!r}: {e.messages[0]}") from None
        return codes


class TenantCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=50, help_text="Short identifier used in files and commands, e.g. acme.")
    kind = forms.ChoiceField(choices=OrgKind.choices, widget=forms.RadioSelect)
    jurisdictions = forms.CharField(required=False, max_length=500,
                                    help_text="Police agencies only: region codes, e.g. AKL, WLG.")
    admin_email = forms.EmailField(label="First admin's email")
    admin_first_name = forms.CharField(label="First admin's first name", max_length=150, required=False)
    admin_last_name = forms.CharField(label="First admin's last name", max_length=150, required=False)
    admin_sign_in = forms.ChoiceField(label="How will the first admin sign in?", choices=SIGN_IN_CHOICES[:2],
                                      initial="invite", widget=forms.RadioSelect)
    admin_password = forms.CharField(label="First admin's password", required=False, strip=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["admin_password"].conditional = True

    def clean_jurisdictions(self) -> list[str]:
        return parse_region_codes(self.cleaned_data["jurisdictions"])

    def clean(self):
        data = super().clean()
        if data.get("admin_sign_in") == "password" and not data.get("admin_password"):
            self.add_error("admin_password", "Give a first password, or choose to send an invitation.")
        if data.get("jurisdictions") and data.get("kind") != OrgKind.LAW_ENFORCEMENT:
            self.add_error("jurisdictions", "Only police agencies have jurisdictions.")
        return data


class TenantEditForm(forms.Form):
    name = forms.CharField(max_length=200)
    is_active = forms.BooleanField(
        label="Active", required=False,
        help_text="An inactive organisation's users cannot sign in and its API tokens stop working.",
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        kwargs["initial"] = {"name": organisation.name, "is_active": organisation.is_active}
        super().__init__(*args, **kwargs)


class OIDCProviderForm(forms.Form):
    """An organisation's single sign-on provider. The client secret is write-only: never put back
    into the page; left blank when changing the provider, the stored one is kept."""

    issuer = forms.URLField(assume_scheme="https", max_length=200,
                            help_text="The provider's issuer, e.g. https://login.example.com/realms/acme.")
    client_id = forms.CharField(label="Client ID", max_length=200)
    client_secret = forms.CharField(
        max_length=300, required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    authorization_endpoint = forms.URLField(
        assume_scheme="https", required=False, max_length=200,
        help_text="Leave this and the three endpoints below blank to read them from the issuer's "
                  "/.well-known/openid-configuration at the first sign-in.")
    token_endpoint = forms.URLField(assume_scheme="https", required=False, max_length=200)
    userinfo_endpoint = forms.URLField(label="Userinfo endpoint", assume_scheme="https", required=False,
                                       max_length=200)
    jwks_uri = forms.URLField(label="JWKS URI", assume_scheme="https", required=False, max_length=200)
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True,
                                 help_text="Your people can sign in through this provider.")
    mfa_at_idp = forms.BooleanField(
        label="MFA done at the provider", required=False,
        help_text="Tick only if the provider enforces multi-factor authentication for every one of your users: "
                  "their sign-ins through it then count as MFA here, and Auror does not ask for its own code.",
    )

    def __init__(self, *args, provider=None, **kwargs):
        if provider is not None:
            kwargs["initial"] = {name: getattr(provider, name) for name in (
                "issuer", "client_id", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                "enabled", "mfa_at_idp")}
        super().__init__(*args, **kwargs)
        secret = self.fields["client_secret"]
        if provider is None:
            secret.required = True
            secret.help_text = "The secret the provider issued for Auror. It is stored, and never shown again."
        else:
            secret.label = "New client secret"
            secret.help_text = ("A secret is stored (it is never shown). Leave this blank to keep it; type a new one "
                                "to replace it.")


class InvitationAcceptForm(forms.Form):
    password = forms.CharField(label="Choose a password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text="At least 10 characters, not a common one.")
    password_again = forms.CharField(label="The same password again", strip=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data


def add_service_errors(form: forms.Form, error: ValidationError, rename: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError next to the field it names (or above the form). `rename` maps
    a service's field name to the form's where they differ."""
    rename = rename or {}
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            name = rename.get(field, field)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
