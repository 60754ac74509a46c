"""Tenants (organisations), their stores, users, roles and API tokens."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

from auror.fields import SealedCharField
from auror.querysets import TenantQuerySet


class OrgKind(models.TextChoices):
    RETAILER = "retailer", "Retailer"
    LAW_ENFORCEMENT = "law_enforcement", "Law-enforcement agency"
    PLATFORM = "platform", "Platform operator"


class PoliceSharing(models.TextChoices):
    ALL = "all", "All agencies"
    JURISDICTION = "jurisdiction", "Agencies whose jurisdiction covers the store"
    INTERNAL = "internal", "Internal only"


class Role(models.TextChoices):
    STORE_STAFF = "store_staff", "Store staff"
    INVESTIGATOR = "investigator", "Investigator"
    RETAILER_ADMIN = "retailer_admin", "Retailer admin"
    POLICE_OFFICER = "police_officer", "Police officer"
    POLICE_ADMIN = "police_admin", "Police admin"
    PLATFORM_OPERATOR = "platform_operator", "Platform operator"


ROLES_BY_KIND = {
    OrgKind.RETAILER: {Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN},
    OrgKind.LAW_ENFORCEMENT: {Role.POLICE_OFFICER, Role.POLICE_ADMIN},
    OrgKind.PLATFORM: {Role.PLATFORM_OPERATOR},
}
# Roles that must use a second factor (issue 2): retailer admins, police, platform operators.
MFA_REQUIRED_ROLES = {Role.RETAILER_ADMIN, Role.POLICE_OFFICER, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR}
# Roles with the short idle timeout.
PRIVILEGED_ROLES = {Role.RETAILER_ADMIN, Role.POLICE_OFFICER, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR}

REGION_CODE_VALIDATOR_MSG = "Region codes are 2-10 letters, digits or dashes, e.g. AKL"


def validate_region_code(value: str) -> None:
    if not value or len(value) > 10 or not all(c.isalnum() or c == "-" for c in value):
        raise ValidationError(REGION_CODE_VALIDATOR_MSG)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Pacific/Auckland)")


class Organisation(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=OrgKind.choices)
    # Retailer settings
    ctd_opt_in = models.BooleanField("Connect the Dots opt-in", default=False)
    image_matching_opt_in = models.BooleanField(default=False)
    police_sharing_default = models.CharField(
        max_length=20, choices=PoliceSharing.choices, default=PoliceSharing.JURISDICTION
    )
    police_excluded_agencies = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="excluded_by_retailers",
        limit_choices_to={"kind": OrgKind.LAW_ENFORCEMENT},
    )
    # Law-enforcement settings: the region codes its jurisdiction covers.
    jurisdictions = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    # The clock its people read: every time that is not an event's (an event's is its store's) is
    # shown in this zone, named (auror.timezones).
    timezone = models.CharField(max_length=64, default="Pacific/Auckland", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retailer(self) -> bool:
        return self.kind == OrgKind.RETAILER

    @property
    def is_police(self) -> bool:
        return self.kind == OrgKind.LAW_ENFORCEMENT


class Store(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="stores")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    region = models.CharField(max_length=10, validators=[validate_region_code])
    timezone = models.CharField(max_length=64, default="Pacific/Auckland", validators=[validate_timezone])
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_active = models.BooleanField(default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organisation_id", "code"]
        constraints = [models.UniqueConstraint(fields=["organisation", "code"], name="store_code_unique_per_org")]
        indexes = [models.Index(fields=["region"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_queryset(self):
        return TenantQuerySet(self.model, using=self._db)

    def visible_to(self, user, action: str = "view"):
        return self.get_queryset().visible_to(user, action)

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("email is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, username=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    email = models.EmailField(unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=30, choices=Role.choices)
    stores = models.ManyToManyField(Store, blank=True, related_name="staff")
    sensitive_access = models.BooleanField(
        default=False, help_text="May see events labelled sensitive (e.g. a minor involved)."
    )
    sso_only = models.BooleanField(default=False, help_text="Must sign in through the organisation's SSO.")
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        if self.organisation_id and self.role and self.role not in ROLES_BY_KIND[self.organisation.kind]:
            raise ValidationError({"role": f"A {self.organisation.get_kind_display()} user cannot be {self.get_role_display()}"})

    @property
    def mfa_required(self) -> bool:
        return self.role in MFA_REQUIRED_ROLES

    @property
    def is_privileged(self) -> bool:
        return self.role in PRIVILEGED_ROLES

    @property
    def is_retailer_user(self) -> bool:
        return self.role in (Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN)

    @property
    def is_police_user(self) -> bool:
        return self.role in (Role.POLICE_OFFICER, Role.POLICE_ADMIN)


class OIDCProvider(models.Model):
    """Single sign-on for one organisation: users are matched by email within it only."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="oidc")
    issuer = models.URLField()
    client_id = models.CharField(max_length=200)
    # Sealed at rest (auror.fields): the database, its replicas and backups never hold it in clear.
    client_secret = SealedCharField(max_length=2000)
    authorization_endpoint = models.URLField(blank=True)
    token_endpoint = models.URLField(blank=True)
    userinfo_endpoint = models.URLField(blank=True)
    jwks_uri = models.URLField(blank=True)
    enabled = models.BooleanField(default=True)
    # Whether this provider is trusted to have done MFA: its sign-ins then count as MFA-verified
    # here. Off by default; an admin turns it on only for an IdP that enforces MFA for every user.
    mfa_at_idp = models.BooleanField(
        "MFA done at the provider", default=False,
        help_text="The provider enforces MFA for all its users: SSO sign-ins skip Auror's own code.",
    )

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"SSO for {self.organisation}"


class ApiToken(models.Model):
    """A personal token (user set) or a service token (user empty): hashed at rest, revocable."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal"
        SERVICE = "service", "Service"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SignInThrottle(models.Model):
    """Failed password sign-ins counted per submitted email that names no active password account
    (an unknown or a disabled one), locked after as many failures and for as long as an account is
    (accounts.backends): the sign-in page answers alike whether or not an account exists, so it
    cannot be used to find out which emails have one. An account's own count stays on the account,
    where wrong second-factor codes add to it too. Not tenant data: read only by the sign-in code,
    before anyone is authenticated."""

    email = models.CharField(max_length=254, unique=True)
    failed_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email}: {self.failed_count}"
