"""Person profiles, vehicles and offender groups, made of events that humans linked.

A profile is the set of its members; each member row is there because of one human judgement
(matching.Judgement), so undoing that judgement removes exactly the rows it made (DESIGN.md rule 3).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from auror.querysets import TenantQuerySet


class Profile(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MERGED = "merged", "Merged into another profile"
        DISSOLVED = "dissolved", "Dissolved (no linked people left)"

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="profiles")
    label = models.CharField(max_length=120, blank=True, help_text="Most-seen name, or a reference.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Aggregates recomputed from members by profiles.services.profile_refresh (never edited by hand).
    event_count = models.PositiveIntegerField(default=0)
    store_count = models.PositiveIntegerField(default=0)
    total_loss = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    violence_count = models.PositiveIntegerField(default=0, help_text="Events with violence used or an injury.")
    threat_count = models.PositiveIntegerField(default=0, help_text="Events with violence threatened or a weapon shown.")
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    harm_score = models.FloatField(default=0, db_index=True)
    # Names, aliases, descriptors with counts, stores and the harm score's parts, from the members whose
    # events are not sensitive (what any investigator of the retailer may read). See docs/harm_score.md.
    summary = models.JSONField(default=dict, blank=True)
    # The judgement that started the profile: undoing it dissolves the profile.
    origin = models.ForeignKey("matching.Judgement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-harm_score", "-id"]
        indexes = [models.Index(fields=["organisation", "status", "-harm_score"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """What people call the profile: the name seen most, else what they look like ("Man, 25-34,
        scar left cheek"), from the descriptors seen most; never a bare number."""
        if self.label:
            return self.label
        seen = (self.summary or {}).get("descriptors", {})
        words = [values[0][0] for key in ("Gender", "Age", "Marks", "Hair") if (values := seen.get(key))]
        if words and words[0] in ("Male", "Female"):
            words[0] = {"Male": "Man", "Female": "Woman"}[words[0]]
        return ", ".join(words) if words else f"Unnamed person (profile {self.pk})"


class ProfileMember(models.Model):
    """One event person in one profile, because of one judgement."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="members")
    person = models.OneToOneField("events.EventPerson", on_delete=models.CASCADE, related_name="profile_member")
    judgement = models.ForeignKey("matching.Judgement", on_delete=models.PROTECT, related_name="members")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["profile_id", "id"]

    def __str__(self) -> str:
        return f"{self.person} in {self.profile}"


class ProfileHistory(models.Model):
    """What happened to a profile: created, extended, unlinked, merged, split (who, when, why)."""

    ACTION_LABELS = {
        "created": "Started from two linked events", "extended": "Person linked", "unlinked": "Link undone",
        "merged": "Another profile merged in", "merged_into": "Merged into another profile",
        "unmerged": "Merge undone: taken back out", "merge_undone": "Merge undone", "split": "People split off",
        "split_from": "Split off another profile", "split_undone": "Split undone", "dissolved": "Dissolved",
    }

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(max_length=20)
    # The human judgement behind the change (undoing it reverses what `detail` records).
    judgement = models.ForeignKey("matching.Judgement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.profile_id}"

    @property
    def action_label(self) -> str:
        return self.ACTION_LABELS.get(self.action, self.action.replace("_", " ").capitalize())


class Vehicle(models.Model):
    """A vehicle seen in a retailer's events, identified by its normalised plate."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="vehicles")
    plate_normalised = models.CharField(max_length=12)
    make = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=40, blank=True)
    colour = models.CharField(max_length=30, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    last_seen = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen", "plate_normalised"]
        constraints = [models.UniqueConstraint(fields=["organisation", "plate_normalised"], name="vehicle_plate_unique_per_org")]

    def __str__(self) -> str:
        return self.plate_normalised


class OffenderGroup(models.Model):
    """People who offend together: suggested from co-occurrence, confirmed by a human."""

    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="offender_groups")
    name = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUGGESTED)
    members = models.ManyToManyField(Profile, related_name="groups")
    co_occurrences = models.PositiveIntegerField(default=0, help_text="Events in which members were seen together.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-co_occurrences", "-id"]

    def __str__(self) -> str:
        return self.name or f"Group {self.pk}"
