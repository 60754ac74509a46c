"""Writes to the lexicon: a retailer admin adds and disables their organisation's entries; the platform
entries are synced from guardrails/lexicon/base.json. Keyword-only, atomic, audited in the same
transaction; the compiled lexicon of the organisation is dropped so the next check uses the change."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import OrgKind, Role
from audit.services import audit_record
from auror import access
from guardrails import engine
from guardrails.base_lexicon import base_entries, base_version, load_base
from guardrails.checker import lexicon_changed
from guardrails.models import Category, Context, LexiconEntry, normalise_term

_ALLOWED_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789 '&*")


def _changed(organisation_id: int | None) -> None:
    lexicon_changed(organisation_id)  # now, for checks later in this transaction
    transaction.on_commit(lambda: lexicon_changed(organisation_id))  # and after, for checks that raced it


def _common_words() -> frozenset[str]:
    v = load_base()["vocabulary"]
    keys = ("person_nouns", "clothing_nouns", "product_nouns", "body_nouns", "copulas", "subjects", "function_words",
            "verbs", "colours", "modifiers")
    return frozenset(engine.fold(w) for k in keys for w in v.get(k, ()))


def _validate(*, organisation, term: str, category: str, context: str, note: str) -> tuple[str, str, str]:
    term = " ".join((term or "").split())
    errors: dict[str, list[str]] = {}
    normalised = normalise_term(term) if term else ""
    words = [w for w in normalised.rstrip("*").split() if w not in ("&",)]
    if not term:
        errors["term"] = ["Enter a word or phrase."]
    elif len(term) > 80:
        errors["term"] = ["Keep it to 80 characters."]
    elif not set(normalised) <= _ALLOWED_CHARS or not any(c.isalpha() for c in normalised):
        errors["term"] = ["Use letters, digits, spaces, hyphens and apostrophes only (and * at the end of a word)."]
    elif "*" in normalised.rstrip("*") or (normalised.endswith("*") and (len(words) != 1 or len(words[0]) < 3)):
        errors["term"] = ["A * may only end a single word of at least 3 letters, as in “islamo*”."]
    if category not in Category.values:
        errors["category"] = ["Choose a category."]
    if context not in Context.values:
        errors["context"] = ["Choose when it is refused."]
    if len(note or "") > 200:
        errors["note"] = ["Keep the note to 200 characters."]
    if "term" not in errors and context in Context.values:
        common = _common_words()
        if context != Context.EXCEPTION and len(words) == 1 and words[0].rstrip("*") in common:
            errors["term"] = [f"“{term}” is an everyday word that ordinary descriptions need; add it as part of a "
                              "longer phrase, or choose a narrower context."]
        if context == Context.EXCEPTION:
            errors.update(_exception_errors(organisation, term, words))
    if not errors:
        dupe = LexiconEntry.objects.filter(normalised=normalised, context=context, is_active=True).filter(
            organisation__isnull=True).exists() or LexiconEntry.objects.filter(
            normalised=normalised, context=context, organisation=organisation).exists()
        if dupe:
            errors["term"] = [f"“{term}” is already in the lexicon with that context."]
    if errors:
        raise ValidationError(errors)
    return term, normalised, note or ""


def _exception_errors(organisation, term: str, words: list[str]) -> dict[str, list[str]]:
    """An allowed phrase must name a thing (a brand, a product): it may not itself describe a person,
    or it would let through what the platform lexicon refuses ("black guy" as an "exception")."""
    from guardrails.checker import lexicon_for

    v = load_base()["vocabulary"]
    people = {engine.fold(w) for k in ("person_nouns", "body_nouns", "appearance_nouns", "copulas", "subjects",
                                        "speech_verbs", "vote_verbs", "affiliation_heads") for w in v.get(k, ())}
    if len(words) < 2:
        return {"term": ["An allowed phrase needs at least two words (a brand or product name), so the "
                         "sensitive word on its own is still refused."]}
    if any(w in people or w.rstrip("s") in people for w in words):
        return {"term": [f"“{term}” describes a person; an allowed phrase must name a thing, such as a brand."]}
    lexicon = lexicon_for(organisation)
    if all(lexicon._match_at(engine.tokenize(w), 0) is not None for w in words if w != "&"):
        return {"term": ["An allowed phrase must contain an ordinary word (like “Dior” in “Christian Dior”)."]}
    return {}


def _require_admin(actor, organisation) -> None:
    if (getattr(actor, "role", None) != Role.RETAILER_ADMIN or organisation is None
            or actor.organisation_id != organisation.pk or organisation.kind != OrgKind.RETAILER):
        raise PermissionDenied("Only a retailer admin may change their organisation's lexicon.")


@transaction.atomic
def lexicon_entry_add(*, actor, organisation, term: str, category: str, context: str, note: str = "") -> LexiconEntry:
    """A retailer's own entry, refused from then on in that retailer's free text only."""
    _require_admin(actor, organisation)
    term, normalised, note = _validate(organisation=organisation, term=term, category=category, context=context,
                                       note=note)
    entry = LexiconEntry.objects.create(organisation=organisation, term=term, normalised=normalised,
                                        category=category, context=context, note=note, created_by=actor)
    audit_record(action="lexicon.entry_added", actor=actor, obj=entry,
                 detail={"term": term, "category": category, "context": context})
    _changed(organisation.pk)
    return entry


def _set_active(actor, entry: LexiconEntry, active: bool) -> LexiconEntry:
    entry = LexiconEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.organisation_id is None or not access.can(actor, access.CHANGE, entry):
        raise PermissionDenied("Only a retailer admin may change their organisation's own entries.")
    if entry.is_active == active:
        return entry
    entry.is_active = active
    entry.save(update_fields=["is_active", "updated_at"])
    audit_record(action="lexicon.entry_enabled" if active else "lexicon.entry_disabled", actor=actor, obj=entry,
                 detail={"term": entry.term})
    _changed(entry.organisation_id)
    return entry


@transaction.atomic
def lexicon_entry_disable(*, actor, entry: LexiconEntry) -> LexiconEntry:
    return _set_active(actor, entry, False)


@transaction.atomic
def lexicon_entry_enable(*, actor, entry: LexiconEntry) -> LexiconEntry:
    if LexiconEntry.objects.filter(organisation_id=entry.organisation_id, normalised=entry.normalised,
                                   context=entry.context, is_active=True).exclude(pk=entry.pk).exists():
        raise ValidationError({"term": ["An active entry with the same term and context exists."]})
    return _set_active(actor, entry, True)


@transaction.atomic
def sync_platform_lexicon(*, entry_model=None) -> dict[str, int]:
    """Make the platform rows (organisation empty) match base.json: add new terms, re-enable listed ones,
    disable those no longer listed. Idempotent. `entry_model` is the historical model in a migration."""
    model = entry_model or LexiconEntry
    # An early migration's model may not know a context added later (0002 runs before 0003 adds "label"):
    # those entries wait for the migration that adds the context, which syncs again.
    known_contexts = {c for c, _ in model._meta.get_field("context").choices}
    wanted = {}
    for e in base_entries():
        if e["context"] not in known_contexts:
            continue
        key = (normalise_term(e["term"]), e["context"])
        wanted.setdefault(key, e)
    existing = {(r.normalised, r.context): r for r in model.objects.filter(organisation__isnull=True)}
    added = updated = disabled = 0
    for key, e in wanted.items():
        row = existing.get(key)
        if row is None:
            model.objects.create(organisation=None, term=e["term"], normalised=key[0], category=e["category"],
                                 context=e["context"], note=e["note"], is_active=True)
            added += 1
        elif (not row.is_active or row.category != e["category"] or row.note != e["note"]):
            row.is_active, row.category, row.note = True, e["category"], e["note"]
            row.save(update_fields=["is_active", "category", "note", "updated_at"])
            updated += 1
    for key, row in existing.items():
        if key not in wanted and row.is_active:
            row.is_active = False
            row.save(update_fields=["is_active", "updated_at"])
            disabled += 1
    if entry_model is None:
        if added or updated or disabled:
            audit_record(action="lexicon.platform_synced", actor_email="system:lexicon_sync",
                         detail={"version": base_version(), "added": added, "updated": updated, "disabled": disabled})
        _changed(None)
    return {"added": added, "updated": updated, "disabled": disabled}
