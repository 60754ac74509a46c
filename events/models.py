"""The incident: what happened, where and when, who was involved, what was taken, which vehicles."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import PoliceSharing
from auror.querysets import TenantQuerySet


class EventType(models.TextChoices):
    THEFT = "theft", "Theft"
    BURGLARY = "burglary", "Burglary"
    ROBBERY = "robbery", "Robbery"
    FRAUD = "fraud", "Fraud"
    ASSAULT = "assault", "Assault"
    THREAT = "threat", "Threat"
    ABUSE = "abuse", "Abuse"
    DAMAGE = "damage", "Damage"
    TRESPASS = "trespass", "Trespass"
    ANTISOCIAL = "antisocial", "Anti-social behaviour"
    OTHER = "other", "Other"


class Event(models.Model):
    # No single-column indexes on organisation and store: the (organisation, -occurred_at) and
    # (store, -occurred_at) indexes below serve every lookup by either, and each index is a write
    # on every recorded event.
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="events",
                                     db_index=False)
    store = models.ForeignKey("accounts.Store", on_delete=models.PROTECT, related_name="events", db_index=False)
    # The event's human reference (ACME-000123), from the retailer's own sequence at creation,
    # whatever the channel (events.references); `external_id` is the sender's own id, kept beside it.
    reference = models.CharField(max_length=30, blank=True, db_default="", default="", editable=False)
    external_id = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    type = models.CharField(max_length=20, choices=EventType.choices)
    # Empty means "the retailer's default", resolved by the access policy at query time.
    police_sharing = models.CharField(max_length=20, choices=PoliceSharing.choices, blank=True)
    sensitive = models.BooleanField(default=False)
    sensitive_reason = models.CharField(max_length=100, blank=True)
    prevented = models.BooleanField(default=False, help_text="An offence was stopped before it happened.")
    threatened_violence = models.BooleanField(default=False)
    used_violence = models.BooleanField(default=False)
    weapon = models.CharField(max_length=40, blank=True)
    injury = models.BooleanField(default=False)
    injury_detail = models.CharField(max_length=300, blank=True)
    narrative = models.TextField(max_length=2000, blank=True)
    police_reference = models.CharField(max_length=60, blank=True)
    total_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Idempotency key of the draft or API request that created it: submitting twice creates one event.
    client_key = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-occurred_at"]),
            models.Index(fields=["store", "-occurred_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                condition=~models.Q(external_id=""),
                name="event_external_id_unique_per_org",
            ),
            models.UniqueConstraint(fields=["organisation", "client_key"], name="event_client_key_unique_per_org"),
            models.UniqueConstraint(fields=["organisation", "reference"], condition=~models.Q(reference=""),
                                    name="event_reference_unique_per_org"),
        ]

    def __str__(self) -> str:
        return self.reference or self.external_id or f"Event {self.pk}"

    @property
    def effective_police_sharing(self) -> str:
        return self.police_sharing or self.organisation.police_sharing_default


class PersonRole(models.TextChoices):
    OFFENDER = "offender", "Offender"
    ACCOMPLICE = "accomplice", "Accomplice"
    VICTIM = "victim", "Victim"
    WITNESS = "witness", "Witness"
    OTHER = "other", "Other"


class AgeBand(models.TextChoices):
    UNDER_14 = "0-13", "Under 14"
    B14_17 = "14-17", "14-17"
    B18_24 = "18-24", "18-24"
    B25_34 = "25-34", "25-34"
    B35_44 = "35-44", "35-44"
    B45_54 = "45-54", "45-54"
    B55_64 = "55-64", "55-64"
    B65 = "65+", "65 and over"


class Gender(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    OTHER = "other", "Another gender"
    UNKNOWN = "unknown", "Unknown"


class Build(models.TextChoices):
    SLIM = "slim", "Slim"
    MEDIUM = "medium", "Medium"
    HEAVY = "heavy", "Heavy"
    MUSCULAR = "muscular", "Muscular"


class Descriptor(models.TextChoices):
    """The descriptors of a person with a fixed vocabulary (events.vocabulary reads their synonyms)."""

    BUILD = "build", "Build"
    AGE_BAND = "age_band", "Age band"
    GENDER = "gender", "Gender"
    ROLE = "role", "Role"


class EventPerson(models.Model):
    """A person involved, described by appearance and behaviour only: there is no field for
    ethnicity, skin tone, religion, political affiliation or sexual orientation (DESIGN.md rule 4)."""

    # Looked up by event through the unique (event, ref) index.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="persons", db_index=False)
    ref = models.CharField(max_length=20, help_text="Local to the event, e.g. p1.")
    role = models.CharField(max_length=20, choices=PersonRole.choices, default=PersonRole.OFFENDER)
    name = models.CharField(max_length=120, blank=True)
    aliases = ArrayField(models.CharField(max_length=120), default=list, blank=True)
    age_band = models.CharField(max_length=10, choices=AgeBand.choices, blank=True)
    gender = models.CharField(max_length=10, choices=Gender.choices, blank=True)
    height_cm = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(50), MaxValueValidator(250)]
    )
    build = models.CharField(max_length=10, choices=Build.choices, blank=True)
    hair = models.CharField(max_length=120, blank=True)
    clothing = models.CharField(max_length=300, blank=True)
    marks = models.CharField(max_length=300, blank=True, help_text="Tattoos, scars, piercings.")

    class Meta:
        ordering = ["event_id", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "ref"], name="event_person_ref_unique")]

    def __str__(self) -> str:
        """The name, or a description a reviewer recognises: "unnamed offender (male, 25-34, slim,
        black hoodie)" — never the event's own "p1"."""
        if self.name:
            return self.name
        said = [self.get_gender_display() if self.gender and self.gender != "unknown" else "",
                self.age_band, self.get_build_display() if self.build else "",
                self.clothing.split(",")[0].strip()[:40], self.marks.split(",")[0].strip()[:40]]
        said = [x.lower() if i in (0, 2) else x for i, x in enumerate(said)]
        described = ", ".join(x for x in said if x)
        role = self.get_role_display().lower()
        return f"unnamed {role} ({described})" if described else f"unnamed {role}"


class Product(models.Model):
    """The retailer's catalogue, imported from CSV."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="products")
    sku = models.CharField(max_length=40)
    description = models.CharField(max_length=200)
    unit_value = models.DecimalField(max_digits=10, decimal_places=2)
    barcode = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["description"]
        constraints = [models.UniqueConstraint(fields=["organisation", "sku"], name="product_sku_unique_per_org")]
        indexes = [models.Index(fields=["organisation", "barcode"])]

    def __str__(self) -> str:
        return f"{self.sku} {self.description}"


class EventProduct(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sku = models.CharField(max_length=40, blank=True)
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_value = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["event_id", "id"]
        indexes = [models.Index(fields=["sku"])]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"

    @property
    def line_value(self):
        return self.quantity * self.unit_value


_PLATE_STRIP = re.compile(r"[^A-Z0-9]")


def normalise_plate(plate: str) -> str:
    """Case, spaces and dashes removed: 'abc-123' and 'ABC 123' are the same plate."""
    return _PLATE_STRIP.sub("", (plate or "").upper())


class EventVehicle(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="vehicles")
    plate = models.CharField(max_length=12, blank=True)
    plate_normalised = models.CharField(max_length=12, blank=True)
    make = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=40, blank=True)
    colour = models.CharField(max_length=30, blank=True)
    person = models.ForeignKey(EventPerson, on_delete=models.SET_NULL, null=True, blank=True, related_name="vehicles")

    class Meta:
        ordering = ["event_id", "id"]
        # Equality only (no LIKE on event plates): a plain btree, without the pattern-ops twin.
        indexes = [models.Index(fields=["plate_normalised"], name="events_vehicle_plate_idx")]

    def __str__(self) -> str:
        return self.plate or f"{self.colour} {self.make} {self.model}".strip()


class EventDraft(models.Model):
    """What a user has typed so far, saved as they type; survives a lost connection or closed tab."""

    key = models.UUIDField(default=uuid.uuid4, unique=True)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_drafts")
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)
    event = models.ForeignKey(Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Draft {self.key}"


class ImportJob(models.Model):
    """A bulk import uploaded through the browser, worked through by a Celery job (events.tasks)."""

    class Mode(models.TextChoices):
        KEEP_GOOD = "keep_good", "Keep the good rows, report the refused ones"
        ALL_OR_NOTHING = "all_or_nothing", "All or nothing: any refused row cancels the whole import"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True, max_length=300)
    original_name = models.CharField(max_length=200)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.KEEP_GOOD)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0, help_text="Rows in the file (known once the job starts).")
    processed = models.PositiveIntegerField(default=0, help_text="Rows dealt with and committed so far.")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    # [{"line": 12, "field": "persons.0.clothing", "reason": "..."}], every refused row's every error.
    errors = models.JSONField(default=list, blank=True)
    strict_values = models.BooleanField(default=False, help_text="Refuse a row whose descriptor value is not "
                                                                 "a value, a synonym or an age the rule reads.")
    # [{"line": 12, "field": "persons.0.build", "value": "lanky-ish", "action": "..."}]: every value that
    # could not be read and was left out (not in strict mode, where such a row is refused).
    warnings = models.JSONField(default=list, blank=True)
    # [{"field": "build", "value": "stocky", "maps_to": "heavy", "count": 412}]: values read as a synonym.
    mapped = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True, help_text="Why the whole file was refused, if it was.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.original_name})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0


class DescriptorSynonym(models.Model):
    """A retailer's own word for a descriptor value ("big lad" → heavy), read before the built-in table
    (events/data/descriptor_synonyms.json) for that retailer's imports and API calls only."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=10, choices=Descriptor.choices)
    value = models.CharField(max_length=60, help_text="The word as the retailer's data writes it.")
    normalised = models.CharField(max_length=60, editable=False)
    maps_to = models.CharField(max_length=10, blank=True, help_text="A value of the field; empty: not known.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["field", "normalised"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "field", "normalised"],
                                    name="descriptor_synonym_unique_per_org"),
            models.CheckConstraint(condition=models.Q(field__in=[c.value for c in Descriptor]),
                                   name="descriptor_synonym_field_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.value} → {self.maps_to or 'not known'}"
