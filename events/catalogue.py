"""The retailer's product catalogue: imported from CSV (sku, description, unit_value, barcode),
upserted by SKU, searched by the event form.

A bad row is reported by line and field and skipped; the good rows are kept. One audit row per
import lists the SKUs created and, for the updated ones, the before/after values."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from rest_framework import serializers

from accounts.models import Role
from audit.services import audit_record
from events.bulk import bulk_update_rows
from events.imports.report import ImportFileError, RowError, flatten_detail
from events.interchange import GuardedCharField
from events.models import Product

COLUMNS = ("sku", "description", "unit_value", "barcode")
REQUIRED_COLUMNS = ("sku", "description", "unit_value")
BARCODE_RE = re.compile(r"^[0-9A-Za-z\-]*$")
SEARCH_LIMIT = 20


class ProductRow(serializers.Serializer):
    sku = serializers.CharField(max_length=40)
    description = GuardedCharField(max_length=200)
    unit_value = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"))
    barcode = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")

    def validate_sku(self, value: str) -> str:
        value = value.strip()
        if any(c.isspace() for c in value):
            raise serializers.ValidationError("A SKU has no spaces.")
        return value

    def validate_barcode(self, value: str) -> str:
        if not BARCODE_RE.match(value):
            raise serializers.ValidationError("A barcode has letters, digits and dashes only.")
        return value


@dataclass
class CatalogueResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)


def _read(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise ImportFileError("The CSV file is empty: its first line must name the columns "
                                      "sku, description, unit_value, barcode.")
            names = [h.strip().lower() for h in header]
            unknown = [n for n in names if n and n not in COLUMNS]
            missing = [c for c in REQUIRED_COLUMNS if c not in names]
            if unknown or missing:
                parts = []
                if missing:
                    parts.append(f"missing column(s) {', '.join(missing)}")
                if unknown:
                    parts.append(f"unknown column(s) {', '.join(unknown)}")
                raise ImportFileError(f"The CSV header is wrong: {'; '.join(parts)}. Columns: {', '.join(COLUMNS)}.")
            rows = []
            last = reader.line_num
            for cells in reader:
                start, last = last + 1, reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                rows.append((start, {n: c.strip() for n, c in zip(names, cells, strict=False) if n}))
            return rows
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"The CSV file is not valid UTF-8 (byte {exc.start}).") from exc
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file cannot be read: {exc}") from exc


def _may_manage(actor, organisation) -> bool:
    if actor is None:
        return True  # the system actor of manage.py import_products
    return actor.organisation_id == organisation.pk and actor.role == Role.RETAILER_ADMIN and actor.is_active


@transaction.atomic
def products_import(*, organisation, path: str | Path, actor=None, actor_label: str = "import command",
                    source: str = "") -> CatalogueResult:
    """Upsert the catalogue from a CSV file by SKU. Raises ImportFileError for a file that cannot
    be read as a catalogue (nothing written), PermissionDenied for anyone but a retailer admin."""
    if not organisation.is_retailer:
        raise ImportFileError(f"{organisation.name} is not a retailer.")
    if not _may_manage(actor, organisation):
        raise PermissionDenied("Only retailer admins manage the catalogue.")
    rows = _read(Path(path))
    result = CatalogueResult(rows=len(rows))
    checker = ProductRow(context={"organisation": organisation})
    good: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, raw in rows:
        try:
            data = checker.run_validation(raw)
        except serializers.ValidationError as exc:
            result.refused += 1
            result.errors.extend(RowError(line, name, reason) for name, reason in flatten_detail(exc.detail))
            continue
        if data["sku"] in good:
            result.refused += 1
            result.errors.append(RowError(line, "sku", f"SKU {data['sku']} is already on line {good[data['sku']][0]}."))
            continue
        good[data["sku"]] = (line, data)
    existing = {p.sku: p for p in Product.objects.unscoped().filter(organisation=organisation, sku__in=list(good))}
    fresh, changed, changes = [], [], {}
    for sku, (_line, data) in good.items():
        product = existing.get(sku)
        if product is None:
            fresh.append(Product(organisation=organisation, is_active=True, **data))
            continue
        diff = {k: {"before": str(getattr(product, k)), "after": str(v)} for k, v in data.items()
                if k != "sku" and getattr(product, k) != v}
        if not product.is_active:
            diff["is_active"] = {"before": False, "after": True}
            product.is_active = True
        if not diff:
            result.unchanged += 1
            continue
        for k, v in data.items():
            setattr(product, k, v)
        changed.append(product)
        changes[sku] = diff
    Product.objects.bulk_create(fresh, batch_size=1000)
    bulk_update_rows(Product, changed, ["description", "unit_value", "barcode", "is_active"])
    result.created, result.updated = len(fresh), len(changed)
    result.errors.sort(key=lambda e: e.line)
    audit_record(action="product.import", actor=actor, actor_email="" if actor else actor_label,
                 organisation_id=organisation.pk, object_type="events.product", object_repr=source[:200],
                 detail={"source": source, "rows": result.rows, "created": [p.sku for p in fresh],
                         "updated": changes, "unchanged": result.unchanged, "refused": result.refused})
    return result


def products_search(*, user, q: str, limit: int = SEARCH_LIMIT) -> list[Product]:
    """Active products of the user's retailer whose SKU or barcode starts with `q`, or whose
    description has a word starting with it; exact SKU/barcode hits first."""
    q = q.strip()
    if not q:
        return []
    qs = Product.objects.visible_to(user).filter(is_active=True)
    match = (Q(sku__istartswith=q) | Q(barcode__startswith=q) | Q(description__istartswith=q)
             | Q(description__icontains=f" {q}"))
    exact = list(qs.filter(Q(sku__iexact=q) | Q(barcode=q))[:limit])
    seen = {p.pk for p in exact}
    rest = [p for p in qs.filter(match).order_by("description", "sku")[: limit + len(exact)] if p.pk not in seen]
    return (exact + rest)[:limit]
