"""The platform lexicon as shipped: guardrails/lexicon/base.json, versioned with the code.

Its entries become LexiconEntry rows without an organisation (migration 0002 and `manage.py
lexicon_sync` call `sync_platform_lexicon`); its vocabulary (person words, clothing words, copulas...)
is the grammar the matcher reads context with.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

BASE_PATH = Path(__file__).resolve().parent / "lexicon" / "base.json"


@lru_cache(maxsize=1)
def load_base() -> dict[str, Any]:
    with BASE_PATH.open(encoding="utf-8") as f:
        return json.load(f)


def base_entries() -> list[dict[str, str]]:
    """The shipped entries, one dict per term: term, category, context, note."""
    out, seen = [], set()
    for group in load_base()["groups"]:
        for term in group["terms"]:
            key = (term, group["category"], group["context"])
            if key in seen:
                continue
            seen.add(key)
            out.append({"term": term, "category": group["category"], "context": group["context"],
                        "note": group.get("note", "")[:200]})
    return out


def base_version() -> int:
    return int(load_base()["version"])
