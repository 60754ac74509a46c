"""check_text and the validator: the brief's examples, reading in context, and the compiled cache."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from guardrails import checker
from guardrails.checker import Finding, check_text, no_sensitive_characteristics
from guardrails.models import LexiconEntry


def refused(text, **kw) -> list[str]:
    return [f.phrase for f in check_text(text, **kw)]


@pytest.mark.parametrize("text,phrase,category", [
    ("black guy", "black guy", "skin_tone"),
    ("Asian male, slim build", "Asian male", "ethnicity"),
    ("looked Indian", "looked Indian", "ethnicity"),
    ("gay", "gay", "sexual_orientation"),
    ("a Maori man", "Maori man", "ethnicity"),
    ("a Māori man", "Māori man", "ethnicity"),
    ("dark-skinned", "dark-skinned", "skin_tone"),
    ("Labour supporter", "Labour supporter", "politics"),
    ("he said he was Muslim", "Muslim", "religion"),
    ("light skinned guy", "light skinned", "skin_tone"),
    ("lightskinned", "lightskinned", "skin_tone"),
    ("BLACK GUY, RED CAP", "BLACK GUY", "skin_tone"),
    ("two Asians ran off", "Asians", "ethnicity"),
    ("the offender was white.", "offender was white", "skin_tone"),
    ("male, 20s, white, slim", "male, 20s, white", "skin_tone"),
    ("skin: olive", "skin: olive", "skin_tone"),
    ("caucasion male", "caucasion", "ethnicity"),
    ("Carribean guy", "Carribean guy", "ethnicity"),
    ("Pacific Islander youths", "Pacific Islander youths", "ethnicity"),
    ("votes Green", "votes Green", "politics"),
    ("he's straight", "he's straight", "sexual_orientation"),
    ("spoke with an Indian accent", "Indian accent", "ethnicity"),
    ("navy turban and grey suit", "turban", "religion"),  # issue 11: religious dress named alone
    ("hijab and sunglasses", "hijab", "religion"),
])
def test_refused(lexicon, text, phrase, category):
    findings = check_text(text)
    assert [(f.phrase, f.category) for f in findings] == [(phrase, category)]


@pytest.mark.parametrize("text", [
    "black hoodie", "white sneakers", "brown hair", "Christian Dior bag", "wearing a cross necklace",
    "black men's jacket", "black ladies handbag", "white Toyota Hilux ute", "dark blue jeans", "fair hair, light build",
    "olive green jacket", "straight-leg jeans", "walked straight out", "Indian takeaway", "Swiss chocolate",
    "spoke Samoan to her kids", "nail polish", "green hoodie", "conservative estimate", "Black Friday",
    "black-clad male on a motorbike", "dark-haired woman", "he was white as a sheet", "it was black", "Christian Taylor",
    "All Blacks jersey", "Chinese and Indian food", "navy head wrap and grey suit", "headscarf and sunglasses", "",
])
def test_passes(lexicon, text):
    assert check_text(text) == []


def test_finding_names_the_phrase_as_written_and_why(lexicon):
    text = "Tall  BLACK-Guy, grey hoodie"
    [f] = check_text(text)
    assert isinstance(f, Finding)
    assert (f.phrase, text[f.start:f.end]) == ("BLACK-Guy", "BLACK-Guy")
    assert f.message == ('"BLACK-Guy" describes a person by skin colour or ethnicity; describe clothing, build, hair '
                         'or marks instead.')
    assert f.term == "black" and f.entry_id == LexiconEntry.objects.get(term="black", organisation=None).pk


def test_several_findings_in_a_narrative(lexicon):
    text = ("Asian male and a white female came in at 3pm. He was wearing a black hoodie; she had a cross necklace. "
            "She told staff she was Muslim.")
    assert refused(text) == ["Asian male", "white female", "Muslim"]


def test_the_lexicon_is_compiled_once_and_recompiled_after_a_change(lexicon, world, settings):
    settings.GUARDRAILS_LEXICON_RECHECK_SECONDS = 0  # ask the database every time: only a change recompiles
    first = checker.lexicon_for(world.acme)
    assert checker.lexicon_for(world.acme) is first
    assert checker.lexicon_for(world.acme.pk) is first
    LexiconEntry.objects.create(organisation=world.acme, term="krishna devotee", normalised="krishna devotee",
                                category="religion", context="always")  # written behind the services' back
    second = checker.lexicon_for(world.acme)
    assert second is not first and refused("Krishna devotee guy", organisation=world.acme) == ["Krishna devotee"]
    assert refused("Krishna devotee guy", organisation=world.bmart) == []


def test_with_no_platform_rows_it_fails_closed_on_the_shipped_file(db):
    LexiconEntry.objects.filter(organisation__isnull=True).delete()
    checker.lexicon_changed(None)
    try:
        assert refused("black guy") == ["black guy"]
    finally:
        checker.lexicon_changed(None)


def test_a_disabled_platform_entry_is_not_used(lexicon):
    LexiconEntry.objects.filter(organisation=None, term="kiwi").update(is_active=False)
    checker.lexicon_changed(None)
    assert refused("Kiwi bloke") == []


# --- the validator ------------------------------------------------------------------------------


class DescriptionForm(forms.Form):
    clothing = forms.CharField(validators=[no_sensitive_characteristics("Clothing")])


def test_validator_in_a_django_form(lexicon):
    form = DescriptionForm({"clothing": "black guy, grey hoodie"})
    assert not form.is_valid()
    assert form.errors["clothing"] == [
        '"black guy" describes a person by skin colour or ethnicity; describe clothing, build, hair or marks instead.']
    assert form.errors.as_data()["clothing"][0].code == "sensitive_characteristic"
    assert form.errors.as_data()["clothing"][0].params == {"field": "Clothing", "phrase": "black guy"}
    assert DescriptionForm({"clothing": "black hoodie"}).is_valid()


def test_validator_called_directly_raises_django_validation_error(lexicon):
    with pytest.raises(ValidationError) as e:
        no_sensitive_characteristics("Marks")("looked Indian, scar on chin")
    assert e.value.messages == ['"looked Indian" describes a person by ethnicity or national origin; describe '
                                'clothing, build, hair or marks instead.']
    no_sensitive_characteristics("Marks")("scar on chin")


class PersonSerializer(serializers.Serializer):
    hair = serializers.CharField(validators=[no_sensitive_characteristics("Hair")])
    clothing = serializers.CharField(validators=[no_sensitive_characteristics("Clothing")])


def test_validator_in_a_drf_serializer_names_the_field(lexicon):
    s = PersonSerializer(data={"hair": "brown, short", "clothing": "white male in a black hoodie"})
    assert not s.is_valid()
    assert list(s.errors) == ["clothing"]
    assert s.errors["clothing"][0].startswith('"white male" describes a person by skin colour')
    assert s.errors["clothing"][0].code == "sensitive_characteristic"


def test_drf_validator_uses_the_organisation_in_context(lexicon, world):
    from guardrails.services import lexicon_entry_add

    lexicon_entry_add(actor=world.admin, organisation=world.acme, term="krishna devotee", category="religion",
                      context="always")
    data = {"hair": "shaved", "clothing": "Krishna devotee robes"}
    assert not PersonSerializer(data=data, context={"organisation": world.acme}).is_valid()
    assert PersonSerializer(data=data, context={"organisation": world.bmart}).is_valid()
    assert PersonSerializer(data=data).is_valid()  # no organisation: the platform lexicon only


def test_speed_of_a_short_field(lexicon):
    import time

    check_text("warm up")
    text = "Tall male, black hoodie, grey trackies, white sneakers, tattoo on left hand"
    start = time.perf_counter()
    for _ in range(1000):
        check_text(text)
    per_call = (time.perf_counter() - start) / 1000
    assert per_call < 0.001, f"{per_call * 1e6:.0f} µs per check"
