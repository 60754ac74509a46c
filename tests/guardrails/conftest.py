"""Fixtures for the guardrails tests: the platform lexicon as shipped, and signed-in clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.admin.conftest import sign_in

CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture
def lexicon(db):
    """The platform lexicon rows as base.json ships them (a flush by a transactional test elsewhere may
    have emptied them), and no compiled copy left over from another test."""
    from guardrails.checker import lexicon_changed
    from guardrails.services import sync_platform_lexicon

    sync_platform_lexicon()
    lexicon_changed(None)
    yield
    lexicon_changed(None)


@pytest.fixture
def as_user(db):
    def make(user) -> Client:
        return sign_in(Client(), user)

    return make


def read_corpus(*names: str) -> list[tuple[str, str, str]]:
    """(file, label, text) rows of the corpus files; label S (sensitive) or O (ordinary)."""
    rows = []
    for name in names:
        for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            label, text = line.split("\t", 1)
            assert label in ("S", "O"), line
            rows.append((name, label, text))
    return rows
