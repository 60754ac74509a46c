"""Shared helpers for the import/export tests: interchange rows and small files."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image


def row(n: int, **over) -> dict:
    body = {
        "external_id": f"ACME-2026-{n:06d}",
        "store": "ACME-001",
        "occurred_at": "2026-03-03T14:22:00+13:00",
        "type": "theft",
        "threatened_violence": n % 7 == 0,
        "narrative": f"Event {n}: razor blades taken past the tills.",
        "products": [{"sku": "9300601", "description": "Razor blades 8pk", "quantity": 2, "unit_value": "24.99"}],
        "persons": [{"ref": "p1", "role": "offender", "name": f"Jon Smith {n}", "aliases": ["Johnny"],
                     "age_band": "25-34", "gender": "male", "height_cm": 180, "build": "slim",
                     "hair": "short brown", "clothing": "black hoodie", "marks": "star tattoo on left hand"}],
        "vehicles": [{"plate": "abc-123", "make": "Toyota", "model": "Corolla", "colour": "silver",
                      "person_ref": "p1"}],
    }
    body.update(over)
    return body


def write_jsonl(path: Path, rows: list) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def jpeg_bytes(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buf, "JPEG")
    return buf.getvalue()
