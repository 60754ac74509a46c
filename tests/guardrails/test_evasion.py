"""Issue 11: guardrails that hold against evasion. One test per evasion class the probe found and per false
refusal it reported; each failed before guardrails.folding and lexicon version 2. The refusal names the
word as the user typed it, and a refused form or API field names the field and stores nothing."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from events.models import Event
from guardrails.checker import check_text
from tests.admin.conftest import sign_in


def phrases(text: str) -> list[str]:
    return [f.phrase for f in check_text(text)]


def categories(text: str) -> list[str]:
    return [f.category for f in check_text(text)]


@pytest.mark.parametrize("text,phrase", [
    ("4sian male, slim build", "4sian male"),
    ("@sian guy in a grey hoodie", "@sian guy"),
    ("m*slim woman, pushed the trolley out", "m*slim"),
    ("he said he was mu$lim", "mu$lim"),
    ("wh1te guy, shaved head", "wh1te guy"),
    ("claimed to be g@y, became abusive", "g@y"),
])
def test_digits_and_symbols_for_letters(lexicon, text, phrase):
    assert phrases(text) == [phrase]


@pytest.mark.parametrize("text", ["4x4 ute, 180cm tall, 20s, m8 with him", "took 2 x $20 gift cards", "Coke 1.5L x3"])
def test_numbers_and_measures_are_not_read_as_letters(lexicon, text):
    assert check_text(text) == []


@pytest.mark.parametrize("text,phrase", [
    ("a s i a n male, slim build", "a s i a n male"),
    ("A-S-I-A-N guy", "A-S-I-A-N guy"),
    ("she was a m.u.s.l.i.m", "m.u.s.l.i.m"),
    ("I saw a m u s l i m man", "m u s l i m"),
])
def test_letters_spaced_out(lexicon, text, phrase):
    assert phrases(text) == [phrase]


@pytest.mark.parametrize("text,phrase", [
    ("indianman, mid 40s, beard", "indianman"),
    ("asianlooking female, long hair", "asianlooking"),
    ("blackguy with a red cap", "blackguy"),
    ("Muslimwoman, pushed the trolley", "Muslimwoman"),
])
def test_words_run_together(lexicon, text, phrase):
    assert phrases(text) == [phrase]


@pytest.mark.parametrize("text", ["Blackpool FC scarf", "kiwifruit, gold, 1kg", "Indianapolis Colts cap", "whiteboard markers",
                                  "Japan Airlines bag tag", "blackcurrant juice"])
def test_ordinary_compound_words_are_not_split(lexicon, text):
    assert check_text(text) == []


@pytest.mark.parametrize("text,phrase,category", [
    ("race: Pacific Island, 20s", "race: Pacific Island", "ethnicity"),
    ("Race - Maori, big build", "Race - Maori", "ethnicity"),
    ("religion: Sikh", "religion: Sikh", "religion"),
    ("sexuality: straight", "sexuality: straight", "sexual_orientation"),
    ("political party: Green", "political party: Green", "politics"),
    ("race: other", "race: other", "ethnicity"),
])
def test_labels(lexicon, text, phrase, category):
    assert [(f.phrase, f.category) for f in check_text(text)] == [(phrase, category)]


@pytest.mark.parametrize("text", ["ran a race with staff to the door", "Melbourne Cup race day bets", "In Good Faith store card"])
def test_label_words_in_prose_pass(lexicon, text):
    assert check_text(text) == []


@pytest.mark.parametrize("text,phrase,category", [
    ("navy turban and grey suit", "turban", "religion"),
    ("hijab and sunglasses", "hijab", "religion"),
    ("small black kippah, glasses", "kippah", "religion"),
    ("woman in a burqa with two kids", "burqa", "religion"),
    ("rainbow pin on his jacket", "rainbow pin", "sexual_orientation"),
    ("pride badge on the lanyard", "pride badge", "sexual_orientation"),
])
def test_religious_dress_and_pride_pins_named_alone(lexicon, text, phrase, category):
    assert [(f.phrase, f.category) for f in check_text(text)] == [(phrase, category)]


@pytest.mark.parametrize("text", ["headscarf, floral", "cross necklace, silver", "rainbow umbrella", "rainbow beanie",
                                  "turban squash from the veg section", "Pride and Prejudice DVD"])
def test_ordinary_clothing_and_rainbows_pass(lexicon, text):
    assert check_text(text) == []


@pytest.mark.parametrize("text,phrase", [
    ("said he was gay", "gay"),
    ("told staff she's a lesbian", "lesbian"),
    ("he said he was g4y", "g4y"),
    ("told staff she's a l3sbian", "l3sbian"),
    ("said he's g a y", "g a y"),
    ("said he was gayand proud", "gayand"),
    ("told staff she is pansexual", "pansexual"),
    ("told staff he's effeminate", "effeminate"),
    ("she said she was sexually fluid", "sexually fluid"),
    ("said he is camp", "he is camp"),
])
def test_self_described_orientation_reported_by_staff(lexicon, text, phrase):
    assert [(f.phrase, f.category) for f in check_text(text)] == [(phrase, "sexual_orientation")]


@pytest.mark.parametrize("text,phrase", [
    ("A\u200bsian male, slim build", "A\u200bsian male"),
    ("Mus\u00adlim woman", "Mus\u00adlim"),
    ("\u0410sian guy", "\u0410sian guy"),  # Cyrillic capital A
    ("Gr\u0435\u0435k looking older man", "Gr\u0435\u0435k looking"),  # Cyrillic e
    ("a Ma\u0304ori man", "Ma\u0304ori man"),  # combining macron: NFKC
    ("a Māori man", "Māori man"),
    ("\uff21\uff53\uff49\uff41\uff4e guy", "\uff21\uff53\uff49\uff41\uff4e guy"),  # full-width
])
def test_invisible_characters_look_alikes_and_combining_accents(lexicon, text, phrase):
    assert phrases(text) == [phrase]


@pytest.mark.parametrize("text,category", [
    ("hombre negro, alto, gorra roja", "ethnicity"),  # the slur "negro" (and Spanish for black) after a person
    ("mujer asiática, pelo largo", "ethnicity"),
    ("un tipo gay con camisa rosa", "sexual_orientation"),
    ("schwarzer Mann, groß, rote Mütze", "skin_tone"),
    ("er war schwul", "sexual_orientation"),
    ("homme noir, grand, casquette rouge", "skin_tone"),
    ("peau foncée, cheveux frisés", "skin_tone"),
    ("he Māori ia, he tangata nui", "ethnicity"),
    ("tangata Inia, pōtae whero", "ethnicity"),
    ("kiri mangu, makawe poto", "skin_tone"),
    ("tama Samoa, ofu mumu", "ethnicity"),
    ("o ia o se palagi", "ethnicity"),
    ("kala aadmi, lamba", "skin_tone"),
    ("musalman aadmi, daadhi", "religion"),
    ("heiren, gao ge zi", "skin_tone"),
    ("tongxinglian couple", "sexual_orientation"),
])
def test_other_languages_staff_write(lexicon, text, category):
    assert categories(text) == [category]


@pytest.mark.parametrize("text", ["chaqueta negra y gorra blanca", "pantalones negros y zapatillas blancas",
                                  "schwarze Jacke, weiße Turnschuhe", "veste noire, casquette blanche",
                                  "pōtae pango, hāte mā", "kala chana, 1kg bag", "from Samoa, visiting family",
                                  "spoke te reo Māori to the child", "beige chinos", "hey mate"])
def test_other_languages_describing_things_pass(lexicon, text):
    assert check_text(text) == []


@pytest.mark.parametrize("text,phrase", [
    ("fa'afafine, tall, long hair", "fa'afafine"),  # an apostrophe inside the word gets past the fast path
    ("skin tanned, blonde, surfer look", "skin tanned"),
    ("Democrat guy with a badge", "Democrat guy"),  # a party name that is not an ordinary word, at the start
    ("looked foreign, couldn't tell where from", "looked foreign"),
    ("white trash couple with a toddler", "white trash"),
])
def test_causes_of_the_first_held_out_misses(lexicon, text, phrase):
    assert phrases(text) == [phrase]


@pytest.mark.parametrize("text", ["beanie with a pompom", "Green jacket, black jeans", "foreign coins in the till"])
def test_and_what_still_passes_beside_them(lexicon, text):
    assert check_text(text) == []


@pytest.mark.parametrize("text", ["tattoo of a kiwi on left wrist", "Catholic school uniform", "Gay Paree wine, 2 bottles"])
def test_the_probes_false_refusals_pass(lexicon, text):
    assert check_text(text) == []


def test_still_refused_beside_the_false_refusals(lexicon):
    assert phrases("a Kiwi bloke took it") == ["Kiwi bloke"]
    assert phrases("Catholic guy, took candles") == ["Catholic"]
    assert phrases("gay guy with a bottle of Gay Paree") == ["gay"]
    assert phrases("Ratana church member, older man") == ["Ratana"]


# --- through a real field --------------------------------------------------------------------------


def _api_theft(**over) -> dict:
    body = {"external_id": "ACME-2026-000999", "store": "ACME-001", "occurred_at": "2026-10-03T14:22:00+13:00",
            "type": "theft", "narrative": "Filled a bag with razor blades and left past the tills.",
            "products": [{"sku": "9300601", "description": "Razor blades 8pk", "quantity": 1, "unit_value": "24.99"}],
            "persons": [{"ref": "p1", "role": "offender", "name": "", "aliases": [], "hair": "short brown",
                         "clothing": "black hoodie", "marks": ""}]}
    body.update(over)
    return body


@pytest.mark.parametrize("typed", ["4sian guy took razor blades", "A s i a n guy took razor blades",
                                   "A\u200bsian guy took razor blades", "race: Asian, took razor blades"])
def test_the_api_names_the_field_and_the_word_as_typed_and_stores_nothing(lexicon, world, typed):
    client = APIClient()
    client.force_authenticate(world.staff)
    r = client.post("/api/v1/events/", _api_theft(narrative=typed), format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert list(errors) == ["narrative"]
    word = check_text(typed)[0].phrase
    assert word in typed and any(word in m for m in errors["narrative"])
    assert Event.objects.count() == 0


def test_the_form_names_the_field_and_the_word_as_typed_and_stores_nothing(lexicon, world):
    from tests.events.test_views_capture import NEW, theft

    staff = sign_in(__import__("django.test", fromlist=["Client"]).Client(), world.staff)
    r = staff.post(NEW, theft(draft_key=str(uuid.uuid4()), **{"persons.0.clothing": "navy turban, grey suit",
                                                               "persons.0.marks": "tattoo of a kiwi on left wrist"}))
    assert r.status_code == 400
    html = r.content.decode()
    start = html.index('id="f-persons-0-clothing-error"')
    message = html[start:html.index("</p>", start)]
    assert "turban" in message and "religion" in message
    assert 'id="f-persons-0-marks-error"' not in html  # the kiwi tattoo passes
    assert Event.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Kiri Brown", "Tane White", "Tane Tonga", "Kiri Black", "Tama Samoa"])
def test_maori_given_names_before_a_family_name_are_names_not_descriptions(name):
    """Kiri, Tane and Tama are common given names in New Zealand as well as te reo words for skin,
    man and boy: 193 of 100,000 synthetic imported events were refused for names such as "Kiri
    Brown" (bench/import_bench.py) until a capitalised pair was read as a name."""
    from guardrails.checker import check_text

    assert not check_text(name), name


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["kiri mangu", "he was a tane tonga", "tangata Māori"])
def test_the_te_reo_descriptions_are_still_refused(text):
    from guardrails.checker import check_text

    assert check_text(text), text
