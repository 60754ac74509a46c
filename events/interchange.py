"""The event interchange format (shared/INTERCHANGE.md): one validator for every way an event
arrives — the API, a JSONL/CSV/ZIP import, and the HTML form (whose fields are named like the CSV
columns, e.g. `persons.0.name`). Errors are keyed by the same dotted names.

Descriptors with a fixed vocabulary (build, age band, gender, role) are `DescriptorField`s: given a
vocabulary in the context (events.vocabulary; imports and the API), they read synonyms and leave
out, with a warning, what they cannot read."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from accounts.models import PoliceSharing, Store
from events.models import AgeBand, Build, Event, EventType, Gender, PersonRole
from events.vocabulary import UNREADABLE_VALUE, unknown_value_message

TEXT_FIELD_LABELS = {
    "narrative": "Narrative",
    "sensitive_reason": "Sensitive reason",
    "weapon": "Weapon",
    "injury_detail": "Injury",
    "name": "Name",
    "aliases": "Aliases",
    "hair": "Hair",
    "clothing": "Clothing",
    "marks": "Distinguishing marks",
    "description": "Product description",
    "make": "Make",
    "model": "Model",
    "colour": "Colour",
}


def _guard(value: str, field: str, organisation) -> None:
    """Refuse a sensitive characteristic in free text, naming the phrase and why."""
    if not value:
        return
    from guardrails.checker import check_text

    findings = check_text(value, organisation=organisation)
    if findings:
        raise serializers.ValidationError([f.message for f in findings])


class GuardedCharField(serializers.CharField):
    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        org = self.context.get("organisation")
        _guard(value, self.field_name, org)
        return value


class ClonedFieldsSerializer(serializers.Serializer):
    """DRF deep-copies every declared field for each serializer instance, which re-runs each field's
    __init__ (choices regrouped, validators rebuilt) — most of the cost of validating an event. A
    shallow copy of an unbound plain field is the same field; a field holding a child (a list, a
    nested serializer) is still deep-copied so its child is bound to its own parent and context."""

    def get_fields(self):
        return {
            name: copy.deepcopy(field) if hasattr(field, "child") or isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


class DescriptorField(serializers.ChoiceField):
    """A descriptor with a fixed vocabulary. The serializer's context may carry:

    - `vocabulary` (events.vocabulary.Vocabulary, loaded once per import or request): a synonym or an
      age the rule reads is taken as its value ("stocky" → heavy, "30-40" → 35-44); a value still
      unknown is left out (a role: recorded as other) and noted, unless the guardrails refuse it
      (a sensitive characteristic is refused in a descriptor as in free text);
    - `strict_values`: a value still unknown is refused, naming the field.

    What was done is noted on the person (PersonInput.descriptor_notes) and handed, with the field's
    dotted path, to the context's `warnings` list by EventInput.validate. Without a vocabulary (the
    HTML form, whose selects give the values) only the field's own values are accepted."""

    def to_internal_value(self, data):
        vocabulary = self.context.get("vocabulary")
        if vocabulary is None or (isinstance(data, str) and data in self.choice_strings_to_values):
            return super().to_internal_value(data)
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            self.fail("invalid_choice", input=data)
        if str(data).strip() == "":
            if self.allow_blank:
                return ""
            if self.default is not serializers.empty:
                return self.get_default()
        reading = vocabulary.read(self.field_name, data)
        if reading is None:
            _guard(str(data), self.field_name, self.context.get("organisation"))
            if self.context.get("strict_values"):
                raise serializers.ValidationError(unknown_value_message(self.field_name, data))
        note = vocabulary.note(self.field_name, data, reading)
        notes = getattr(self.parent, "descriptor_notes", None)
        if note is not None and notes is not None:
            notes.append(note)
        return reading.value if reading is not None else UNREADABLE_VALUE[self.field_name]


DESCRIPTOR_NOTES = "_descriptor_notes"  # a person's notes, until EventInput.validate moves them to `warnings`


class PersonInput(ClonedFieldsSerializer):
    ref = serializers.CharField(max_length=20, required=False, allow_blank=True)
    role = DescriptorField(choices=PersonRole.choices, default=PersonRole.OFFENDER)
    name = GuardedCharField(max_length=120, required=False, allow_blank=True, default="")
    aliases = serializers.ListField(child=GuardedCharField(max_length=120), required=False, default=list, max_length=20)
    age_band = DescriptorField(choices=AgeBand.choices, required=False, allow_blank=True, default="")
    gender = DescriptorField(choices=Gender.choices, required=False, allow_blank=True, default="")
    height_cm = serializers.IntegerField(min_value=50, max_value=250, required=False, allow_null=True, default=None)
    build = DescriptorField(choices=Build.choices, required=False, allow_blank=True, default="")
    hair = GuardedCharField(max_length=120, required=False, allow_blank=True, default="")
    clothing = GuardedCharField(max_length=300, required=False, allow_blank=True, default="")
    marks = GuardedCharField(max_length=300, required=False, allow_blank=True, default="")
    images = serializers.ListField(child=serializers.CharField(max_length=300), required=False, default=list, max_length=20)

    def to_internal_value(self, data):
        self.descriptor_notes: list[dict[str, str]] = []
        attrs = super().to_internal_value(data)
        if self.descriptor_notes:
            attrs[DESCRIPTOR_NOTES] = self.descriptor_notes
        return attrs


class ProductInput(ClonedFieldsSerializer):
    sku = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    description = GuardedCharField(max_length=200, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=100000, default=1)
    unit_value = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False,
                                          allow_null=True, default=None)

    def validate(self, attrs):
        if not attrs.get("sku") and not attrs.get("description"):
            raise serializers.ValidationError({"description": ["Give a SKU or a description."]})
        return attrs


PLATE_RE = re.compile(r"^[A-Za-z0-9 \-]{1,12}$")


class VehicleInput(ClonedFieldsSerializer):
    plate = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    make = GuardedCharField(max_length=40, required=False, allow_blank=True, default="")
    model = GuardedCharField(max_length=40, required=False, allow_blank=True, default="")
    colour = GuardedCharField(max_length=30, required=False, allow_blank=True, default="")
    person_ref = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    def validate_plate(self, value: str) -> str:
        if value and not PLATE_RE.match(value):
            raise serializers.ValidationError("A plate has letters and digits only (spaces and dashes are ignored).")
        return value.upper().strip()


class EventInput(ClonedFieldsSerializer):
    """One event in the interchange format. Context: `organisation` (the importing retailer); for
    descriptor synonyms `vocabulary`, `strict_values` and `warnings` (a list that receives, once the
    event is valid, {"field": "persons.0.build", "value", "outcome", "maps_to", "action"} for each
    descriptor value that was not the field's own; see DescriptorField)."""

    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    store = serializers.CharField(max_length=30)
    occurred_at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=EventType.choices)
    prevented = serializers.BooleanField(default=False)
    threatened_violence = serializers.BooleanField(default=False)
    used_violence = serializers.BooleanField(default=False)
    weapon = GuardedCharField(max_length=40, required=False, allow_blank=True, default="")
    injury = serializers.BooleanField(default=False)
    injury_detail = GuardedCharField(max_length=300, required=False, allow_blank=True, default="")
    sensitive = serializers.BooleanField(default=False)
    sensitive_reason = GuardedCharField(max_length=100, required=False, allow_blank=True, default="")
    police_sharing = serializers.ChoiceField(choices=PoliceSharing.choices, required=False, allow_blank=True, default="")
    police_reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    narrative = GuardedCharField(max_length=2000, required=False, allow_blank=True, default="")
    products = ProductInput(many=True, required=False, default=list)
    persons = PersonInput(many=True, required=False, default=list)
    vehicles = VehicleInput(many=True, required=False, default=list)

    def validate_store(self, code: str) -> Store:
        org = self.context["organisation"]
        # (organisation, code) is unique: no ordering needed, and the store's organisation is `org`.
        store = next(iter(Store.objects.unscoped().filter(organisation=org, code=code.strip()).order_by()[:1]), None)
        if store is None:
            raise serializers.ValidationError(f"No store with code {code!r} at {org.name}.")
        store.organisation = org
        return store

    def validate_occurred_at(self, value):
        if value > timezone.now() + timezone.timedelta(minutes=5):
            raise serializers.ValidationError("An event cannot be in the future.")
        return value

    def validate(self, attrs):
        notes = [{**n, "field": f"persons.{i}.{n['field']}"}
                 for i, p in enumerate(attrs.get("persons", [])) for n in p.pop(DESCRIPTOR_NOTES, ())]
        if len(attrs.get("persons", [])) > 50:
            raise serializers.ValidationError({"persons": ["At most 50 people per event."]})
        refs = []
        for i, p in enumerate(attrs.get("persons", [])):
            p["ref"] = p.get("ref") or f"p{i + 1}"
            if p["ref"] in refs:
                raise serializers.ValidationError({"persons": {i: {"ref": [f"Duplicate person ref {p['ref']!r}."]}}})
            refs.append(p["ref"])
        for i, v in enumerate(attrs.get("vehicles", [])):
            if v.get("person_ref") and v["person_ref"] not in refs:
                raise serializers.ValidationError(
                    {"vehicles": {i: {"person_ref": [f"No person with ref {v['person_ref']!r} in this event."]}}}
                )
            if not any(v.get(k) for k in ("plate", "make", "model", "colour")):
                raise serializers.ValidationError({"vehicles": {i: {"plate": ["Give a plate or a description."]}}})
        if attrs.get("sensitive") and not attrs.get("sensitive_reason"):
            raise serializers.ValidationError({"sensitive_reason": ["Say why this event is sensitive (e.g. minor)."]})
        if attrs.get("weapon") and len(attrs["weapon"].split()) > 3:
            raise serializers.ValidationError({"weapon": ["A weapon is a short word, e.g. knife."]})
        warnings = self.context.get("warnings")
        if warnings is not None:
            warnings.extend(notes)
        return attrs


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors → {"persons.0.clothing": ["..."]}, the names the form and CSV use."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, name))
    elif isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            out[prefix or "non_field_errors"] = [str(e) for e in errors]
        else:
            for i, value in enumerate(errors):
                if value:
                    out.update(flatten_errors(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "non_field_errors"] = [str(errors)]
    return out


_INDEX = re.compile(r"^\d+$")


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """{"persons.0.name": "Jon", "persons.0.aliases.1": "J"} → nested dicts and lists (CSV and form).
    Empty nested rows (every cell blank) are dropped."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        if key is None:
            continue
        parts = key.strip().split(".")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _blank(v: Any) -> bool:
    if isinstance(v, dict):
        return all(_blank(x) for x in v.values())
    if isinstance(v, list):
        return all(_blank(x) for x in v)
    return v is None or (isinstance(v, str) and v.strip() == "")


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(_INDEX.match(k) for k in node):
            items = [_lists(node[k]) for k in sorted(node, key=int)]
            return [x for x in items if not _blank(x)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def event_to_interchange(event: Event) -> dict[str, Any]:
    """An event in the interchange format, plus `id` and each person's `profile`."""
    persons = list(event.persons.all())
    ref_by_id = {p.pk: p.ref for p in persons}
    return {
        "id": event.pk,
        "external_id": event.external_id,
        "store": event.store.code,
        "occurred_at": timezone.localtime(event.occurred_at, _store_tz(event.store)).isoformat(),
        "type": event.type,
        "prevented": event.prevented,
        "threatened_violence": event.threatened_violence,
        "used_violence": event.used_violence,
        "weapon": event.weapon,
        "injury": event.injury,
        "injury_detail": event.injury_detail,
        "sensitive": event.sensitive,
        "sensitive_reason": event.sensitive_reason,
        "police_sharing": event.police_sharing or event.organisation.police_sharing_default,
        "police_reference": event.police_reference,
        "narrative": event.narrative,
        "products": [
            {"sku": p.sku, "description": p.description, "quantity": p.quantity, "unit_value": str(p.unit_value)}
            for p in event.products.all()
        ],
        "persons": [
            {"ref": p.ref, "role": p.role, "name": p.name, "aliases": list(p.aliases), "age_band": p.age_band,
             "gender": p.gender, "height_cm": p.height_cm, "build": p.build, "hair": p.hair,
             "clothing": p.clothing, "marks": p.marks, "profile": getattr(p, "profile_id", None)}
            for p in persons
        ],
        "vehicles": [
            {"plate": v.plate, "make": v.make, "model": v.model, "colour": v.colour,
             "person_ref": ref_by_id.get(v.person_id, "")}
            for v in event.vehicles.all()
        ],
    }


def _store_tz(store):
    import zoneinfo

    return zoneinfo.ZoneInfo(store.timezone)
