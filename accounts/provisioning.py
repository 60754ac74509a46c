"""The provisioning file (shared/CONTRACTS.md): create or update organisations, their stores, police
agencies and users. Idempotent: running a file twice changes nothing the second time. Omitted fields
keep their current value (or the default for something new).

A bad file changes nothing: the shape of every entry is checked first, then every entry is applied
through the services in one transaction, which is rolled back if any entry was refused. Every
problem is reported with the entry it is in, e.g. `users[2].role: 'chief' is not a role`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import services
from accounts.models import Organisation, OrgKind, PoliceSharing, Role, Store, User

SYSTEM = services.System("provision")

ORG_FIELDS = {
    "slug": str, "name": str, "kind": str, "is_active": bool, "ctd_opt_in": bool, "image_matching_opt_in": bool,
    "police_sharing_default": str, "police_excluded_agencies": list, "jurisdictions": list, "stores": list,
}
STORE_FIELDS = {"code": str, "name": str, "region": str, "timezone": str, "address": str, "latitude": (int, float, str),
                "longitude": (int, float, str), "is_active": bool}
USER_FIELDS = {"email": str, "organisation": str, "role": str, "stores": list, "password": str,
               "sensitive_access": bool, "sso_only": bool, "first_name": str, "last_name": str, "is_active": bool}
TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list", (int, float, str): "a number"}
CHOICES = {
    "kind": ("kind", OrgKind.values),
    "role": ("role", Role.values),
    "police_sharing_default": ("police sharing choice", PoliceSharing.values),
}


class ProvisioningError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} problem(s) in the provisioning file")
        self.errors = errors


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, what: str, outcome: str, changes: dict | None = None) -> None:
        if outcome == "created":
            self.created += 1
        elif changes:
            self.updated += 1
            outcome = f"updated ({', '.join(sorted(changes))})"
        else:
            self.unchanged += 1
            outcome = "unchanged"
        self.lines.append(f"{what}: {outcome}")

    @property
    def summary(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


# --- 1. shape -----------------------------------------------------------------------------------


def _check_entry(where: str, entry: Any, spec: dict[str, Any], required: tuple[str, ...], errors: list[str]) -> bool:
    if not isinstance(entry, dict):
        errors.append(f"{where}: must be an object")
        return False
    ok = True
    for key in entry:
        if key not in spec:
            errors.append(f"{where}.{key}: unknown field (known: {', '.join(spec)})")
            ok = False
    for key in required:
        if key not in entry or entry[key] in ("", None):
            errors.append(f"{where}.{key}: required")
            ok = False
    for key, expected in spec.items():
        if key not in entry or (entry[key] is None and key in ("latitude", "longitude")):
            continue
        value = entry[key]
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            errors.append(f"{where}.{key}: must be {TYPE_NAMES[expected]}")
            ok = False
            continue
        if key in CHOICES and value not in CHOICES[key][1]:
            noun, values = CHOICES[key]
            errors.append(f"{where}.{key}: {value!r} is not a {noun} (one of: {', '.join(values)})")
            ok = False
        if expected is list and not (spec is ORG_FIELDS and key == "stores"):  # lists of names
            bad = [i for i, v in enumerate(value) if not isinstance(v, str)]
            if bad:
                errors.append(f"{where}.{key}[{bad[0]}]: must be a string")
                ok = False
    return ok


def check_shape(data: Any) -> list[str]:
    """Every problem that needs no database: types, unknown fields, choices, duplicates."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return ["the file must hold a JSON object with \"organisations\" and/or \"users\""]
    for key in data:
        if key not in ("organisations", "users"):
            errors.append(f"{key}: unknown section (known: organisations, users)")
    for key in ("organisations", "users"):
        if key in data and not isinstance(data[key], list):
            errors.append(f"{key}: must be a list")
    if errors:
        return errors
    seen_slugs: dict[str, int] = {}
    for i, org in enumerate(data.get("organisations", [])):
        where = f"organisations[{i}]"
        if not _check_entry(where, org, ORG_FIELDS, ("slug",), errors):
            continue
        slug = org["slug"].strip().lower()
        if slug in seen_slugs:
            errors.append(f"{where}.slug: {slug!r} appears twice (also organisations[{seen_slugs[slug]}])")
        seen_slugs[slug] = i
        codes: dict[str, int] = {}
        for j, store in enumerate(org.get("stores", [])):
            swhere = f"{where}.stores[{j}]"
            if not _check_entry(swhere, store, STORE_FIELDS, ("code",), errors):
                continue
            code = store["code"].strip()
            if code in codes:
                errors.append(f"{swhere}.code: {code!r} appears twice (also {where}.stores[{codes[code]}])")
            codes[code] = j
            for coord in ("latitude", "longitude"):
                if store.get(coord) is not None:
                    try:
                        Decimal(str(store[coord]))
                    except InvalidOperation:
                        errors.append(f"{swhere}.{coord}: must be a number")
    seen_emails: dict[str, int] = {}
    for i, user in enumerate(data.get("users", [])):
        where = f"users[{i}]"
        if not _check_entry(where, user, USER_FIELDS, ("email",), errors):
            continue
        email = user["email"].strip().lower()
        if email in seen_emails:
            errors.append(f"{where}.email: {email!r} appears twice (also users[{seen_emails[email]}])")
        seen_emails[email] = i
    return errors


# --- 2. apply -----------------------------------------------------------------------------------


def _messages(where: str, error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        out = []
        for name, messages in error.message_dict.items():
            prefix = where if name == "__all__" else f"{where}.{name}"
            out.extend(f"{prefix}: {m}" for m in messages)
        return out
    messages = error.messages if isinstance(error, ValidationError) else [str(error)]
    return [f"{where}: {m}" for m in messages]


def _only(entry: dict, *keys: str) -> dict:
    return {k: entry[k] for k in keys if k in entry}


def _decimal(value) -> Decimal | None:
    """A coordinate to the six decimal places stored (about 10 cm)."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


class _Applier:
    def __init__(self, data: dict):
        self.data = data
        self.errors: list[str] = []
        self.report = Report()
        self.orgs: dict[str, Organisation] = {}
        self.failed_orgs: set[str] = set()
        self.created_orgs: set[str] = set()

    def attempt(self, where: str, fn, *args) -> Any:
        """Run one entry's change in a savepoint: a refused entry is recorded and leaves nothing."""
        try:
            with transaction.atomic():
                return fn(*args)
        except (ValidationError, PermissionDenied) as e:
            self.errors.extend(_messages(where, e))
            return None

    def run(self) -> Report:
        orgs = self.data.get("organisations", [])
        for i, entry in enumerate(orgs):
            org = self.attempt(f"organisations[{i}]", self.organisation, entry)
            if org is None:
                self.failed_orgs.add(entry["slug"].strip().lower())
            else:
                self.orgs[org.slug] = org
        for i, entry in enumerate(orgs):
            org = self.orgs.get(entry["slug"].strip().lower())
            if org is None:
                continue
            self.attempt(f"organisations[{i}]", self.organisation_settings, org, entry)
            for j, store in enumerate(entry.get("stores", [])):
                self.attempt(f"organisations[{i}].stores[{j}]", self.store, org, store)
        for i, entry in enumerate(self.data.get("users", [])):
            self.attempt(f"users[{i}]", self.user, entry)
        return self.report

    def _org(self, slug: str, field_name: str) -> Organisation:
        slug = slug.strip().lower()
        org = self.orgs.get(slug) or Organisation.objects.unscoped().filter(slug=slug).first()
        if org is None:
            raise ValidationError({field_name: f"no organisation {slug!r} (in this file or already provisioned)"})
        return org

    def organisation(self, entry: dict) -> Organisation:
        slug = entry["slug"].strip().lower()
        org = Organisation.objects.unscoped().filter(slug=slug).first()
        if org is None:
            for key in ("kind", "name"):
                if not entry.get(key):
                    raise ValidationError({key: "required for a new organisation"})
            org = services.organisation_create(actor=SYSTEM, slug=slug, name=entry["name"], kind=entry["kind"])
            if entry.get("is_active") is False:
                services.organisation_update(actor=SYSTEM, organisation=org, is_active=False)
            self.report.add(f"organisation {slug}", "created")
            self.created_orgs.add(slug)
            return org
        if "kind" in entry and entry["kind"] != org.kind:
            raise ValidationError({"kind": f"{slug!r} is a {org.kind} already; the kind of an organisation cannot change"})
        org, changes = services.organisation_update(actor=SYSTEM, organisation=org, **_only(entry, "name", "is_active"))
        self.report.add(f"organisation {slug}", "updated", changes)
        return org

    def organisation_settings(self, org: Organisation, entry: dict) -> None:
        retail = _only(entry, "ctd_opt_in", "image_matching_opt_in", "police_sharing_default")
        if "police_excluded_agencies" in entry:
            retail["police_excluded_agencies"] = [self._org(s, "police_excluded_agencies")
                                                  for s in entry["police_excluded_agencies"]]
        changes: dict = {}
        if retail:
            if org.kind != OrgKind.RETAILER:
                raise ValidationError({next(iter(retail)): f"only retailers have this setting; {org.slug!r} is a "
                                                            f"{org.kind}"})
            _, changes = services.organisation_sharing_update(actor=SYSTEM, organisation=org, **retail)
        if "jurisdictions" in entry:
            if org.kind != OrgKind.LAW_ENFORCEMENT:
                raise ValidationError({"jurisdictions": f"only police agencies have jurisdictions; {org.slug!r} is a "
                                                        f"{org.kind}"})
            _, more = services.organisation_jurisdictions_update(actor=SYSTEM, organisation=org,
                                                                 jurisdictions=entry["jurisdictions"])
            changes.update(more)
        if changes and org.slug not in self.created_orgs:  # a new one's settings are part of "created"
            self.report.add(f"organisation {org.slug} settings", "updated", changes)
        if entry.get("stores") and org.kind != OrgKind.RETAILER:
            raise ValidationError({"stores": f"only retailers have stores; {org.slug!r} is a {org.kind}"})

    def store(self, org: Organisation, entry: dict) -> None:
        code = entry["code"].strip()
        fields = _only(entry, "name", "region", "timezone", "address")
        for coord in ("latitude", "longitude"):
            if coord in entry:
                fields[coord] = _decimal(entry[coord])
        store = Store.objects.unscoped().filter(organisation=org, code=code).first()
        created = store is None
        if created:
            for key in ("name", "region"):
                if not entry.get(key):
                    raise ValidationError({key: "required for a new store"})
            store, changes = services.store_create(actor=SYSTEM, organisation=org, code=code, **fields), {}
        else:
            store, changes = services.store_update(actor=SYSTEM, store=store, **fields)
        if "is_active" in entry and entry["is_active"] != store.is_active:
            toggle = services.store_reactivate if entry["is_active"] else services.store_deactivate
            changes = {**changes, **toggle(actor=SYSTEM, store=store)[1]}
        self.report.add(f"store {org.slug}/{code}", "created" if created else "updated", changes)

    def _stores(self, org: Organisation, codes: list[str]) -> list[Store]:
        found = {s.code: s for s in Store.objects.unscoped().filter(organisation=org, code__in=codes)}
        missing = [c for c in codes if c not in found]
        if missing:
            raise ValidationError({"stores": f"{org.slug!r} has no store {missing[0]!r}"})
        return [found[c] for c in codes]

    def user(self, entry: dict) -> None:
        email = entry["email"].strip().lower()
        user = User.objects.get_queryset().unscoped().select_related("organisation").filter(email__iexact=email).first()
        created = user is None
        if created:
            for key in ("organisation", "role"):
                if not entry.get(key):
                    raise ValidationError({key: "required for a new user"})
            if entry["organisation"].strip().lower() in self.failed_orgs:
                return  # its organisation's entry was refused and reported already
            org = self._org(entry["organisation"], "organisation")
            fields = _only(entry, "first_name", "last_name", "sensitive_access", "sso_only", "password")
            user = services.user_create(actor=SYSTEM, organisation=org, email=email, role=entry["role"],
                                        stores=self._stores(org, entry.get("stores", [])), **fields)
            changes = {}
        else:
            org = user.organisation
            if "organisation" in entry and (org is None or entry["organisation"].strip().lower() != org.slug):
                raise ValidationError({"organisation": f"{email} already belongs to "
                                                       f"{org.slug if org else 'no organisation'}; users do not "
                                                       "move between organisations"})
            fields = _only(entry, "first_name", "last_name", "role", "sensitive_access", "sso_only", "password")
            if "stores" in entry:
                fields["stores"] = self._stores(org, entry["stores"])
            user, changes = services.user_update(actor=SYSTEM, user=user, **fields)
        if "is_active" in entry and entry["is_active"] != user.is_active:
            toggle = services.user_reactivate if entry["is_active"] else services.user_deactivate
            changes = {**changes, **toggle(actor=SYSTEM, user=user)[1]}
        self.report.add(f"user {email}", "created" if created else "updated", changes)


def provision(data: Any) -> Report:
    """Apply a provisioning file's data; raise ProvisioningError (having changed nothing) if any
    entry is bad."""
    errors = check_shape(data)
    if errors:
        raise ProvisioningError(errors)
    with transaction.atomic():
        applier = _Applier(data)
        report = applier.run()
        if applier.errors:
            raise ProvisioningError(applier.errors)  # rolls the whole file back
    return report
