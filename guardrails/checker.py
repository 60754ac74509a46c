"""Refusing sensitive characteristics in free text (DESIGN.md rule 4).

    from guardrails.checker import check_text, no_sensitive_characteristics

    check_text("black guy in a grey hoodie", organisation=org)
    # [Finding(phrase='black guy', category='skin_tone', ...)] → finding.message:
    # '"black guy" describes a person by skin colour or ethnicity; describe clothing, build, hair or marks instead.'

    hair = forms.CharField(validators=[no_sensitive_characteristics("Hair", organisation=org)])
    clothing = serializers.CharField(validators=[no_sensitive_characteristics("Clothing")])  # org from context

The lexicon is the platform's entries plus the organisation's own. It is compiled once per lexicon
version and kept in this process: every `RECHECK_SECONDS` (setting GUARDRAILS_LEXICON_RECHECK_SECONDS,
default 5) one indexed query asks whether the organisation's lexicon changed; a change made in this
process is seen at once (the services drop the cached copy). So a 100,000-row import costs one
compile and a query every few seconds, not one per field.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.utils.deconstruct import deconstructible

from guardrails import engine
from guardrails.base_lexicon import base_entries, load_base

log = logging.getLogger(__name__)

__all__ = ["Finding", "check_text", "no_sensitive_characteristics", "findings_message", "lexicon_changed"]


@dataclass(frozen=True)
class Finding:
    phrase: str  # as it appears in the text
    category: str  # guardrails.models.Category value
    reason: str  # "describes a person by skin colour or ethnicity"
    advice: str  # "describe clothing, build, hair or marks instead"
    start: int
    end: int
    term: str  # the lexicon term that matched
    rule: str  # which context made it a refusal
    entry_id: int | None = None

    @property
    def message(self) -> str:
        return f'"{self.phrase}" {self.reason}; {self.advice}.'


# --- the compiled lexicon, per organisation --------------------------------------------------------


@dataclass
class _Cached:
    lexicon: engine.Lexicon
    stamp: tuple
    checked_at: float


_cache: dict[int | None, _Cached] = {}
_lock = threading.Lock()
_vocabulary: engine.Vocabulary | None = None


def _recheck_seconds() -> float:
    return float(getattr(settings, "GUARDRAILS_LEXICON_RECHECK_SECONDS", 5.0))


def _vocab() -> engine.Vocabulary:
    global _vocabulary
    if _vocabulary is None:
        _vocabulary = engine.Vocabulary.from_mapping(load_base()["vocabulary"])
    return _vocabulary


def _scope(org_id: int | None) -> Q:
    q = Q(organisation__isnull=True)
    return q | Q(organisation_id=org_id) if org_id is not None else q


def _stamp(org_id: int | None) -> tuple:
    from guardrails.models import LexiconEntry

    agg = LexiconEntry.objects.filter(_scope(org_id)).aggregate(
        n=Count("id"), active=Count("id", filter=Q(is_active=True)), at=Max("updated_at"),
        platform=Count("id", filter=Q(organisation__isnull=True)))
    return agg["n"], agg["active"], agg["at"], agg["platform"]


def _compile(org_id: int | None, stamp: tuple) -> engine.Lexicon:
    from guardrails.models import LexiconEntry

    rows = list(LexiconEntry.objects.filter(_scope(org_id), is_active=True)
                .values_list("id", "term", "category", "context", "organisation_id"))
    refs = [engine.EntryRef(pk, term, cat, ctx) for pk, term, cat, ctx, _ in rows]
    if stamp[3] == 0:
        # No platform rows at all (a database emptied by a test flush, or never migrated): fail closed on the
        # shipped file rather than refusing nothing.
        log.warning("guardrails: no platform lexicon rows in the database; using %s", "lexicon/base.json")
        refs += [engine.EntryRef(None, e["term"], e["category"], e["context"]) for e in base_entries()]
    return engine.Lexicon.compile(refs, _vocab())


def lexicon_for(organisation=None) -> engine.Lexicon:
    """The compiled lexicon that applies to `organisation` (an Organisation, its id, or None)."""
    org_id = getattr(organisation, "pk", organisation)
    now = time.monotonic()
    hit = _cache.get(org_id)
    if hit is not None and now - hit.checked_at < _recheck_seconds():
        return hit.lexicon
    stamp = _stamp(org_id)
    if hit is not None and hit.stamp == stamp:
        hit.checked_at = now
        return hit.lexicon
    with _lock:
        lexicon = _compile(org_id, stamp)
        _cache[org_id] = _Cached(lexicon, stamp, now)
    return lexicon


def lexicon_changed(organisation_id: int | None = None) -> None:
    """Drop the compiled copies that include this organisation's entries (all of them for a platform change)."""
    with _lock:
        if organisation_id is None:
            _cache.clear()
        else:
            _cache.pop(organisation_id, None)


# --- checking --------------------------------------------------------------------------------------


def _categories() -> dict:
    return load_base()["categories"]


def check_text(text: str, *, organisation=None) -> list[Finding]:
    """Every phrase of `text` that describes a person by ethnicity, skin tone, religion, political
    affiliation or sexual orientation, under the platform lexicon and `organisation`'s own entries."""
    if not text or not text.strip():
        return []
    hits = lexicon_for(organisation).scan(text)
    if not hits:
        return []
    cats = _categories()
    out = []
    for h in hits:
        c = cats.get(h.entry.category, {})
        out.append(Finding(phrase=text[h.start:h.end], category=h.entry.category,
                           reason=c.get("reason", "describes a sensitive characteristic of a person"),
                           advice=c.get("advice", "describe clothing, build, hair or marks instead"),
                           start=h.start, end=h.end, term=h.entry.term, rule=h.rule, entry_id=h.entry.id))
    return out


def findings_message(findings: list[Finding], field_label: str | None = None) -> list[str]:
    """One message per finding; with a field label, each names the field too."""
    if not field_label:
        return [f.message for f in findings]
    return [f'{field_label}: "{f.phrase}" {f.reason}; {f.advice}.' for f in findings]


@deconstructible
class SensitiveCharacteristicsValidator:
    """A field validator for Django forms and DRF serializers.

    In a Django form it raises django's ValidationError (shown at the field). In a DRF serializer it
    raises serializers.ValidationError, which DRF reports under the field's name; the organisation is
    the one given, else the serializer context's "organisation", else the requesting user's."""

    requires_context = True  # DRF passes the serializer field; Django calls it with the value only
    code = "sensitive_characteristic"

    def __init__(self, field_label: str, organisation=None):
        self.field_label = field_label
        self.organisation = organisation

    def _organisation(self, serializer_field):
        if self.organisation is not None or serializer_field is None:
            return self.organisation
        ctx = getattr(serializer_field, "context", {}) or {}
        if ctx.get("organisation") is not None:
            return ctx["organisation"]
        request = ctx.get("request")
        user = getattr(request, "user", None)
        return getattr(user, "organisation_id", None)

    def __call__(self, value, serializer_field=None):
        if not isinstance(value, str):
            return
        findings = check_text(value, organisation=self._organisation(serializer_field))
        if not findings:
            return
        # The message names the phrase and why; the field is named where it is shown (next to the form
        # field, or under its name in an API problem detail), and travels in params for other uses.
        messages = findings_message(findings)
        if serializer_field is not None:
            from rest_framework import serializers

            raise serializers.ValidationError(messages, code=self.code)  # DRF keys it by the field's name
        raise ValidationError([ValidationError(m, code=self.code, params={"field": self.field_label, "phrase": f.phrase})
                               for m, f in zip(messages, findings, strict=True)])

    def __eq__(self, other) -> bool:
        return (isinstance(other, SensitiveCharacteristicsValidator) and other.field_label == self.field_label
                and other.organisation == self.organisation)


def no_sensitive_characteristics(field_label: str, *, organisation=None) -> SensitiveCharacteristicsValidator:
    """A validator refusing sensitive characteristics in a free-text field. Its message names the phrase
    and why ('"black guy" describes a person by skin colour or ethnicity; describe clothing, build, hair
    or marks instead.'); the form shows it at the field, DRF under the field's name, and the error's
    params carry {"field": field_label, "phrase": ...}."""
    return SensitiveCharacteristicsValidator(field_label, organisation)
