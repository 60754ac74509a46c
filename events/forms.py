"""The event form (record and correct an event) and the event list's filters.

The event form is not a Django form: its fields are named like the interchange's CSV columns
(`type`, `store`, `persons.0.name`, `persons.0.aliases.1`, `vehicles.0.person_ref`…), what the user
typed is kept as a flat dict of those names (the "state", also what a draft stores), and
events.interchange.EventInput — the one validator for the API, imports and this form — validates
it. Its errors come back under the same names, so each is shown next to its own field.

Repeatable sections (people, products, vehicles) are rows `persons.<i>.…`. Rows the user left
empty are dropped and the rest renumbered ("compacted") before validation, so the indexes in the
errors are those of the page that is rendered again.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from accounts.models import PoliceSharing
from events.interchange import EventInput, unflatten
from events.models import AgeBand, Build, EventType, Gender, PersonRole

PERSON_PHOTO_ACCEPT = "image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp"


@dataclass(frozen=True)
class Spec:
    label: str
    kind: str = "text"  # text textarea number decimal select tiles check datetime file hidden
    choices: tuple = ()
    help: str = ""
    maxlength: int | None = None
    required: bool = False
    blank: str | None = None  # a select's empty choice, if it has one
    attrs: dict = field(default_factory=dict)


EVENT_SPECS: dict[str, Spec] = {
    "type": Spec("What happened", "tiles", tuple(EventType.choices), required=True),
    "store": Spec("Store", "select", required=True, blank="Choose the store"),
    "occurred_at": Spec("When", "datetime", required=True),
    "prevented": Spec("Prevented: it was stopped before anything was taken or done", "check"),
    "threatened_violence": Spec("Violence was threatened", "check"),
    "used_violence": Spec("Violence was used", "check"),
    "weapon": Spec("Weapon", maxlength=40, help="A word or two, e.g. knife, syringe. Leave empty if none."),
    "injury": Spec("Someone was injured", "check"),
    "injury_detail": Spec("Injury", maxlength=300, help="Who was hurt and how, briefly."),
    "narrative": Spec("What happened, in a few sentences", "textarea", maxlength=2000,
                      help="What people did and what they looked like. Never ethnicity, skin colour, "
                           "religion, politics or sexual orientation."),
    "sensitive": Spec("Sensitive: only colleagues with sensitive access may see it", "check"),
    "sensitive_reason": Spec("Why it is sensitive", maxlength=100, help="For example: a minor was involved."),
    "police_sharing": Spec("Share with police", "select"),
    "police_reference": Spec("Police reference", maxlength=60,
                             help="If it was reported to police: their event or file number."),
}

PERSON_SPECS: dict[str, Spec] = {
    "ref": Spec("Reference", "hidden"),
    "role": Spec("Role", "select", tuple(PersonRole.choices)),
    "name": Spec("Name, if known", maxlength=120, attrs={"autocomplete": "off", "autocapitalize": "words"}),
    "age_band": Spec("Age", "select", tuple(AgeBand.choices), blank="Not sure"),
    "gender": Spec("Gender", "select", tuple(Gender.choices), blank="Not sure"),
    "height_cm": Spec("Height (cm)", "number", attrs={"min": "50", "max": "250", "inputmode": "numeric"}),
    "build": Spec("Build", "select", tuple(Build.choices), blank="Not sure"),
    "hair": Spec("Hair", maxlength=120, help="e.g. short brown, shaved, grey ponytail"),
    "clothing": Spec("Clothing", maxlength=300, help="e.g. black hoodie, grey trackpants, white sneakers"),
    "marks": Spec("Distinguishing marks", maxlength=300, help="Tattoos, scars, piercings."),
    "photos": Spec("Photos of this person", "file",
                   help="Stills from CCTV or a phone. They are added to the event's evidence."),
}
ALIAS_LABEL = "Also known as"

PRODUCT_SPECS: dict[str, Spec] = {
    "sku": Spec("SKU", maxlength=40, attrs={"autocomplete": "off", "inputmode": "text"}),
    "description": Spec("Product", maxlength=200),
    "quantity": Spec("Quantity", "number", attrs={"min": "1", "max": "100000", "inputmode": "numeric"}),
    "unit_value": Spec("Value each", "decimal"),
}

VEHICLE_SPECS: dict[str, Spec] = {
    "plate": Spec("Plate", maxlength=12, attrs={"autocapitalize": "characters", "autocomplete": "off",
                                                 "spellcheck": "false"}),
    "make": Spec("Make", maxlength=40, attrs={"placeholder": "e.g. Toyota"}),
    "model": Spec("Model", maxlength=40, attrs={"placeholder": "e.g. Corolla"}),
    "colour": Spec("Colour", maxlength=30),
    "person_ref": Spec("Linked person", "select", blank="Nobody in particular"),
}

SECTIONS: dict[str, dict[str, Spec]] = {"persons": PERSON_SPECS, "products": PRODUCT_SPECS, "vehicles": VEHICLE_SPECS}
SECTION_NOUN = {"persons": "Person", "products": "Product", "vehicles": "Vehicle"}
# Cells that alone do not make a row worth keeping (they have defaults the user never touched).
NOT_CONTENT = {"persons": {"ref", "role"}, "products": {"quantity"}, "vehicles": {"person_ref"}}
FOCUS_CELL = {"persons": "name", "products": "sku", "vehicles": "plate"}
MAX_ROWS = {"persons": 50, "products": 100, "vehicles": 20}
MAX_ALIASES = 20

_ROW_KEY = re.compile(r"^(persons|products|vehicles)\.(\d+)\.(.+)$")


def field_id(name: str) -> str:
    return "f-" + name.replace(".", "-")


# --- the state: what the user typed, as a flat dict --------------------------------------------


def state_from_post(post) -> dict[str, str]:
    """The form fields of a POST (a QueryDict), without Django's and the page's own controls."""
    return {k: v for k, v in post.items() if _is_form_name(k)}


NUL_ERROR = ("This held a NUL character (\\x00), which is not allowed; it has been taken out here. "
             "Check the text and send the form again.")


def nul_errors(state: dict[str, str]) -> dict[str, list[str]]:
    """{field: [error]} for each value holding a NUL character (PostgreSQL cannot store one): such
    a form is refused before anything, the draft included, is saved."""
    return {k: [NUL_ERROR] for k, v in state.items() if "\x00" in k or "\x00" in (v or "")}


def without_nul(state: dict[str, str]) -> dict[str, str]:
    return {k.replace("\x00", ""): (v or "").replace("\x00", "") for k, v in state.items()}


def _is_form_name(name: str) -> bool:
    top = name.split(".", 1)[0]
    return top in EVENT_SPECS or top in SECTIONS


def clean_state(data: Any) -> dict[str, str]:
    """A draft's data as sent by the browser: only form names, only short strings."""
    if not isinstance(data, dict):
        raise ValueError("A draft is an object of field names and values.")
    out = {}
    for k, v in list(data.items())[:2000]:
        if not isinstance(k, str) or len(k) > 80 or not _is_form_name(k):
            continue
        if isinstance(v, bool):
            v = "true" if v else ""
        if v is None:
            v = ""
        if not isinstance(v, str | int | float):
            continue
        out[k] = str(v)[:5000]
    return out


def rows_of(state: dict[str, str], section: str) -> dict[int, dict[str, str]]:
    """{row index: {cell name: value}} of one section, cell names like `name` or `aliases.0`."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in state.items():
        m = _ROW_KEY.match(key)
        if m and m.group(1) == section:
            rows.setdefault(int(m.group(2)), {})[m.group(3)] = value
    return rows


def aliases_of(row: dict[str, str]) -> list[str]:
    pairs = []
    for k, v in row.items():
        if k.startswith("aliases.") and k[8:].isdigit():
            pairs.append((int(k[8:]), v))
    return [v for _, v in sorted(pairs)]


def _row_has_content(section: str, row: dict[str, str], extra: bool = False) -> bool:
    return extra or any((v or "").strip() for k, v in row.items() if k not in NOT_CONTENT[section])


def compact(state: dict[str, str], keep_refs: set[str] = frozenset()) -> dict[str, str]:
    """Drop empty rows and empty aliases, renumber the rest from 0 (order kept). A person row is
    kept when its ref is in `keep_refs` (photos were chosen for it)."""
    out = {k: v for k, v in state.items() if not _ROW_KEY.match(k)}
    for section in SECTIONS:
        rows = rows_of(state, section)
        kept = [rows[i] for i in sorted(rows)
                if _row_has_content(section, rows[i], section == "persons" and rows[i].get("ref") in keep_refs)]
        for new_i, row in enumerate(kept):
            for cell, value in row.items():
                if not cell.startswith("aliases."):
                    out[f"{section}.{new_i}.{cell}"] = value
            if section == "persons":
                for j, alias in enumerate(a for a in aliases_of(row) if a.strip()):
                    out[f"persons.{new_i}.aliases.{j}"] = alias
    return out


def add_row(state: dict[str, str], section: str) -> tuple[dict[str, str], int]:
    """The state with one more (empty) row in `section`, and that row's index."""
    rows = rows_of(state, section)
    index = max(rows, default=-1) + 1
    state = dict(state)
    if section == "persons":
        state[f"persons.{index}.ref"] = next_ref(state)
    if section == "products":
        state[f"products.{index}.quantity"] = "1"
    state.setdefault(f"{section}.{index}.{next(iter(SECTIONS[section]))}", "")
    return state, index


def remove_row(state: dict[str, str], section: str, index: int) -> dict[str, str]:
    prefix = f"{section}.{index}."
    return {k: v for k, v in state.items() if not k.startswith(prefix)}


def next_ref(state: dict[str, str]) -> str:
    used = {v for k, v in state.items() if k.endswith(".ref") and k.startswith("persons.")}
    n = 1
    while f"p{n}" in used:
        n += 1
    return f"p{n}"


def ensure_refs(state: dict[str, str]) -> dict[str, str]:
    """Every person row has a ref (vehicles link to people by it)."""
    state = dict(state)
    for i in sorted(rows_of(state, "persons")):
        if not state.get(f"persons.{i}.ref"):
            state[f"persons.{i}.ref"] = next_ref(state)
    return state


# --- from the state to the validator and back ---------------------------------------------------


def parse_local(value: str, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """A datetime-local value ("2026-10-03T14:22") in the store's time zone."""
    value = (value or "").strip()
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"):
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


def local_input_value(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def validate(state: dict[str, str], *, organisation, tz: zoneinfo.ZoneInfo) -> tuple[dict | None, dict[str, list[str]]]:
    """(validated interchange data, {}) or (None, errors by field name) for a compacted state."""
    from events.interchange import flatten_errors

    errors: dict[str, list[str]] = {}
    # Empty cells are left out so that each field's default applies (as for a CSV import).
    flat = {k: (v if k == "narrative" else v.strip()) for k, v in state.items() if (v or "").strip()}
    if "occurred_at" in flat:
        moment = parse_local(flat["occurred_at"], tz)
        if moment is None:
            errors["occurred_at"] = ["Give the date and time, e.g. 2026-10-03 14:22."]
            flat.pop("occurred_at")
        else:
            flat["occurred_at"] = moment.isoformat()
    data = unflatten({k: v for k, v in flat.items() if not k.endswith(".photos")})
    serializer = EventInput(data=data, context={"organisation": organisation})
    if serializer.is_valid() and not errors:
        return serializer.validated_data, {}
    if not serializer.is_valid():
        for key, messages in flatten_errors(serializer.errors).items():
            errors.setdefault(key, []).extend(messages)
    return None, errors


def state_from_event(event) -> dict[str, str]:
    """The form's state for correcting an event."""
    from events.interchange import event_to_interchange

    data = event_to_interchange(event)
    tz = zoneinfo.ZoneInfo(event.store.timezone)
    state: dict[str, str] = {}
    for name, spec in EVENT_SPECS.items():
        value = data.get(name)
        if spec.kind == "check":
            state[name] = "true" if value else ""
        elif value is not None:
            state[name] = str(value)
    state["occurred_at"] = local_input_value(event.occurred_at, tz)
    state["police_sharing"] = event.police_sharing  # "" is the retailer's default: keep it so
    for section, specs in SECTIONS.items():
        for i, item in enumerate(data.get(section, [])):
            for cell in specs:
                if cell in item and cell != "aliases" and item[cell] is not None:
                    state[f"{section}.{i}.{cell}"] = str(item[cell])
            for j, alias in enumerate(item.get("aliases", []) if section == "persons" else []):
                state[f"persons.{i}.aliases.{j}"] = alias
    return state


# --- rendering -----------------------------------------------------------------------------------


def _attrs(pairs: dict[str, Any]) -> SafeString:
    return format_html_join("", ' {}="{}"', ((k, v) for k, v in pairs.items() if v is not None and v is not False))


def _described(fid: str, spec: Spec, errors: list[str]) -> str | None:
    ids = ([f"{fid}-error"] if errors else []) + ([f"{fid}-help"] if spec.help else [])
    return " ".join(ids) or None


def _help_and_errors(fid: str, spec: Spec, errors: list[str]) -> SafeString:
    out = SafeString("")
    if spec.help:
        out += format_html('<p class="help" id="{}-help">{}</p>', fid, spec.help)
    if errors:
        out += format_html('<p class="error" id="{}-error">{}</p>', fid, " ".join(errors))
    return out


def render_field(name: str, spec: Spec, value: str, errors: list[str], *,
                 choices: tuple | list | None = None, label: str | None = None,
                 extra: dict | None = None) -> SafeString:
    """One field: label, help, the error next to it, the control (aria-invalid, aria-describedby)."""
    fid = field_id(name)
    label = label or spec.label
    value = value or ""
    invalid = "true" if errors else None
    described = _described(fid, spec, errors)
    base = {"id": fid, "name": name, "aria-invalid": invalid, "aria-describedby": described,
            "required": "required" if spec.required else None, **spec.attrs, **(extra or {})}
    if spec.kind == "hidden":
        return format_html('<input type="hidden"{}>', _attrs({"name": name, "value": value, **(extra or {})}))
    if spec.kind == "check":
        checked = "checked" if value.lower() in ("true", "on", "1", "yes") else None
        return format_html(
            '<div class="field check{}"><input type="checkbox"{}><label for="{}">{}</label>{}</div>',
            " invalid" if errors else "", _attrs({**base, "value": "true", "checked": checked}), fid, label,
            _help_and_errors(fid, spec, errors))
    if spec.kind == "tiles":
        options = format_html_join(
            "", '<div class="tile"><input type="radio"{}><label for="{}">{}</label></div>',
            ((_attrs({"id": f"{fid}-{v}", "name": name, "value": v, "checked": "checked" if v == value else None,
                      "required": "required" if spec.required else None, "aria-invalid": invalid}),
              f"{fid}-{v}", lab) for v, lab in (choices or spec.choices)))
        return format_html(
            '<fieldset class="field tiles{}" id="{}"{}><legend>{}</legend>{}<div class="tile-grid">{}</div></fieldset>',
            " invalid" if errors else "", fid, _attrs({"aria-describedby": described}), label,
            _help_and_errors(fid, spec, errors), options)
    control: SafeString
    if spec.kind == "select":
        opts = list(choices if choices is not None else spec.choices)
        if spec.blank is not None:
            opts = [("", spec.blank), *opts]
        control = format_html("<select{}>{}</select>", _attrs(base), format_html_join(
            "", '<option value="{}"{}>{}</option>', ((v, mark_safe(" selected") if str(v) == value else "", lab)  # nosec B308  # a constant
                                                     for v, lab in opts)))
    elif spec.kind == "textarea":
        control = format_html("<textarea{}>{}</textarea>", _attrs({**base, "rows": "4", "maxlength": spec.maxlength}),
                              value)
    elif spec.kind == "file":
        control = format_html('<input type="file"{}>', _attrs({**base, "multiple": "multiple",
                                                               "accept": PERSON_PHOTO_ACCEPT}))
    else:
        kind = {"number": "number", "datetime": "datetime-local", "decimal": "text", "date": "date"}.get(spec.kind, "text")
        more = {"inputmode": "decimal", "pattern": r"[0-9]*[.,]?[0-9]{0,2}"} if spec.kind == "decimal" else {}
        control = format_html('<input type="{}"{}>', kind, _attrs(
            {**base, **more, "value": value, "maxlength": spec.maxlength}))
    return format_html('<div class="field{}" data-cell="{}"><label for="{}">{}</label>{}{}</div>',
                       " invalid" if errors else "", name.rsplit(".", 1)[-1], fid, label,
                       _help_and_errors(fid, spec, errors), control)


@dataclass
class Row:
    section: str
    index: int | str
    number: int | str
    ref: str = ""
    f: dict[str, SafeString] = field(default_factory=dict)
    aliases: list[SafeString] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    line_total: str = ""
    prototype: bool = False
    new: bool = False

    @property
    def noun(self) -> str:
        return SECTION_NOUN[self.section]

    @property
    def dom_id(self) -> str:
        return f"row-{self.section}-{self.index}"


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,.2f}"


def _decimal(value: str) -> Decimal | None:
    try:
        d = Decimal((value or "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _int(value: str, default: int = 0) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return default


class EventFormPage:
    """Everything the template needs: the fields rendered with their errors, the rows of each
    section (and an empty prototype row for the page's script), the error summary, the total."""

    def __init__(self, *, state: dict[str, str], errors: dict[str, list[str]], store_choices: list[tuple[str, str]],
                 police_default_label: str, tz_name: str, max_when: str = "", new_row: tuple[str, int] | None = None,
                 photos_chosen: bool = False):
        self.state = state
        self.errors = errors
        self.used: set[str] = set()
        self.labels: dict[str, str] = {}
        self.photos_chosen = photos_chosen
        police_choices = [("", f"Retailer default ({police_default_label})"), *PoliceSharing.choices]
        top_choices = {"store": store_choices, "police_sharing": police_choices}
        extra = {"occurred_at": {"max": max_when or None}}
        self.top: dict[str, SafeString] = {}
        for name, spec in EVENT_SPECS.items():
            help_spec = spec
            if name == "occurred_at":
                help_spec = Spec(spec.label, spec.kind, required=True,
                                 help=f"The store's local time ({tz_name}). Defaults to now.")
            self.top[name] = render_field(name, help_spec, state.get(name, ""), self._errors(name, spec.label),
                                          choices=top_choices.get(name), extra=extra.get(name))
        self.person_choices = [(state.get(f"persons.{i}.ref") or f"p{n}",
                                f"Person {n}" + (f": {state.get(f'persons.{i}.name')}" if state.get(f"persons.{i}.name") else ""))
                               for n, i in enumerate(sorted(rows_of(state, "persons")), start=1)]
        self.rows: dict[str, list[Row]] = {}
        self.prototypes: dict[str, Row] = {}
        for section in SECTIONS:
            indexes = sorted(rows_of(state, section))
            self.rows[section] = [self._row(section, i, n, new=new_row == (section, i))
                                  for n, i in enumerate(indexes, start=1)]
            self.prototypes[section] = self._row(section, "__i__", "__n__", prototype=True)
        self.all_rows = {s: [*self.rows[s], self.prototypes[s]] for s in SECTIONS}
        self.total = Decimal("0")
        for row in self.rows["products"]:
            qty = _int(state.get(f"products.{row.index}.quantity", "1"), 1)
            unit = _decimal(state.get(f"products.{row.index}.unit_value", ""))
            if unit is not None:
                line = unit * max(qty, 0)
                row.line_total = _money(line)
                self.total += line
        self.total_text = _money(self.total)
        self.section_errors = {s: self._errors(s, SECTION_NOUN[s] + "s") for s in SECTIONS}
        self.summary = self._summary()

    def _errors(self, name: str, label: str) -> list[str]:
        self.labels[name] = label
        if name in self.errors:
            self.used.add(name)
            return self.errors[name]
        return []

    def _row(self, section: str, index, number, prototype: bool = False, new: bool = False) -> Row:
        specs = SECTIONS[section]
        state = {} if prototype else self.state
        ref = "__ref__" if prototype else state.get(f"{section}.{index}.ref", "")
        row = Row(section=section, index=index, number=number, ref=ref, prototype=prototype, new=new)
        noun = f"{SECTION_NOUN[section]} {number}"
        for cell, spec in specs.items():
            name = f"{section}.{index}.{cell}"
            value = ref if cell == "ref" else state.get(name, "")
            if prototype and cell == "quantity":
                value = "1"
            choices = None
            if cell == "person_ref":
                choices = [] if prototype else self.person_choices
            extra = {"data-ref": ref} if cell == "photos" else {}
            if new and cell == FOCUS_CELL[section]:
                extra["autofocus"] = "autofocus"
            errors = [] if prototype else self._errors(name, f"{noun}: {spec.label}")
            row.f[cell] = render_field(name, spec, value, errors, choices=choices, extra=extra)
        if section == "persons":
            aliases = [] if prototype else aliases_of({k.split(".", 2)[2]: v for k, v in state.items()
                                                       if k.startswith(f"persons.{index}.aliases.")})
            for j, alias in enumerate([*aliases, ""][:MAX_ALIASES]):
                name = f"persons.{index}.aliases.{j}"
                errors = [] if prototype else self._errors(name, f"{noun}: {ALIAS_LABEL}")
                row.aliases.append(render_field(
                    name, Spec(f"Alias {j + 1}", maxlength=120, attrs={"autocomplete": "off"}), alias, errors,
                    extra={"class": "alias"}))
        if not prototype:
            for key in (f"{section}.{index}.ref", f"{section}.{index}.non_field_errors"):
                row.errors += self._errors(key, noun)
        return row

    def _summary(self) -> list[dict[str, str]]:
        out = []
        for name, messages in self.errors.items():
            if name in self.used and name in self.labels:
                target = field_id(name)
                if name.endswith((".ref", ".non_field_errors")):
                    m = _ROW_KEY.match(name)
                    target = f"row-{m.group(1)}-{m.group(2)}" if m else "event-form"
                elif name in SECTIONS:
                    target = f"s-{name}"
                elif name == "type":
                    target = f"{field_id(name)}-{EventType.choices[0][0]}"
                out.append({"target": target, "label": self.labels[name], "message": " ".join(messages)})
            else:
                out.append({"target": "event-form", "label": _label_for(name), "message": " ".join(messages)})
        return out

    @property
    def has_vehicle_content(self) -> bool:
        return bool(self.rows["vehicles"])

    @property
    def sharing_open(self) -> bool:
        s = self.state
        return bool(s.get("sensitive") or s.get("police_sharing") or s.get("police_reference")
                    or any(k in self.errors for k in ("sensitive", "sensitive_reason", "police_sharing",
                                                      "police_reference")))


def _label_for(name: str) -> str:
    m = _ROW_KEY.match(name)
    if m:
        return f"{SECTION_NOUN[m.group(1)]} {int(m.group(2)) + 1}: {m.group(3).replace('_', ' ')}"
    spec = EVENT_SPECS.get(name)
    return spec.label if spec else ("Event" if name == "non_field_errors" else name.replace("_", " "))


# --- the event list's filters ---------------------------------------------------------------------


class EventFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        help_text="Reference, narrative, names and aliases, plates, SKUs.")
    store = forms.TypedChoiceField(label="Store", required=False, coerce=int, empty_value=None)
    type = forms.ChoiceField(label="Type", required=False, choices=[("", "Any type"), *EventType.choices])
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    prevented = forms.ChoiceField(label="Prevented", required=False,
                                  choices=[("", "Either"), ("yes", "Prevented"), ("no", "Not prevented")])
    violence = forms.ChoiceField(label="Violence", required=False, choices=[
        ("", "Any"), ("any", "Threats, violence, weapon or injury"), ("threatened", "Violence threatened"),
        ("used", "Violence used"), ("weapon", "A weapon"), ("injury", "Someone injured"), ("none", "None of these")])
    value_min = forms.DecimalField(label="Value from", required=False, min_value=0, max_digits=12, decimal_places=2,
                                   widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    value_max = forms.DecimalField(label="Value to", required=False, min_value=0, max_digits=12, decimal_places=2,
                                   widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", "All my stores"), *[(s.pk, f"{s.code} {s.name}") for s in stores]]

    def clean(self):
        data = super().clean()
        low, high = data.get("value_min"), data.get("value_max")
        if low is not None and high is not None and low > high:
            self.add_error("value_max", "The upper value is below the lower one.")
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def controls(self, *, with_store: bool = True) -> list[SafeString]:
        """The filters other than the search box, rendered by events.forms.render_field (Django's
        widget templates cost ~100 template includes a page for a select of 60 stores)."""
        kinds = {"store": "select", "type": "select", "prevented": "select", "violence": "select",
                 "date_from": "date", "date_to": "date", "value_min": "decimal", "value_max": "decimal"}
        out = []
        for name, kind in kinds.items():
            if name == "store" and not with_store:
                continue
            f = self.fields[name]
            value = (self.data.get(name) or "") if self.is_bound else ""
            errors = list(self.errors.get(name, [])) if self.is_bound else []
            choices = [(str(v), lab) for v, lab in getattr(f, "choices", [])] if kind == "select" else None
            out.append(render_field(name, Spec(str(f.label), kind), value, errors, choices=choices))
        return out

    def filters(self, tz: zoneinfo.ZoneInfo) -> dict[str, str]:
        """The valid filters as events_visible takes them (dates as the day's bounds in `tz`)."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors} if self.is_bound else {}
        out = {"q": data.get("q") or "", "type": data.get("type") or "", "prevented": data.get("prevented") or "",
               "violence": data.get("violence") or ""}
        if data.get("store"):
            out["store"] = str(data["store"])
        if data.get("date_from"):
            out["occurred_after"] = dt.datetime.combine(data["date_from"], dt.time.min, tz).isoformat()
        if data.get("date_to"):
            out["occurred_before"] = dt.datetime.combine(data["date_to"], dt.time.max, tz).isoformat()
        for k in ("value_min", "value_max"):
            if data.get(k) is not None:
                out[k] = str(data[k])
        return {k: v for k, v in out.items() if v}


# --- refusals while typing ------------------------------------------------------------------------

GUARDED_CELLS = frozenset({"narrative", "weapon", "injury_detail", "sensitive_reason", "name", "aliases", "hair",
                           "clothing", "marks", "description", "make", "model", "colour"})


def guard_warnings(state: dict[str, str], *, organisation) -> dict[str, list[str]]:
    """The guardrail's refusals of a draft's free text, by field name: the page shows them at the
    field while the user types (the submit refuses the same text through EventInput)."""
    from guardrails.checker import check_text

    out: dict[str, list[str]] = {}
    for name, value in state.items():
        if not (value or "").strip():
            continue
        parts = name.split(".")
        cell = "aliases" if len(parts) >= 2 and parts[-2] == "aliases" else parts[-1]
        if cell in GUARDED_CELLS:
            findings = check_text(value, organisation=organisation)
            if findings:
                out[name] = [f.message for f in findings]
    return out
