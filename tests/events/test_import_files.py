"""Import files other than plain JSONL: CSV with numbered columns, and .zip archives with stills
(which become evidence on the person), refused cleanly when unsafe (traversal, symlinks, bombs)."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import pytest

from events.imports.report import ImportFileError
from events.imports.writer import events_import
from events.models import Event, EventPerson
from evidence.models import EvidenceItem
from tests.events.import_helpers import jpeg_bytes, row, write_jsonl


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- CSV ---------------------------------------------------------------------------------------------

CSV = (
    "external_id,store,occurred_at,type,narrative,persons.0.name,persons.0.aliases,persons.0.height_cm,"
    "persons.0.clothing,persons.1.name,persons.1.role,products.0.sku,products.0.description,products.0.quantity,"
    "products.0.unit_value,vehicles.0.plate,vehicles.0.person_ref\n"
    'ACME-1,ACME-001,2026-03-03T14:22:00+13:00,theft,"Two men, one bag.\nLeft past the tills.",Jon Smith,'
    "Johnny; JJ,180,black hoodie,Ann Lee,accomplice,9300601,Razor blades 8pk,6,24.99,abc 123,p1\n"
    "ACME-2,ACME-001,2026-03-04T10:00:00+13:00,theft,,,,,,,,,Chocolate,1,4.99,,\n"
    "ACME-3,ACME-001,2026-03-05T10:00:00+13:00,shoplifting,,Kim,,900,,,,,,,,,\n"
    "\n"
    "ACME-4,ACME-009,2026-03-05T10:00:00+13:00,theft,,,,,,,,,,,,,\n"
)


def test_csv_numbered_columns_become_nested_rows(world, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(CSV, encoding="utf-8")
    result = events_import(organisation=world.acme, path=path)
    assert result.created == 2
    # Line numbers are the file's own, counting the quoted line break in ACME-1's narrative.
    assert sorted((e.line, e.field) for e in result.errors) == [(5, "persons.0.height_cm"), (5, "type"), (7, "store")]
    event = Event.objects.get(external_id="ACME-1")
    assert event.narrative == "Two men, one bag.\nLeft past the tills."
    jon, ann = event.persons.order_by("ref")
    assert (jon.ref, jon.name, jon.aliases, jon.height_cm, jon.clothing) == ("p1", "Jon Smith", ["Johnny", "JJ"], 180,
                                                                             "black hoodie")
    assert (ann.ref, ann.role) == ("p2", "accomplice")
    assert event.vehicles.get().person == jon and event.vehicles.get().plate_normalised == "ABC123"
    assert str(event.total_value) == "149.94"
    second = Event.objects.get(external_id="ACME-2")
    assert second.persons.count() == 0 and second.products.get().description == "Chocolate"


def test_csv_with_an_unknown_column_is_refused_before_anything_is_written(world, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("external_id,store,occurred_at,type,persons.0.nmae\nX,ACME-001,2026-03-03T14:22:00+13:00,theft,Jo\n")
    with pytest.raises(ImportFileError, match="persons.0.nmae"):
        events_import(organisation=world.acme, path=path)
    assert Event.objects.count() == 0


def test_csv_not_utf8_is_refused(world, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"external_id,store,occurred_at,type,narrative\nX,ACME-001,2026-03-03T14:22:00+13:00,theft,caf\xe9\n")
    with pytest.raises(ImportFileError, match="UTF-8"):
        events_import(organisation=world.acme, path=path)
    assert Event.objects.count() == 0


# --- ZIP with stills ---------------------------------------------------------------------------------


def make_zip(path, files: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return str(path)


def jsonl(*rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def with_images(n: int, *images: str) -> dict:
    r = row(n)
    r["persons"][0]["images"] = list(images)
    return r


def test_zip_stills_become_evidence_on_the_person(world, tmp_path):
    path = make_zip(tmp_path / "bundle.zip", {
        "export/events.jsonl": jsonl(with_images(1, "stills/1-a.jpg", "stills/1-b.jpg"), row(2)),
        "export/stills/1-a.jpg": jpeg_bytes((200, 0, 0)),
        "export/stills/1-b.jpg": jpeg_bytes((0, 200, 0)),
    })
    result = events_import(organisation=world.acme, path=path)
    assert (result.created, result.refused) == (2, 0), result.errors
    person = EventPerson.objects.get(event__external_id="ACME-2026-000001")
    items = EvidenceItem.objects.filter(person=person)
    assert items.count() == 2
    assert {i.event_id for i in items} == {person.event_id}
    assert all(i.kind == "image" and i.custody.filter(action="uploaded").exists() for i in items)
    # Re-importing the same archive updates the event and adds no second copy of the stills.
    result = events_import(organisation=world.acme, path=path)
    assert result.updated == 2
    assert EvidenceItem.objects.filter(person__event__external_id="ACME-2026-000001").count() == 2


@pytest.mark.parametrize("image,reason", [
    ("stills/missing.jpg", "No image"),
    ("../outside.jpg", "outside the import folder"),
    ("/etc/passwd", "absolute"),
    ("stills/notes.jpg", "not a JPEG, PNG or WebP"),
])
def test_bad_image_paths_refuse_their_row_only(world, tmp_path, image, reason):
    path = make_zip(tmp_path / "bundle.zip", {
        "export/events.jsonl": jsonl(with_images(1, image), row(2)),
        "export/stills/notes.jpg": b"just some text, not an image",
        "outside.jpg": jpeg_bytes(),
    })
    result = events_import(organisation=world.acme, path=path)
    assert [(e.line, e.field) for e in result.errors] == [(1, "persons.0.images.0")]
    assert reason in result.errors[0].reason
    assert list(Event.objects.values_list("external_id", flat=True)) == ["ACME-2026-000002"]
    assert EvidenceItem.objects.count() == 0


def test_image_symlink_out_of_the_import_folder_is_refused(world, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg_bytes())
    folder = tmp_path / "import"
    (folder / "stills").mkdir(parents=True)
    os.symlink(secret, folder / "stills" / "a.jpg")
    data = write_jsonl(folder / "events.jsonl", [with_images(1, "stills/a.jpg")])
    result = events_import(organisation=world.acme, path=data)
    assert [(e.field, "links outside" in e.reason) for e in result.errors] == [("persons.0.images.0", True)]
    assert Event.objects.count() == 0


def test_images_next_to_a_plain_jsonl_file(world, tmp_path):
    (tmp_path / "stills").mkdir()
    (tmp_path / "stills" / "a.jpg").write_bytes(jpeg_bytes())
    data = write_jsonl(tmp_path / "events.jsonl", [with_images(1, "stills/a.jpg")])
    result = events_import(organisation=world.acme, path=data)
    assert result.created == 1 and EvidenceItem.objects.count() == 1


def test_stills_on_a_sensitive_event_need_sensitive_access(world, tmp_path):
    sensitive = with_images(1, "a.jpg")
    sensitive.update(sensitive=True, sensitive_reason="minor")
    path = make_zip(tmp_path / "bundle.zip", {"events.jsonl": jsonl(sensitive, row(2)), "a.jpg": jpeg_bytes()})
    result = events_import(organisation=world.acme, path=path, actor=world.investigator)
    assert [(e.line, e.field) for e in result.errors] == [(1, "persons.0.images")]
    assert list(Event.objects.values_list("external_id", flat=True)) == ["ACME-2026-000002"]
    result = events_import(organisation=world.acme, path=path, actor=world.investigator_sensitive)
    assert result.created == 1 and EvidenceItem.objects.count() == 1


def test_a_still_the_evidence_locker_refuses_refuses_its_row(world, tmp_path):
    # JPEG magic bytes, but not a decodable image: the evidence locker's own validation refuses it.
    path = make_zip(tmp_path / "bundle.zip", {
        "events.jsonl": jsonl(with_images(1, "a.jpg"), row(2)),
        "a.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 200,
    })
    result = events_import(organisation=world.acme, path=path)
    assert [(e.line, e.field) for e in result.errors] == [(1, "persons.0.images.0")]
    assert list(Event.objects.values_list("external_id", flat=True)) == ["ACME-2026-000002"]
    assert EvidenceItem.objects.count() == 0


@pytest.mark.parametrize("entry", ["../evil.jsonl", "/abs/evil.jsonl", "a/../../evil.jsonl", "C:/evil.jsonl",
                                   "a\\..\\evil.jsonl"])
def test_zip_entry_climbing_out_is_refused(world, tmp_path, entry):
    path = make_zip(tmp_path / "bundle.zip", {entry: jsonl(row(1))})
    with pytest.raises(ImportFileError, match="Refused archive"):
        events_import(organisation=world.acme, path=path)
    assert not (tmp_path.parent / "evil.jsonl").exists()
    assert Event.objects.count() == 0


def test_zip_symlink_entry_is_refused(world, tmp_path):
    link = zipfile.ZipInfo("stills/a.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("events.jsonl", jsonl(with_images(1, "stills/a.jpg")))
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ImportFileError, match="symbolic link"):
        events_import(organisation=world.acme, path=path)


def test_zip_bomb_is_refused_by_ratio(world, tmp_path):
    path = make_zip(tmp_path / "bomb.zip", {"events.jsonl": jsonl(row(1)), "filler.jpg": b"\0" * (50 * 1024 * 1024)})
    assert os.path.getsize(path) < 200 * 1024
    with pytest.raises(ImportFileError, match="zip bomb"):
        events_import(organisation=world.acme, path=path)
    assert Event.objects.count() == 0


def test_zip_over_the_total_size_or_entry_limit_is_refused(world, tmp_path, settings):
    path = make_zip(tmp_path / "big.zip", {"events.jsonl": jsonl(row(1)), **{f"s/{i}.jpg": jpeg_bytes() for i in range(5)}})
    settings.IMPORT_ZIP_MAX_ENTRIES = 3
    with pytest.raises(ImportFileError, match="at most 3"):
        events_import(organisation=world.acme, path=path)
    settings.IMPORT_ZIP_MAX_ENTRIES = 100
    settings.IMPORT_ZIP_MAX_BYTES = 1000
    with pytest.raises(ImportFileError, match="at most 1000"):
        events_import(organisation=world.acme, path=path)
    assert Event.objects.count() == 0


def test_zip_lying_about_its_sizes_is_stopped_while_extracting(world, tmp_path):
    path = tmp_path / "liar.zip"
    make_zip(path, {"events.jsonl": jsonl(row(1)), "big.jpg": b"x" * 4000})
    # Rewrite big.jpg's declared uncompressed size, in its local and central headers, to 10 bytes.
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo("big.jpg").header_offset
        central = zf.start_dir
    while data[central + 46:central + 46 + int.from_bytes(data[central + 28:central + 30], "little")] != b"big.jpg":
        central += 46 + sum(int.from_bytes(data[central + k:central + k + 2], "little") for k in (28, 30, 32))
    for offset in (local + 22, central + 24):
        data[offset:offset + 4] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFileError):
        events_import(organisation=world.acme, path=path)
    assert Event.objects.count() == 0


def test_zip_must_hold_exactly_one_data_file(world, tmp_path):
    path = make_zip(tmp_path / "two.zip", {"a.jsonl": jsonl(row(1)), "b.csv": b"external_id\n"})
    with pytest.raises(ImportFileError, match="exactly one"):
        events_import(organisation=world.acme, path=path)
    path = make_zip(tmp_path / "none.zip", {"a.jpg": jpeg_bytes()})
    with pytest.raises(ImportFileError, match="exactly one"):
        events_import(organisation=world.acme, path=path)


def test_not_a_zip_is_refused(world, tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"this is not an archive")
    with pytest.raises(ImportFileError, match="not a valid zip"):
        events_import(organisation=world.acme, path=path)
