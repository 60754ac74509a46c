"""The product catalogue: CSV import (page and command), upsert by SKU, bad rows reported by line
and field, audited; and the product search the event form calls."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from events.catalogue import products_import
from events.imports.report import ImportFileError
from events.models import Product
from tests.admin.conftest import sign_in

GOOD = (
    "sku,description,unit_value,barcode\n"
    "9300601,Razor blades 8pk,24.99,9400000000017\n"
    "111,Infant formula 900g,39.50,\n"
    "222,Manuka honey UMF 10+ 500g,54.99,9400000000024\n"
)
BAD = (
    "sku,description,unit_value,barcode\n"
    "9300601,Razor blades 8pk,26.99,9400000000017\n"   # line 2: price change
    "333,,5.00,\n"                                      # line 3: no description
    "444,Chocolate,-1,\n"                               # line 4: negative value
    "555,Chocolate 250g,4.99,94 00\n"                   # line 5: bad barcode
    "9300601,Razor blades again,1.00,\n"               # line 6: SKU twice
    "666,Energy drink 4pk,11.99,\n"                     # line 7: new
)


def csv_file(tmp_path, text, name="products.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_upserts_by_sku_and_reports_bad_rows(world, tmp_path):
    first = products_import(organisation=world.acme, path=csv_file(tmp_path, GOOD))
    assert (first.created, first.updated, first.refused) == (3, 0, 0)
    result = products_import(organisation=world.acme, path=csv_file(tmp_path, BAD), actor=world.admin)
    assert (result.created, result.updated, result.refused) == (1, 1, 4)
    assert [(e.line, e.field) for e in result.errors] == [(3, "description"), (4, "unit_value"), (5, "barcode"),
                                                          (6, "sku")]
    razor = Product.objects.get(organisation=world.acme, sku="9300601")
    assert str(razor.unit_value) == "26.99"
    assert Product.objects.filter(organisation=world.acme).count() == 4
    entry = AuditEntry.objects.filter(action="product.import").latest("seq")
    assert entry.actor_id == world.admin.pk
    assert entry.detail["created"] == ["666"]
    assert entry.detail["updated"]["9300601"]["unit_value"] == {"before": "24.99", "after": "26.99"}


def test_catalogues_are_per_retailer(world, tmp_path):
    products_import(organisation=world.acme, path=csv_file(tmp_path, GOOD))
    products_import(organisation=world.bmart, path=csv_file(tmp_path, GOOD.replace("24.99", "19.99")))
    assert str(Product.objects.get(organisation=world.acme, sku="9300601").unit_value) == "24.99"
    assert str(Product.objects.get(organisation=world.bmart, sku="9300601").unit_value) == "19.99"


def test_wrong_header_changes_nothing(world, tmp_path):
    with pytest.raises(ImportFileError, match="missing column"):
        products_import(organisation=world.acme, path=csv_file(tmp_path, "sku,name,price\n1,a,2\n"))
    assert Product.objects.count() == 0


def test_only_retailer_admins_import(world, tmp_path):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        products_import(organisation=world.acme, path=csv_file(tmp_path, GOOD), actor=world.investigator)
    with pytest.raises(PermissionDenied):
        products_import(organisation=world.acme, path=csv_file(tmp_path, GOOD), actor=world.other_admin)


def test_command(world, tmp_path, capsys):
    call_command("import_products", str(csv_file(tmp_path, GOOD)), org="acme")
    assert "3 created" in capsys.readouterr().out
    with pytest.raises(CommandError) as exc:
        call_command("import_products", str(csv_file(tmp_path, BAD)), org="acme")
    assert "4 refused" in str(exc.value)
    err = capsys.readouterr().err
    assert "line 3: description: " in err and "line 6: sku: " in err


# --- the page --------------------------------------------------------------------------------------


def upload(text: str, name: str = "products.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_page_upload_shows_report(client, world):
    c = sign_in(client, world.admin)
    r = c.post("/events/catalogue/", {"file": upload(BAD)})
    assert r.status_code == 200
    body = r.content.decode()
    assert "2 added" in body and "4 refused" in body
    assert "SKU 9300601 is already on line 2" in body
    r = c.get("/events/catalogue/?q=energy")
    assert "Energy drink 4pk" in r.content.decode()


def test_page_bad_file_names_the_field(client, world):
    c = sign_in(client, world.admin)
    r = c.post("/events/catalogue/", {"file": upload(GOOD, name="products.xlsx")})
    assert r.status_code == 400 and r.context["form"].errors["file"]
    r = c.post("/events/catalogue/", {"file": upload("nope\n1\n")})
    assert r.status_code == 400 and "header" in r.context["form"].errors["file"][0]
    assert Product.objects.count() == 0


def test_page_roles(client, world):
    assert sign_in(client, world.investigator).get("/events/catalogue/").status_code == 403
    client.logout()
    assert sign_in(client, world.officer).get("/events/catalogue/").status_code == 403
    client.logout()
    assert sign_in(client, world.admin).put("/events/catalogue/").status_code == 405
    client.logout()
    assert client.get("/events/catalogue/").status_code == 302  # to the sign-in page


# --- search ----------------------------------------------------------------------------------------


@pytest.fixture
def catalogues(world, tmp_path):
    products_import(organisation=world.acme, path=csv_file(tmp_path, GOOD))
    Product.objects.create(organisation=world.acme, sku="999", description="Discontinued honey", unit_value="1.00",
                           is_active=False)
    products_import(organisation=world.bmart, path=csv_file(tmp_path, "sku,description,unit_value\n777,B-Mart honey,3.00\n"))


@pytest.mark.parametrize("q,skus", [
    ("honey", ["222"]),          # a word of the description (not the inactive one, not B-Mart's)
    ("manuka", ["222"]),         # the start of the description
    ("93006", ["9300601"]),      # SKU prefix
    ("94000000000", ["9300601", "222"]),  # barcode prefix
    ("111", ["111"]),
    ("", []),
    ("777", []),                 # another retailer's SKU
])
def test_search(client, world, catalogues, q, skus):
    r = sign_in(client, world.staff).get("/events/products/search/", {"q": q})
    assert r.status_code == 200
    results = r.json()["results"]
    assert sorted(x["sku"] for x in results) == sorted(skus)
    if results:
        assert set(results[0]) == {"sku", "description", "unit_value"}


def test_search_limit_and_exact_first(client, world):
    Product.objects.bulk_create([Product(organisation=world.acme, sku=f"5{i:03d}", description=f"Item {i}",
                                         unit_value="1.00") for i in range(40)])
    Product.objects.create(organisation=world.acme, sku="5", description="Zed", unit_value="2.00")
    results = sign_in(client, world.staff).get("/events/products/search/?q=5").json()["results"]
    assert len(results) == 20 and results[0]["sku"] == "5"


def test_search_roles_and_methods(client, world, catalogues):
    assert sign_in(client, world.officer).get("/events/products/search/?q=honey").status_code == 403
    client.logout()
    c = sign_in(client, world.other_staff)
    assert [x["sku"] for x in c.get("/events/products/search/?q=honey").json()["results"]] == ["777"]
    assert c.post("/events/products/search/?q=honey").status_code == 405
