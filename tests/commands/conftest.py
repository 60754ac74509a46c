from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


class Ran:
    def __init__(self, out: str, err: str, error: CommandError | None):
        self.out, self.err, self.error = out, err, error

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def run(capsys):
    """run("provision", path) → Ran(out, err, error): the command's output, and the CommandError
    (exit status 1) it ended with, if any."""

    def go(*args, **kwargs) -> Ran:
        capsys.readouterr()
        error = None
        try:
            call_command(*args, **kwargs)
        except CommandError as e:
            error = e
        out, err = capsys.readouterr()
        return Ran(out, err, error)

    return go


@pytest.fixture
def write_json(tmp_path):
    def write(data, name="provision.json"):
        path = tmp_path / name
        path.write_text(json.dumps(data) if not isinstance(data, str) else data)
        return str(path)

    return write
