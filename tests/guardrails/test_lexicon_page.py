"""The Lexicon page: a retailer admin extends the lexicon for their own organisation."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from guardrails.checker import check_text
from guardrails.models import LexiconEntry

URL = "/guardrails/"


def _add(client, **over):
    data = {"term": "krishna devotee", "category": "religion", "context": "always", "note": "seen in store notes"}
    data.update(over)
    return client.post(URL, data)


@pytest.fixture
def bmart_entry(lexicon, world):
    from guardrails.services import lexicon_entry_add

    return lexicon_entry_add(actor=world.other_admin, organisation=world.bmart, term="islamo*", category="religion",
                             context="always")


def test_admin_sees_platform_entries_and_their_own(lexicon, world, as_user, bmart_entry):
    page = as_user(world.admin).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Platform lexicon" in html and ">caucasian<" in html and ">Sexual orientation<" in html
    assert "None yet" in html
    assert page.context["own"] == [] and "<strong>islamo*</strong>" not in html  # another retailer's addition
    nav = [i["label"] for i in page.context["nav_items"]]
    assert "Lexicon" in nav


def test_an_added_entry_refuses_new_text_for_that_organisation_only(lexicon, world, as_user):
    text = "Krishna devotee guy handing out books"
    assert check_text(text, organisation=world.acme) == []
    r = _add(as_user(world.admin))
    assert r.status_code == 302 and r["Location"] == URL
    entry = LexiconEntry.objects.get(organisation=world.acme, normalised="krishna devotee")
    assert entry.created_by == world.admin
    [f] = check_text(text, organisation=world.acme)
    assert f.phrase == "Krishna devotee" and f.category == "religion"
    assert check_text(text, organisation=world.bmart) == []
    assert check_text(text) == []
    assert AuditEntry.objects.filter(action="lexicon.entry_added", object_id=str(entry.pk),
                                     organisation_id=world.acme.pk).count() == 1
    page = as_user(world.admin).get(URL, {"text": text}).content.decode()
    assert "krishna devotee" in page and "&quot;Krishna devotee&quot; describes a person by religion" in page


def test_disable_and_enable(lexicon, world, as_user):
    client = as_user(world.admin)
    _add(client)
    entry = LexiconEntry.objects.get(organisation=world.acme)
    r = client.post(f"{URL}{entry.pk}/disable/")
    assert r.status_code == 302
    entry.refresh_from_db()
    assert not entry.is_active and check_text("Krishna devotee guy", organisation=world.acme) == []
    assert client.post(f"{URL}{entry.pk}/enable/").status_code == 302
    assert check_text("Krishna devotee guy", organisation=world.acme)
    assert list(AuditEntry.objects.filter(object_id=str(entry.pk), action__startswith="lexicon.")
                .order_by("seq").values_list("action", flat=True)) == [
        "lexicon.entry_added", "lexicon.entry_disabled", "lexicon.entry_enabled"]


def test_other_tenants_entry_is_404(lexicon, world, as_user, bmart_entry):
    client = as_user(world.admin)
    assert client.post(f"{URL}{bmart_entry.pk}/disable/").status_code == 404
    assert client.post(f"{URL}999999/disable/").status_code == 404
    bmart_entry.refresh_from_db()
    assert bmart_entry.is_active


def test_platform_entry_may_not_be_disabled(lexicon, world, as_user):
    platform = LexiconEntry.objects.get(organisation=None, term="black", context="person")
    assert as_user(world.admin).post(f"{URL}{platform.pk}/disable/").status_code == 403
    platform.refresh_from_db()
    assert platform.is_active


@pytest.mark.parametrize("persona", ["staff", "investigator", "officer", "police_admin", "operator"])
def test_too_low_role_is_403(lexicon, world, as_user, persona, bmart_entry):
    client = as_user(getattr(world, persona))
    assert client.get(URL).status_code == 403
    assert _add(client).status_code == 403
    assert not LexiconEntry.objects.filter(normalised="krishna devotee").exists()
    nav = [i["label"] for i in client.get("/events/").context["nav_items"]] if persona in ("staff",) else []
    assert "Lexicon" not in nav


def test_same_tenant_lower_role_may_not_disable(lexicon, world, as_user):
    _add(as_user(world.admin))
    entry = LexiconEntry.objects.get(organisation=world.acme)
    assert as_user(world.investigator).post(f"{URL}{entry.pk}/disable/").status_code == 403
    entry.refresh_from_db()
    assert entry.is_active


def test_wrong_method_is_405(lexicon, world, as_user):
    _add(as_user(world.admin))
    entry = LexiconEntry.objects.get(organisation=world.acme)
    client = as_user(world.admin)
    assert client.get(f"{URL}{entry.pk}/disable/").status_code == 405
    assert client.put(URL).status_code == 405


@pytest.mark.parametrize("data,field,words", [
    ({"term": ""}, "term", "required"),
    ({"category": ""}, "category", "required"),
    ({"context": "sometimes"}, "context", "valid choice"),
    ({"term": "guy"}, "term", "everyday word"),
    ({"term": "black"}, "term", "everyday word"),
    ({"term": "mo*zzie"}, "term", "may only end"),
    ({"term": "<script>"}, "term", "letters, digits"),
    ({"term": "black guy", "context": "exception"}, "term", "describes a person"),
    ({"term": "asian", "context": "exception"}, "term", "at least two words"),
    ({"term": "asian indian", "context": "exception"}, "term", "ordinary word"),
    ({"term": "caucasian", "category": "ethnicity"}, "term", "already in the lexicon"),
])
def test_bad_input_is_named_and_changes_nothing(lexicon, world, as_user, data, field, words):
    r = _add(as_user(world.admin), **data)
    assert r.status_code == 400
    errors = r.context["form"].errors
    assert list(errors) == [field], errors
    assert words in " ".join(errors[field])
    assert not LexiconEntry.objects.filter(organisation=world.acme).exists()


def test_an_allowed_phrase_lets_a_brand_through(lexicon, world, as_user):
    text = "took two bottles of Black Guy Rum"  # an imaginary brand name that reads like a description
    assert check_text(text, organisation=world.acme)
    r = _add(as_user(world.admin), term="guy rum", category="skin_tone", context="exception")
    assert r.status_code == 400  # "guy" is a person word: an allowed phrase may not describe a person
    r = _add(as_user(world.admin), term="Kiwi Crush", category="ethnicity", context="exception")
    assert r.status_code == 302
    assert check_text("Kiwi Crush ice blocks, a whole box", organisation=world.acme) == []
    assert check_text("a Kiwi, crushed the ice blocks", organisation=world.acme)


def test_a_duplicate_of_the_organisations_own_entry_is_refused(lexicon, world, as_user):
    client = as_user(world.admin)
    assert _add(client).status_code == 302
    r = _add(client, term="Krishna-devotee")
    assert r.status_code == 400 and "already" in " ".join(r.context["form"].errors["term"])


def test_access_rule(lexicon, world, bmart_entry):
    visible = LexiconEntry.objects.visible_to(world.staff)
    assert visible.filter(organisation=None).exists()
    assert not visible.filter(pk=bmart_entry.pk).exists()
    assert LexiconEntry.objects.visible_to(world.other_staff).filter(pk=bmart_entry.pk).exists()
    assert not LexiconEntry.objects.visible_to(world.other_investigator, "change").exists()
    assert list(LexiconEntry.objects.visible_to(world.other_admin, "change")) == [bmart_entry]
