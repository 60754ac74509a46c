"""manage.py provision FILE.json (shared/CONTRACTS.md)."""

from __future__ import annotations

import copy

import pytest

from accounts.models import Organisation, OrgKind, PoliceSharing, Role, Store, User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "sam-chooses-a-long-one"

# The example of CONTRACTS.md, with a real password where it shows "...".
EXAMPLE = {
    "organisations": [
        {"slug": "acme", "name": "Acme Stores", "kind": "retailer",
         "ctd_opt_in": True, "image_matching_opt_in": False,
         "police_sharing_default": "all", "police_excluded_agencies": ["pol-wlg"],
         "stores": [{"code": "ACME-017", "name": "Acme Ponsonby", "region": "AKL", "timezone": "Pacific/Auckland"}]},
        {"slug": "pol-akl", "name": "Auckland Police", "kind": "law_enforcement", "jurisdictions": ["AKL"]},
    ],
    "users": [
        {"email": "sam@acme.test", "organisation": "acme", "role": "store_staff", "stores": ["ACME-017"],
         "password": PASSWORD},
        {"email": "ira@acme.test", "organisation": "acme", "role": "investigator", "sensitive_access": True,
         "sso_only": True},
    ],
}


@pytest.fixture
def pol_wlg(db):
    # The example excludes pol-wlg, which it does not define: it must exist already.
    return Organisation.objects.create(slug="pol-wlg", name="Wellington Police", kind=OrgKind.LAW_ENFORCEMENT,
                                       jurisdictions=["WLG"])


def counts():
    return (Organisation.objects.count(), Store.objects.count(), User.objects.count(), AuditEntry.objects.count())


def snapshot():
    return (
        list(Organisation.objects.order_by("slug").values()),
        list(Store.objects.order_by("code").values()),
        list(User.objects.order_by("email").values("email", "role", "organisation_id", "sensitive_access",
                                                   "sso_only", "is_active", "password")),
        sorted(User.stores.through.objects.values_list("user_id", "store_id")),
        sorted(Organisation.police_excluded_agencies.through.objects.values_list("from_organisation_id",
                                                                                  "to_organisation_id")),
        AuditEntry.objects.count(),
    )


def test_the_contract_example_provisions_everything(pol_wlg, run, write_json, client):
    ran = run("provision", write_json(EXAMPLE))
    assert ran.error is None, ran.err
    acme = Organisation.objects.get(slug="acme")
    assert (acme.name, acme.kind, acme.ctd_opt_in, acme.image_matching_opt_in, acme.police_sharing_default) == (
        "Acme Stores", OrgKind.RETAILER, True, False, PoliceSharing.ALL)
    assert list(acme.police_excluded_agencies.values_list("slug", flat=True)) == ["pol-wlg"]
    store = Store.objects.get(organisation=acme, code="ACME-017")
    assert (store.name, store.region, store.timezone) == ("Acme Ponsonby", "AKL", "Pacific/Auckland")
    assert Organisation.objects.get(slug="pol-akl").jurisdictions == ["AKL"]
    sam = User.objects.get(email="sam@acme.test")
    assert (sam.organisation, sam.role, list(sam.stores.all())) == (acme, Role.STORE_STAFF, [store])
    ira = User.objects.get(email="ira@acme.test")
    assert (ira.role, ira.sensitive_access, ira.sso_only, ira.has_usable_password()) == (
        Role.INVESTIGATOR, True, True, False)
    # Sam can sign in with the password from the file (store staff need no second factor).
    r = client.post("/accounts/login/", {"email": "sam@acme.test", "password": PASSWORD})
    assert r.status_code == 302 and client.get("/events/").status_code == 200
    # Each change is audited, by the command.
    created = AuditEntry.objects.filter(action__in=["organisation.create", "store.create", "user.create"])
    assert created.count() == 5 and set(created.values_list("actor_email", flat=True)) == {"system:provision"}
    assert "sam@acme.test: created" in ran.out and "5 created" in ran.out


def test_running_the_same_file_again_changes_nothing(pol_wlg, run, write_json):
    path = write_json(EXAMPLE)
    assert run("provision", path).error is None
    before = snapshot()
    again = run("provision", path)
    assert again.error is None, again.err
    assert snapshot() == before  # not even an audit row or a re-hashed password
    assert "0 created, 0 updated" in again.out


def test_omitted_fields_keep_their_value_and_given_ones_update(pol_wlg, run, write_json):
    assert run("provision", write_json(EXAMPLE)).error is None
    update = {
        "organisations": [{"slug": "acme", "police_sharing_default": "internal",
                           "stores": [{"code": "ACME-017", "name": "Acme Ponsonby Central",
                                       "latitude": -36.85712345678, "longitude": 174.7463},
                                      {"code": "ACME-018", "name": "Acme Petone", "region": "WLG"}]}],
        "users": [{"email": "sam@acme.test", "stores": ["ACME-018"]},
                  {"email": "ira@acme.test", "sensitive_access": False}],
    }
    ran = run("provision", write_json(update, "update.json"))
    assert ran.error is None, ran.err
    acme = Organisation.objects.get(slug="acme")
    assert acme.police_sharing_default == PoliceSharing.INTERNAL
    assert acme.name == "Acme Stores" and acme.ctd_opt_in is True  # omitted: kept
    assert list(acme.police_excluded_agencies.values_list("slug", flat=True)) == ["pol-wlg"]
    old = Store.objects.get(code="ACME-017")
    assert (old.name, old.region) == ("Acme Ponsonby Central", "AKL")
    assert (str(old.latitude), str(old.longitude)) == ("-36.857123", "174.746300")
    sam = User.objects.get(email="sam@acme.test")
    assert [s.code for s in sam.stores.all()] == ["ACME-018"] and sam.check_password(PASSWORD)
    assert User.objects.get(email="ira@acme.test").sensitive_access is False
    change = AuditEntry.objects.filter(action="user.update", object_id=str(sam.pk)).get()
    assert change.detail["changes"]["stores"] == {"before": ["ACME-017"], "after": ["ACME-018"]}
    assert "user sam@acme.test: updated (stores)" in ran.out


BAD_ENTRIES = [
    # (how the example is spoiled, the message that must name the entry)
    (lambda d: d["users"].append({"email": "boss@acme.test", "organisation": "acme", "role": "chief"}),
     "users[2].role: 'chief' is not a role"),
    (lambda d: d["users"][1].update(role="police_officer"), "users[1].role: A Retailer user cannot be Police officer"),
    (lambda d: d["users"][0].update(stores=["NOPE-1"]), "users[0].stores: 'acme' has no store 'NOPE-1'"),
    (lambda d: d["users"][0].update(organisation="nowhere"), "users[0].organisation: no organisation 'nowhere'"),
    (lambda d: d["users"][0].update(password="short"), "users[0].password: This password is too short"),
    (lambda d: d["users"][1].update(password=PASSWORD), "users[1].password: This user signs in through single"),
    (lambda d: d["users"][0].update(email="not-an-email"), "users[0].email: Enter a valid email address"),
    (lambda d: d["users"].append(dict(d["users"][0])), "users[2].email: 'sam@acme.test' appears twice (also users[0])"),
    (lambda d: d["organisations"][0]["stores"][0].update(region="AUCKLAND CITY"),
     "organisations[0].stores[0].region: Region codes are 2-10 letters"),
    (lambda d: d["organisations"][0]["stores"][0].update(timezone="Mars/Olympus"),
     "organisations[0].stores[0].timezone: 'Mars/Olympus' is not a known time zone"),
    (lambda d: d["organisations"][0].update(kind="shop"), "organisations[0].kind: 'shop' is not a kind"),
    (lambda d: d["organisations"][0].update(police_excluded_agencies=["pol-akl", "acme"]),
     "organisations[0].police_excluded_agencies: Acme Stores (acme) is not a police agency"),
    (lambda d: d["organisations"][1].update(ctd_opt_in="yes"), "organisations[1].ctd_opt_in: must be true or false"),
    (lambda d: d["organisations"][1].update(ctd_opt_in=True), "organisations[1].ctd_opt_in: only retailers"),
    (lambda d: d["organisations"][1].update(colour="blue"), "organisations[1].colour: unknown field"),
    (lambda d: d["organisations"][1].pop("kind"), "organisations[1].kind: required for a new organisation"),
    (lambda d: d["organisations"][0]["stores"].append({"code": "ACME-099"}),
     "organisations[0].stores[1].name: required for a new store"),
]


@pytest.mark.parametrize("spoil,message", BAD_ENTRIES, ids=[m.split(":")[0] for _, m in BAD_ENTRIES])
def test_a_bad_entry_changes_nothing_and_is_named(pol_wlg, run, write_json, spoil, message):
    data = copy.deepcopy(EXAMPLE)
    spoil(data)
    before = counts()
    ran = run("provision", write_json(data))
    assert ran.error is not None, ran.out  # exit status 1
    assert message in ran.err, ran.err
    assert "nothing was changed" in str(ran.error)
    assert counts() == before
    assert not Organisation.objects.filter(slug__in=["acme", "pol-akl"]).exists()


def test_a_bad_entry_in_an_update_leaves_the_good_entries_unapplied(pol_wlg, run, write_json):
    assert run("provision", write_json(EXAMPLE)).error is None
    before = snapshot()
    data = {"organisations": [{"slug": "acme", "name": "Renamed"}],
            "users": [{"email": "sam@acme.test", "role": "investigator"},
                      {"email": "new@acme.test", "organisation": "acme", "role": "retailer_admin"},
                      {"email": "ira@acme.test", "organisation": "pol-akl"}]}
    ran = run("provision", write_json(data, "bad.json"))
    assert ran.error is not None
    assert "users[2].organisation: ira@acme.test already belongs to acme" in ran.err
    assert snapshot() == before
    assert Organisation.objects.get(slug="acme").name == "Acme Stores"


def test_several_bad_entries_are_all_reported(pol_wlg, run, write_json):
    data = copy.deepcopy(EXAMPLE)
    data["users"][0]["role"] = "chief"
    data["users"][1]["sso_only"] = "yes"
    ran = run("provision", write_json(data))
    assert "users[0].role: 'chief' is not a role" in ran.err
    assert "users[1].sso_only: must be true or false" in ran.err


def test_a_file_that_is_not_json_or_missing_is_refused(run, write_json, tmp_path):
    ran = run("provision", write_json("{not json"))
    assert ran.error is not None and "not valid JSON" in str(ran.error)
    ran = run("provision", str(tmp_path / "absent.json"))
    assert ran.error is not None and "cannot read" in str(ran.error)
    ran = run("provision", write_json({"tenants": []}))
    assert ran.error is not None and "tenants: unknown section" in ran.err


def test_the_kind_of_an_existing_organisation_cannot_change(pol_wlg, run, write_json):
    ran = run("provision", write_json({"organisations": [{"slug": "pol-wlg", "kind": "retailer"}]}))
    assert "organisations[0].kind: 'pol-wlg' is a law_enforcement already" in ran.err
    assert Organisation.objects.get(slug="pol-wlg").kind == OrgKind.LAW_ENFORCEMENT


def test_users_and_stores_can_be_deactivated_and_reactivated(pol_wlg, run, write_json):
    assert run("provision", write_json(EXAMPLE)).error is None
    off = {"organisations": [{"slug": "acme", "stores": [{"code": "ACME-017", "is_active": False}]}],
           "users": [{"email": "sam@acme.test", "is_active": False}]}
    assert run("provision", write_json(off, "off.json")).error is None
    assert not User.objects.get(email="sam@acme.test").is_active
    assert not Store.objects.get(code="ACME-017").is_active
    on = {"users": [{"email": "sam@acme.test", "is_active": True}]}
    assert run("provision", write_json(on, "on.json")).error is None
    assert User.objects.get(email="sam@acme.test").is_active
