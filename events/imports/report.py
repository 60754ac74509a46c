"""What an import reports: the file refused as a whole (ImportFileError), each refused row (line,
field in dotted form, reason), and the counts (ImportResult), read by the command, the browser's
import report and the job that records its progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from events.vocabulary import RowWarning


def limit_setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))



class ImportFileError(Exception):
    """The file as a whole cannot be imported (wrong type, unsafe archive, bad header). Nothing was written."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass
class ImportResult:
    rows: int = 0  # rows read (refused ones included)
    created: int = 0
    updated: int = 0
    refused: int = 0  # rows refused
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)  # descriptor values mapped or left out (rows kept)
    rolled_back: bool = False
    event_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused == 0


def flatten_detail(detail: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A validator's nested errors as (field in dotted form, reason) pairs, one per reason."""
    from events.interchange import flatten_errors

    return [(name, reason) for name, reasons in flatten_errors(detail, prefix).items() for reason in reasons]
