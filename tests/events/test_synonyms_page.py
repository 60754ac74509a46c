"""The Synonyms page: the built-in table and the age rule (read-only), the retailer's own words; a
retailer admin adds and removes them (audited), investigators read, store staff are turned away."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from events.models import DescriptorSynonym
from events.services_vocabulary import descriptor_synonym_add, descriptor_synonym_remove
from events.vocabulary import vocabulary_for
from tests.admin.conftest import form_errors, sign_in

URL = "/events/synonyms/"


@pytest.fixture
def as_user(db):
    from django.test import Client

    return lambda user: sign_in(Client(), user)


def add(client, **over):
    data = {"field": "build", "value": "Big Lad", "maps_to": "heavy"}
    data.update(over)
    return client.post(URL, data)


@pytest.fixture
def bmart_word(world):
    return descriptor_synonym_add(actor=world.other_admin, organisation=world.bmart, field="build",
                                  value="beanpole", maps_to="slim")


def test_admin_sees_the_built_in_table_the_age_rule_and_their_own_words(world, as_user, bmart_word):
    page = as_user(world.admin).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Built-in table" in html and "stocky, solid, large, big, fat, overweight, chubby" in html
    assert "athletic, fit, built, strong" in html and "suspect, thief, shoplifter" in html
    assert "<tr><td>30-40</td><td>35-44</td></tr>" in html and "<tr><td>30s</td><td>35-44</td></tr>" in html
    assert "<tr><td>18-65</td><td>not known (left out)</td></tr>" in html
    assert "Hair, clothing and marks are free text" in html
    assert "None yet: only the built-in table applies." in html and "beanpole" not in html  # B-Mart's word
    assert "Add your organisation's word" in html
    assert "Synonyms" in [i["label"] for i in page.context["nav_items"]]


def test_an_added_word_applies_to_that_retailers_imports_only_and_is_audited(world, as_user):
    client = as_user(world.admin)
    r = add(client)
    assert r.status_code == 302 and r["Location"] == URL
    entry = DescriptorSynonym.objects.get()
    assert (entry.organisation, entry.field, entry.value, entry.normalised, entry.maps_to, entry.created_by) == (
        world.acme, "build", "Big Lad", "big lad", "heavy", world.admin)
    assert vocabulary_for(world.acme).read("build", "big-lad").value == "heavy"
    assert vocabulary_for(world.bmart).read("build", "big lad") is None
    row = AuditEntry.objects.get(action="descriptor_synonym.added")
    assert (row.object_id, row.organisation_id, row.detail["maps_to"]) == (str(entry.pk), world.acme.pk, "heavy")
    html = client.get(URL).content.decode()
    assert "<strong>Big Lad</strong>" in html and f"/events/synonyms/{entry.pk}/remove/" in html


def test_not_known_is_a_choice_for_fields_that_may_be_empty(world, as_user):
    r = add(as_user(world.admin), field="age_band", value="tbd", maps_to="(not known)")
    assert r.status_code == 302
    assert DescriptorSynonym.objects.get().maps_to == ""
    assert vocabulary_for(world.acme).read("age_band", "TBD").value == ""


def test_a_word_may_override_the_built_in_table_for_that_retailer(world, as_user):
    assert add(as_user(world.admin), value="large", maps_to="muscular").status_code == 302
    assert vocabulary_for(world.acme).read("build", "large").value == "muscular"
    assert vocabulary_for(world.bmart).read("build", "large").value == "heavy"
    assert AuditEntry.objects.get(action="descriptor_synonym.added").detail["overrides"] == "heavy"


@pytest.mark.parametrize("over, field, words", [
    ({"field": "hair"}, "field", "free text"),
    ({"field": ""}, "field", "required"),
    ({"value": ""}, "value", "required"),
    ({"value": "   "}, "value", "required"),
    ({"value": "x" * 61}, "value", "at most 60 characters"),
    ({"maps_to": "enormous"}, "maps_to", "valid choice"),
    ({"maps_to": "male"}, "maps_to", "“male” is not a build: choose one of slim, medium, heavy, muscular"),
    ({"field": "role", "maps_to": "(not known)"}, "maps_to", "A role cannot be left as not known: choose one of offender"),
    ({"field": "gender", "maps_to": "heavy"}, "maps_to", "“heavy” is not a gender: choose one of male, female, other"),
    ({"value": "Heavy"}, "value", "is already the build heavy"),
    ({"value": "stocky"}, "value", "already reads as heavy in the built-in table"),
    ({"value": "black guy"}, "value", "skin colour or ethnicity"),
])
def test_bad_input_names_the_field_and_changes_nothing(world, as_user, over, field, words):
    r = add(as_user(world.admin), **over)
    assert r.status_code == 400
    errors = form_errors(r)
    assert field in errors, errors
    assert words in " ".join(errors[field])
    assert DescriptorSynonym.objects.count() == 0
    assert not AuditEntry.objects.filter(action="descriptor_synonym.added").exists()
    assert "Nothing was saved." in r.content.decode()


def test_the_same_word_twice_is_refused(world, as_user):
    client = as_user(world.admin)
    add(client)
    r = add(client, value="big-lad", maps_to="muscular")
    assert r.status_code == 400 and "already reads as heavy in your organisation's synonyms" in " ".join(
        form_errors(r)["value"])
    assert DescriptorSynonym.objects.get().maps_to == "heavy"


def test_remove_a_word(world, as_user):
    client = as_user(world.admin)
    add(client)
    entry = DescriptorSynonym.objects.get()
    r = client.post(f"{URL}{entry.pk}/remove/")
    assert r.status_code == 302 and r["Location"] == URL
    assert not DescriptorSynonym.objects.exists()
    assert vocabulary_for(world.acme).read("build", "big lad") is None
    row = AuditEntry.objects.get(action="descriptor_synonym.removed")
    assert (row.object_id, row.detail["value"], row.detail["maps_to"]) == (str(entry.pk), "Big Lad", "heavy")


def test_another_tenants_word_is_a_404_and_stays(world, as_user, bmart_word):
    assert as_user(world.admin).post(f"{URL}{bmart_word.pk}/remove/").status_code == 404
    assert as_user(world.admin).post(f"{URL}999999/remove/").status_code == 404
    assert DescriptorSynonym.objects.filter(pk=bmart_word.pk).exists()


def test_investigators_read_but_may_not_change(world, as_user):
    entry = descriptor_synonym_add(actor=world.admin, organisation=world.acme, field="gender", value="fella",
                                   maps_to="male")
    client = as_user(world.investigator)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>fella</strong>" in html and "Add your organisation's word" not in html and "/remove/" not in html
    assert add(client).status_code == 403
    assert client.post(f"{URL}{entry.pk}/remove/").status_code == 403
    assert DescriptorSynonym.objects.count() == 1
    assert "Synonyms" not in [i["label"] for i in page.context["nav_items"]]  # reached from the import page


@pytest.mark.parametrize("persona", ["staff", "officer", "police_admin", "operator"])
def test_other_roles_are_turned_away(world, as_user, persona):
    client = as_user(getattr(world, persona))
    assert client.get(URL).status_code == 403
    assert add(client).status_code == 403
    assert DescriptorSynonym.objects.count() == 0


def test_services_check_the_actor_too(world, bmart_word):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        descriptor_synonym_add(actor=world.investigator, organisation=world.acme, field="build", value="big lad",
                               maps_to="heavy")
    with pytest.raises(PermissionDenied):
        descriptor_synonym_add(actor=world.admin, organisation=world.bmart, field="build", value="big lad",
                               maps_to="heavy")
    with pytest.raises(PermissionDenied):
        descriptor_synonym_remove(actor=world.admin, entry=bmart_word)
    assert DescriptorSynonym.objects.filter(pk=bmart_word.pk).exists()


def test_try_a_value(world, as_user):
    client = as_user(world.investigator)
    html = client.get(URL, {"try_field": "build", "try_value": "Stocky"}).content.decode()
    assert "“Stocky” read as heavy (built-in synonym)" in html
    html = client.get(URL, {"try_field": "age_band", "try_value": "mid 30s"}).content.decode()
    assert "“mid 30s” read as 35-44 (the age band holding most of it)" in html
    html = client.get(URL, {"try_field": "build", "try_value": "lanky-ish"}).content.decode()
    assert "“lanky-ish” is not a known build: left empty" in html
