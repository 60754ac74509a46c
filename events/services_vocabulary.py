"""Writes to a retailer's descriptor synonyms (events.models.DescriptorSynonym): a retailer admin adds
the words their data uses for a build, age band, gender or role, and removes them. Keyword-only,
atomic, audited in the same transaction. The built-in table (events/data/descriptor_synonyms.json)
ships with the product and is not changed here."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Role
from audit.services import audit_record
from auror import access
from events.models import DescriptorSynonym
from events.vocabulary import (
    DESCRIPTORS,
    FIELD_LABELS,
    NOT_KNOWN_VALUE,
    builtin,
    exact_value,
    normalise,
)

MAX_VALUE = 60


def _require_admin(actor, organisation) -> None:
    if (getattr(actor, "role", None) != Role.RETAILER_ADMIN or organisation is None
            or actor.organisation_id != organisation.pk or not organisation.is_retailer):
        raise PermissionDenied("Only a retailer admin may change their organisation's synonyms.")


def _choices_text(field: str) -> str:
    values = list(DESCRIPTORS[field].values)
    if NOT_KNOWN_VALUE[field] == "":
        values.append("empty (not known)")
    return ", ".join(values)


def _validate(*, organisation, field: str, value: str, maps_to: str) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    value = " ".join((value or "").split())
    maps_to = (maps_to or "").strip()
    if field not in DESCRIPTORS:
        raise ValidationError({"field": [f"Choose one of {', '.join(FIELD_LABELS.values())}."]})
    label = FIELD_LABELS[field]
    key = normalise(value) if value else ""
    if not value or not key:
        errors["value"] = ["Enter the word your data uses."]
    elif len(value) > MAX_VALUE:
        errors["value"] = [f"Keep it to {MAX_VALUE} characters."]
    elif (own := exact_value(field, value)) is not None:
        errors["value"] = [f"“{value}” is already the {label} {own}: nothing to map."]
    else:
        from guardrails.checker import check_text

        findings = check_text(value, organisation=organisation)
        if findings:  # a synonym may not bring a sensitive characteristic in through a descriptor
            errors["value"] = [f.message for f in findings]
    if maps_to not in DESCRIPTORS[field].values and not (maps_to == "" and NOT_KNOWN_VALUE[field] == ""):
        errors["maps_to"] = [f"“{maps_to}” is not a {label}: choose one of {_choices_text(field)}." if maps_to else
                             f"A {label} cannot be left as not known: choose one of {_choices_text(field)}."]
    if not errors:
        mine = DescriptorSynonym.objects.unscoped().filter(organisation=organisation, field=field,
                                                           normalised=key).first()
        shipped = builtin().table[field].get(key)
        if mine is not None:
            errors["value"] = [f"“{value}” already reads as {mine.maps_to or 'not known'} in your organisation's "
                               "synonyms: remove that entry first."]
        elif shipped is not None and shipped == maps_to:
            errors["value"] = [f"“{value}” already reads as {maps_to or 'not known'} in the built-in table."]
    if errors:
        raise ValidationError(errors)
    return value, key, maps_to


@transaction.atomic
def descriptor_synonym_add(*, actor, organisation, field: str, value: str, maps_to: str) -> DescriptorSynonym:
    """The retailer's own word for a descriptor value, read before the built-in table in that
    retailer's imports and API calls only (it may override a built-in word: "large" → muscular)."""
    _require_admin(actor, organisation)
    value, key, maps_to = _validate(organisation=organisation, field=field, value=value, maps_to=maps_to)
    entry = DescriptorSynonym.objects.create(organisation=organisation, field=field, value=value, normalised=key,
                                             maps_to=maps_to, created_by=actor)
    audit_record(action="descriptor_synonym.added", actor=actor, obj=entry,
                 detail={"field": field, "value": value, "maps_to": maps_to,
                         "overrides": builtin().table[field].get(key)})
    return entry


@transaction.atomic
def descriptor_synonym_remove(*, actor, entry: DescriptorSynonym) -> None:
    """Remove one of the retailer's own words; events already imported keep what they were read as."""
    locked = DescriptorSynonym.objects.unscoped().select_for_update().filter(pk=entry.pk).first()
    if locked is None:
        return  # already removed
    entry = locked
    if not access.can(actor, access.DELETE, entry):
        raise PermissionDenied("Only a retailer admin may change their organisation's synonyms.")
    audit_record(action="descriptor_synonym.removed", actor=actor, obj=entry,
                 detail={"field": entry.field, "value": entry.value, "maps_to": entry.maps_to})
    entry.delete()
