"""The lexicon of sensitive characteristics, kept as data (issue 3, DESIGN.md rule 4).

Platform entries (no organisation) come from the versioned file guardrails/lexicon/base.json; a
retailer admin adds their own entries (and disables them) on the Lexicon page. Entries are never
deleted, only disabled, so the audit log always points at a row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from auror.querysets import TenantQuerySet
from guardrails import engine


class Category(models.TextChoices):
    ETHNICITY = "ethnicity", "Ethnicity, race or national origin"
    SKIN_TONE = "skin_tone", "Skin tone"
    RELIGION = "religion", "Religion"
    POLITICS = "politics", "Political affiliation"
    SEXUAL_ORIENTATION = "sexual_orientation", "Sexual orientation"


class Context(models.TextChoices):
    """When a match is refused; see guardrails.engine for how each is read."""

    ALWAYS = engine.ALWAYS, "Always refused"
    DESCRIPTOR = engine.DESCRIPTOR, "When it describes a person (not a product, food, design or language)"
    PERSON = engine.PERSON, "Before a person word or skin, or said of a person (like colour words)"
    SKIN = engine.SKIN, "Only with skin or complexion"
    AFFILIATION = engine.AFFILIATION, "Only with supporter, voter, member, party, or after votes/supports"
    LABEL = engine.LABEL, "As a form label with a value (“race: …”, “religion - …”)"
    EXCEPTION = engine.EXCEPTION, "Allowed phrase: a brand, name or product that is not a description of a person"


class LexiconEntry(models.Model):
    organisation = models.ForeignKey("accounts.Organisation", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="lexicon_entries",
                                     help_text="Empty for the platform lexicon; else the retailer that added it.")
    term = models.CharField(max_length=80, help_text="A word or phrase; a trailing * matches any ending.")
    normalised = models.CharField(max_length=80, editable=False)
    category = models.CharField(max_length=20, choices=Category.choices)
    context = models.CharField(max_length=12, choices=Context.choices)
    note = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["category", "normalised"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "normalised", "context"], nulls_distinct=False,
                                    name="guardrails_entry_unique_per_org"),
            models.CheckConstraint(condition=models.Q(category__in=[c.value for c in Category]),
                                   name="guardrails_entry_category_valid"),
            models.CheckConstraint(condition=models.Q(context__in=[c.value for c in Context]),
                                   name="guardrails_entry_context_valid"),
        ]
        indexes = [models.Index(fields=["organisation", "is_active"])]

    def __str__(self) -> str:
        return f"{self.term} ({self.get_category_display()}, {self.context})"

    @property
    def is_platform(self) -> bool:
        return self.organisation_id is None


def normalise_term(term: str) -> str:
    """The comparable form of a term: folded case and accents, hyphens and runs of spaces as one space."""
    stripped = term.strip()
    wildcard = stripped.endswith("*")
    words = [t.norm + ("'s" if t.poss == "s" else "") if t.word else t.norm
             for t in engine.tokenize(stripped.rstrip("*"))]
    return " ".join(w for w in words if w != "-") + ("*" if wildcard else "")
