"""The descriptor vocabulary (events.vocabulary): the shipped synonym table, the age rule and its edges,
and the order values are read in (the field's own, the retailer's words, the built-in table, the rule)."""

from __future__ import annotations

import json

import pytest

from events.models import AgeBand, Build, Gender, PersonRole
from events.vocabulary import (
    AGE_RULE,
    BUILT_IN,
    EXACT,
    RETAILER,
    SYNONYMS_PATH,
    age_band_for,
    age_span,
    band_for_span,
    builtin,
    normalise,
    vocabulary_for,
)

# --- the shipped table ----------------------------------------------------------------------------


@pytest.mark.parametrize("field, words, value", [
    ("build", ["stocky", "solid", "large", "big", "fat", "overweight", "chubby"], Build.HEAVY),
    ("build", ["athletic", "fit", "built", "strong"], Build.MUSCULAR),
    ("build", ["thin", "skinny", "slender", "petite", "small"], Build.SLIM),
    ("build", ["average", "normal"], Build.MEDIUM),
    ("gender", ["M", "man", "boy"], Gender.MALE),
    ("gender", ["F", "woman", "girl"], Gender.FEMALE),
    ("role", ["suspect", "thief", "shoplifter"], PersonRole.OFFENDER),
    ("age_band", ["teen", "teenager"], AgeBand.B14_17),
])
def test_the_shipped_table_reads_the_common_words(field, words, value):
    vocabulary = vocabulary_for(None)
    for word in words:
        reading = vocabulary.read(field, word)
        assert reading is not None and (reading.value, reading.source) == (value, BUILT_IN), word


def test_every_word_in_the_file_maps_to_a_value_of_its_field():
    raw = json.loads(SYNONYMS_PATH.read_text(encoding="utf-8"))
    table = builtin().table
    choices = {"build": Build, "gender": Gender, "role": PersonRole, "age_band": AgeBand}
    for field, by_value in raw["fields"].items():
        for value, words in by_value.items():
            assert value in choices[field].values or value == ""
            for word in words:
                assert table[field][normalise(word)] == value


@pytest.mark.parametrize("text", ["Stocky", "  STOCKY ", "stocky.", "\tStocky\n", "“stocky”"])
def test_case_spaces_and_quotes_do_not_matter(text):
    assert vocabulary_for(None).read("build", text).value == Build.HEAVY


@pytest.mark.parametrize("field, text, value", [
    ("build", "Well-Built", Build.MUSCULAR), ("build", "well  built", Build.MUSCULAR),
    ("gender", "Non-Binary", Gender.OTHER), ("age_band", "25 - 34", AgeBand.B25_34),
    ("age_band", "Under 14", AgeBand.UNDER_14), ("age_band", "65 and over", AgeBand.B65),
    ("gender", "Another gender", Gender.OTHER), ("build", "SLIM", Build.SLIM),
])
def test_hyphens_and_the_fields_own_labels(field, text, value):
    assert vocabulary_for(None).read(field, text).value == value


def test_dont_know_words_are_read_as_the_fields_not_known_value():
    v = vocabulary_for(None)
    assert v.read("build", "n/a").value == ""
    assert v.read("gender", "not known").value == Gender.UNKNOWN
    assert v.read("role", "unknown").value == PersonRole.OTHER  # never the default, offender


def test_a_value_nothing_reads_is_none():
    v = vocabulary_for(None)
    assert v.read("build", "lanky-ish") is None
    assert v.read("gender", "tall") is None
    assert v.note("build", "lanky-ish", None) == {
        "field": "build", "value": "lanky-ish", "outcome": "not_known", "maps_to": "",
        "action": "“lanky-ish” is not a known build: left empty"}
    assert v.note("role", "bouncer", None)["maps_to"] == PersonRole.OTHER


def test_the_fields_own_value_gives_no_note():
    v = vocabulary_for(None)
    reading = v.read("build", "heavy")
    assert reading.source == EXACT and v.note("build", "heavy", reading) is None


# --- the age rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, band", [
    # a number: its own band, edges included
    ("32", "25-34"), ("25", "25-34"), ("34", "25-34"), ("35", "35-44"), ("13", "0-13"), ("14", "14-17"),
    ("17", "14-17"), ("18", "18-24"), ("64", "55-64"), ("65", "65+"), ("99", "65+"), ("0", "0-13"),
    # a range: the band holding most of it
    ("30-40", "35-44"),  # 30-34 is five years of 25-34, 35-40 six of 35-44
    ("20-30", "25-34"), ("18-30", "18-24"), ("40 to 50", "45-54"), ("16-18", "14-17"),
    ("aged between 30 and 40", "35-44"), ("30–40", "35-44"),  # an en dash
    # ties: the band holding the middle of the range
    ("30-39", "35-44"), ("30s", "35-44"), ("30's", "35-44"), ("20s", "25-34"), ("40s", "45-54"),
    ("mid 30s", "35-44"), ("mid-thirties", "35-44"), ("16-19", "18-24"), ("over 60", "65+"),
    # decades in words and parts of them
    ("early twenties", "18-24"), ("early 30s", "25-34"), ("late 30s", "35-44"), ("thirties", "35-44"),
    ("teens", "14-17"), ("early teens", "14-17"), ("late teens", "18-24"),
    # open ranges: "N+" the decade from N, "under N" the five years below
    ("40+", "45-54"), ("over 40", "45-54"), ("40 or older", "45-54"), ("65+", "65+"),
    ("under 18", "14-17"), ("under 14", "0-13"),
    # the words people put round a number
    ("about 30 years old", "25-34"), ("30ish", "25-34"), ("30-ish", "25-34"), ("c. 45", "45-54"),
    ("approx 52", "45-54"), ("thirty five", "35-44"), ("twenty", "18-24"), ("~40", "35-44"), ("25 y/o", "25-34"),
])
def test_age_rule(text, band):
    assert age_band_for(text) == band


@pytest.mark.parametrize("text", [
    "18-65",  # wider than 20 years: says too little
    "40-30",  # backwards
    "150", "121",  # not a human age
    "10s", "young", "old", "adult", "", "thirtyish-fortyish",
])
def test_age_rule_leaves_out_what_it_cannot_read(text):
    assert age_band_for(text) is None


def test_the_widest_range_read_is_twenty_years():
    assert age_span("20-40") == (20, 41) and age_band_for("20-40") == "25-34"
    assert age_band_for("20-41") is None


def test_a_tie_goes_to_the_band_holding_the_middle_and_the_range_is_half_open():
    # 30 ≤ age < 40: five years in 25-34, five in 35-44; the middle, 35, is the first year of 35-44.
    assert band_for_span(30, 40) == "35-44"
    # 10 ≤ age < 22: four years in each of 0-13, 14-17 and 18-24; the middle, 16, is in 14-17.
    assert band_for_span(10, 22) == "14-17"
    assert band_for_span(130, 140) is None


def test_a_number_from_json_is_read_as_an_age():
    reading = vocabulary_for(None).read("age_band", 32)
    assert (reading.value, reading.source) == ("25-34", AGE_RULE)


# --- the retailer's own words --------------------------------------------------------------------------


def test_the_retailers_words_are_read_first_and_for_that_retailer_only(world):
    from events.services_vocabulary import descriptor_synonym_add

    descriptor_synonym_add(actor=world.admin, organisation=world.acme, field="build", value="Large",
                           maps_to="muscular")
    descriptor_synonym_add(actor=world.admin, organisation=world.acme, field="age_band", value="30s",
                           maps_to="25-34")
    acme, bmart = vocabulary_for(world.acme), vocabulary_for(world.bmart)
    assert (acme.read("build", "large").value, acme.read("build", "large").source) == ("muscular", RETAILER)
    assert (bmart.read("build", "large").value, bmart.read("build", "large").source) == ("heavy", BUILT_IN)
    assert acme.read("age_band", "30s").value == "25-34" and bmart.read("age_band", "30s").value == "35-44"
    # The field's own values cannot be redefined.
    assert acme.read("build", "heavy").value == "heavy"


def test_without_a_vocabulary_only_the_fields_own_values_pass(world):
    """The HTML form validates without a vocabulary: its selects give the values, and anything else
    posted is refused as before, naming the field."""
    from events.interchange import EventInput, flatten_errors

    data = {"store": "ACME-001", "occurred_at": "2026-01-03T14:22:00+13:00", "type": "theft",
            "persons": [{"name": "Jon Smith", "build": "stocky"}]}
    serializer = EventInput(data=data, context={"organisation": world.acme})
    assert not serializer.is_valid()
    assert "is not a valid choice" in flatten_errors(serializer.errors)["persons.0.build"][0]
    warnings: list = []
    serializer = EventInput(data=data, context={"organisation": world.acme, "vocabulary": vocabulary_for(world.acme),
                                                "warnings": warnings})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["persons"][0]["build"] == "heavy"
    assert "_descriptor_notes" not in serializer.validated_data["persons"][0]
    assert [(w["field"], w["maps_to"]) for w in warnings] == [("persons.0.build", "heavy")]
