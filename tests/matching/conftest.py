"""Fixtures shared by the matching tests."""

from __future__ import annotations

import pytest

from tests.profiles.helpers import record

AGES = ["18-24", "25-34", "35-44", "45-54"]


@pytest.fixture
def crowd(world):
    """Sixty unnamed strangers, described only (no name, plate or mark), recorded before the test's people."""
    for i in range(60):
        record(world, days_ago=200 + i, match=False, persons=[{
            "gender": "female" if i % 2 else "male", "age_band": AGES[i % 4], "height_cm": 160 + i % 30,
            "build": ["slim", "medium", "heavy"][i % 3]}])
