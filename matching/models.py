"""Connect the Dots: blocking keys, suggestions, judgements.

Candidates come from BlockingKey rows that share (kind, value) — an indexed lookup whose cost grows
with the number of candidates, not with the number of events. A suggestion only ever proposes; a
Judgement is the human decision, and the only thing that links people (profiles.ProfileMember)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from auror.querysets import TenantQuerySet


class KeyKind(models.TextChoices):
    NAME = "name", "Name (phonetic)"
    NAME_TOKEN = "name_token", "Name token"
    PLATE = "plate", "Plate (OCR-folded)"
    MARK = "mark", "Distinctive mark"
    SKU = "sku", "Product at store in time window"
    DESCRIPTION = "desc", "Description band"
    FACE = "face", "Face embedding LSH band"


class BlockingKey(models.Model):
    # No index of their own on organisation and person: every read is by (kind, value, organisation,
    # person) or by person, which the two indexes below serve; at ten million rows each extra index
    # is paid on every key a new event stores.
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+",
                                     db_index=False)
    person = models.ForeignKey("events.EventPerson", on_delete=models.CASCADE, related_name="blocking_keys",
                               db_index=False)
    # The person's profile, kept in step by linking and unlinking: a hub is a value shared by many
    # *entities*, so a repeat offender's hundred events don't make their own name a hub.
    profile = models.ForeignKey("profiles.Profile", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=KeyKind.choices)
    value = models.CharField(max_length=64)
    # Who the record is, said by its other features (matching.keys.key_signatures): records of one
    # person in no profile that share this value count as one person when they agree on it.
    signature = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # Covering, and in person order: candidate lookup, hub counting and a hub's most recent
            # records read the index alone.
            models.Index(fields=["kind", "value", "organisation", "person"], include=["profile", "signature"],
                         name="blockingkey_lookup_sig"),
            models.Index(fields=["person"], name="blockingkey_person"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class MatchRecord(models.Model):
    """What the matcher compares of an event person, in one row: written with the person's blocking
    keys (from the event, its store, its plates and products), read for every candidate a search
    finds. A candidate then costs one index probe and one page, not a page of each of five tables —
    what keeps a new event's search from slowing as the store grows past the database's memory.
    Derived data: it goes with the person (CASCADE), and is rewritten whenever the keys are."""

    person = models.OneToOneField("events.EventPerson", on_delete=models.CASCADE, primary_key=True, related_name="+")
    organisation_id = models.BigIntegerField()
    event_id = models.BigIntegerField()
    store_id = models.BigIntegerField()
    region = models.CharField(max_length=10, blank=True)
    occurred_at = models.DateTimeField()
    role = models.CharField(max_length=20)
    name = models.CharField(max_length=120, blank=True)
    aliases = ArrayField(models.CharField(max_length=120), default=list, blank=True)
    age_band = models.CharField(max_length=10, blank=True)
    gender = models.CharField(max_length=10, blank=True)
    height_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    build = models.CharField(max_length=10, blank=True)
    hair = models.CharField(max_length=120, blank=True)
    clothing = models.CharField(max_length=300, blank=True)
    marks = models.CharField(max_length=300, blank=True)
    plates = ArrayField(models.CharField(max_length=12), default=list, blank=True,
                        help_text="Normalised plates that count for this person, in recording order.")
    skus = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    companions = ArrayField(models.CharField(max_length=80), default=list, blank=True,
                            help_text="The event's other offenders, by name key and specific mark (records.companion_tokens).")

    def __str__(self) -> str:
        return f"Match record of person {self.person_id}"


class HubKey(models.Model):
    """A blocking-key value shared by many people of a retailer (a hub), with how many: counted over
    the whole table by `refresh_hubs` (after a rematch's keys are stored, and nightly) and when the
    matcher first meets one. Candidate search reads it instead of the key's rows, so a new event's
    cost does not grow with how common its description band, product or surname has become. A count
    over more than a hub cap of people, not anyone's record: when events are deleted the value stays
    until the next count, which drops it once fewer share it (matching.refresh_hubs)."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=KeyKind.choices)
    value = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(help_text="Blocking-key rows with this value (people records).")
    entities = models.PositiveIntegerField(help_text="Profiles, and people in none, with this value.")
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value", "organisation"], name="hubkey_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value} ×{self.entities}"


class MatchSettings(models.Model):
    """Per-retailer matching settings a retailer admin can set."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.CASCADE, related_name="match_settings")
    review_threshold = models.FloatField(default=0.5, help_text="Suggestions at or above this match probability are likely matches.")
    # Below the review threshold, down to this, a suggestion is a possible match: shown after the likely
    # ones, labelled as possible, so that the near misses reach a reviewer too.
    possible_threshold = models.FloatField(default=0.1, help_text="Suggestions below this match probability are not kept.")
    hub_cap = models.PositiveIntegerField(default=50, help_text="A key value shared by more people than this is a hub and is not used.")
    sku_window_days = models.PositiveSmallIntegerField(default=14)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Matching settings of {self.organisation}"


class Suggestion(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        UNSURE = "unsure", "Unsure"
        SUPERSEDED = "superseded", "Superseded"

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="suggestions")
    person = models.ForeignKey("events.EventPerson", on_delete=models.CASCADE, related_name="suggestions")
    target_person = models.ForeignKey("events.EventPerson", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Cross-retailer: the candidate side belongs to another organisation that also opted in.
    other_organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    score = models.FloatField(help_text="Match probability, 0-1.")
    weight = models.FloatField(help_text="Sum of feature weights (log2 Bayes factors) plus the prior.")
    reasons = models.JSONField(default=list, help_text="[{feature, weight, detail}] adding up to the weight.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "-id"]
        indexes = [models.Index(fields=["organisation", "status", "-score"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target_person__isnull=False) | models.Q(target_profile__isnull=False),
                name="suggestion_has_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Suggestion {self.pk} ({self.score:.2f})"


class Judgement(models.Model):
    """A human decision on a pair: who, when, why. Accepting links; undoing unlinks cleanly."""

    class Decision(models.TextChoices):
        ACCEPT = "accept", "Same person"
        REJECT = "reject", "Not the same person"
        UNSURE = "unsure", "Unsure"
        START_PROFILE = "start", "Started a profile"

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="judgements")
    suggestion = models.ForeignKey(Suggestion, on_delete=models.SET_NULL, null=True, blank=True, related_name="judgements")
    # Judgements outlive the people they were about: deleting an event (self-remediation, retention)
    # must not erase the record of who decided what, nor the profile rows other people hold by it.
    person = models.ForeignKey("events.EventPerson", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target_person = models.ForeignKey("events.EventPerson", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target_profile = models.ForeignKey("profiles.Profile", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        """What was decided about whom, in words: "Not the same person: Jon Smith and unnamed
        offender (male, 25-34)" (the audit log's label of the row; who decided is its actor)."""
        # Another retailer's person is never named in this retailer's log or pages.
        people = []
        for name in ("person", "target_person"):
            if getattr(self, f"{name}_id") is None:
                continue
            try:
                p = getattr(self, name)
            except ObjectDoesNotExist:  # not readable here (row-level security): another retailer's
                p = None
            ours = p is not None and p.event.organisation_id == self.organisation_id
            people.append(str(p) if ours else "another retailer's record")
        if not people and self.target_profile_id:
            return f"{self.get_decision_display()}: profile {self.target_profile_id}"
        return f"{self.get_decision_display()}: {' and '.join(people)}" if people else self.get_decision_display()


class RejectedPair(models.Model):
    """Two event people a human said are not the same: never suggested again (ids ordered low, high)."""

    person_low = models.ForeignKey("events.EventPerson", on_delete=models.CASCADE, related_name="+")
    person_high = models.ForeignKey("events.EventPerson", on_delete=models.CASCADE, related_name="+")
    judgement = models.ForeignKey(Judgement, on_delete=models.CASCADE, related_name="rejected_pairs")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person_low", "person_high"], name="rejected_pair_unique")]

    def __str__(self) -> str:
        return f"{self.person_low_id} ≠ {self.person_high_id}"


class MatchState(models.Model):
    """Per event: whether its suggestions are up to date. `rematch` runs the pending and stale ones."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    event = models.OneToOneField("events.Event", on_delete=models.CASCADE, related_name="match_state")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change; a run records the version it saw.")
    done_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.status}"


class FeatureWeight(models.Model):
    """Estimated m and u probabilities per feature comparison level, per retailer (Fellegi–Sunter)."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    feature = models.CharField(max_length=20)
    level = models.CharField(max_length=20)
    m = models.FloatField()
    u = models.FloatField()
    source = models.CharField(max_length=20, default="em", help_text="em, judgements or prior")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "feature", "level"], name="feature_weight_unique")]

    def __str__(self) -> str:
        return f"{self.feature}/{self.level}"
