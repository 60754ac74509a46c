"""Limits on JSON that arrives from outside (API bodies, import lines): how deep it may nest, and no
NUL character in any string. Python's parser recurses once per level, so a line of 100,000 `[`
fails as a RecursionError wherever it is parsed or later walked; PostgreSQL cannot store a NUL in
text. Both are refused before anything reads the data, with a message saying which."""

from __future__ import annotations

import re
from typing import Any

# The interchange format nests four levels (event, persons, a person, its aliases); an API body as
# deep as this is no event.
MAX_DEPTH = 20
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    pass


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise TooDeep when the JSON text nests arrays and objects deeper than `limit`. Cheap for
    ordinary text: the brackets are only walked when there are more of them than the limit."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                raise TooDeep(f"The JSON nests deeper than {limit} levels.")
        else:
            depth -= 1


def nul_path(data: Any) -> str | None:
    """The dotted path ("persons.0.name") of the first string holding a NUL character, keys
    included, or None. Iterative: the data is at most MAX_DEPTH deep, but no recursion is needed."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path or "non_field_errors"
        elif isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                key = f"{path}.{k}" if path else str(k)
                if "\x00" in str(k):
                    return path or "non_field_errors"
                stack.append((key, v))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in reversed(list(enumerate(value))))
    return None
