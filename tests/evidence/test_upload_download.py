"""Upload → encrypted at rest → download: the bytes and the SHA-256 a user sees agree, and nothing
readable is left on disk."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from PIL import Image

from audit.models import AuditEntry
from evidence.models import CustodyEntry, EvidenceItem
from tests.evidence import corpus
from tests.evidence.conftest import stored_bytes, upload


def _download(client, item_id, **params):
    r = client.get(f"/api/v1/evidence/{item_id}/download/", params)
    body = b"".join(r.streaming_content) if r.streaming else r.content
    return r, body


def test_round_trip_through_the_api(world, event, api_as, media_root):
    api = api_as(world.staff)
    jpeg = corpus.jpeg_with_gps()
    pdf = corpus.pdf()
    r = api.post(f"/api/v1/events/{event.pk}/evidence/",
                 {"files": [upload("shop floor.jpg", jpeg), upload("receipt.pdf", pdf)]}, format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["refused"] == []
    assert [s["filename"] for s in body["stored"]] == ["shop floor.jpg", "receipt.pdf"]
    photo, doc = (EvidenceItem.objects.get(pk=s["id"]) for s in body["stored"])

    # At rest: two encrypted blobs under opaque names, no plaintext anywhere on disk.
    on_disk = stored_bytes(media_root)
    assert {p.name for p, _ in on_disk} == {photo.storage_name.split("/")[-1], doc.storage_name.split("/")[-1]}
    assert all("shop" not in str(p) and "receipt" not in str(p) for p, _ in on_disk)
    for _, blob in on_disk:
        assert blob.startswith(b"AUREVD")
        assert jpeg[2:40] not in blob and pdf[:40] not in blob and b"%PDF" not in blob and b"JFIF" not in blob

    # The PDF is stored as received: its hash is the original's.
    assert doc.sha256 == doc.original_sha256 == hashlib.sha256(pdf).hexdigest()
    r, data = _download(api, doc.pk)
    assert r.status_code == 200 and data == pdf
    assert r["Content-Type"] == "application/pdf"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"] == 'attachment; filename="receipt.pdf"'
    assert r["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(pdf).digest()).decode()}:"

    # The photo was re-encoded: the download is the stored image, hashing to the SHA-256 shown.
    r, data = _download(api, photo.pk)
    assert r.status_code == 200
    assert hashlib.sha256(data).hexdigest() == photo.sha256 == r["X-Evidence-SHA256"]
    assert photo.original_sha256 == hashlib.sha256(jpeg).hexdigest() != photo.sha256
    assert Image.open(io.BytesIO(data)).size == (photo.width, photo.height) == (32, 64)  # orientation applied
    detail = api.get(f"/api/v1/evidence/{photo.pk}/").json()
    assert detail["sha256"] == hashlib.sha256(data).hexdigest()
    assert [c["action"] for c in detail["custody"]] == ["uploaded", "downloaded", "viewed"]


def test_item_page_shows_the_sha256_the_download_hashes_to(world, event, as_user, api_as):
    r = api_as(world.staff).post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload("a.png", corpus.png())]},
                                 format="multipart")
    item = EvidenceItem.objects.get(pk=r.json()["stored"][0]["id"])
    browser = as_user(world.investigator)
    page = browser.get(f"/evidence/{item.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<code id="sha256" style="word-break:break-all">{item.sha256}</code>' in html
    download = browser.get(f"/evidence/{item.pk}/download/")
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == item.sha256
    assert download["Content-Disposition"].startswith("attachment;")
    # The chain of custody on the page names who did what.
    page = browser.get(f"/evidence/{item.pk}/").content.decode()
    for action in ("Uploaded", "Viewed", "Downloaded"):
        assert action in page
    assert "staff@acme.test" in page and "inv@acme.test" in page


def test_face_photo_round_trip(world, event, api_as):
    faces = corpus.find_faces_dir()
    if faces is None:
        pytest.skip("shared/data/faces not found (set AUROR_SHARED_DATA)")
    original = (faces / "obama_1.jpg").read_bytes()
    api = api_as(world.staff)
    r = api.post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload("obama_1.jpg", original)]},
                 format="multipart")
    assert r.status_code == 201
    item = EvidenceItem.objects.get(pk=r.json()["stored"][0]["id"])
    _, data = _download(api, item.pk)
    assert hashlib.sha256(data).hexdigest() == item.sha256
    assert Image.open(io.BytesIO(data)).size == Image.open(io.BytesIO(original)).size


def test_every_custody_entry_has_its_audit_row(world, event, api_as):
    api = api_as(world.staff)
    r = api.post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload("a.webp", corpus.webp())]},
                 format="multipart")
    item_id = r.json()["stored"][0]["id"]
    _download(api, item_id)
    entries = list(CustodyEntry.objects.filter(item_id=item_id).values_list("action", flat=True))
    audits = list(AuditEntry.objects.filter(object_type="evidence.evidenceitem", object_id=str(item_id))
                  .order_by("seq").values_list("action", flat=True))
    assert entries == ["uploaded", "downloaded"]
    assert audits == ["evidence.uploaded", "evidence.downloaded"]


def test_many_files_one_bad_keeps_the_good_ones_and_names_the_bad(world, event, api_as):
    api = api_as(world.staff)
    files = [upload("one.jpg", corpus.jpeg_with_gps()), upload("virus.jpg", corpus.EXE),
             upload("two.png", corpus.png()), upload("clip.mp4", corpus.mp4())]
    r = api.post(f"/api/v1/events/{event.pk}/evidence/", {"files": files}, format="multipart")
    assert r.status_code == 201
    body = r.json()
    assert [s["filename"] for s in body["stored"]] == ["one.jpg", "two.png", "clip.mp4"]
    assert [(x["file"], "Windows program" in x["reason"]) for x in body["refused"]] == [("virus.jpg", True)]
    assert EvidenceItem.objects.filter(event=event).count() == 3
    assert AuditEntry.objects.filter(action="evidence.upload_refused").count() == 1


def test_atomic_upload_refuses_everything_when_one_file_is_bad(world, event, api_as, media_root):
    api = api_as(world.staff)
    files = [upload("one.jpg", corpus.jpeg_with_gps()), upload("empty.jpg", b"")]
    r = api.post(f"/api/v1/events/{event.pk}/evidence/?atomic=true", {"files": files}, format="multipart")
    assert r.status_code == 400
    assert r.json()["errors"]["files"] == ["“empty.jpg” was not accepted: the file is empty."]
    assert not EvidenceItem.objects.exists()
    assert stored_bytes(media_root) == []


def test_person_must_belong_to_the_event(world, event, other_event, api_as):
    from events.models import EventPerson

    stranger = EventPerson.objects.create(event=other_event, ref="p1")
    api = api_as(world.staff)
    r = api.post(f"/api/v1/events/{event.pk}/evidence/",
                 {"files": [upload("a.png", corpus.png())], "person": stranger.pk}, format="multipart")
    assert r.status_code == 400 and "person" in r.json()["errors"]
    mine = event.persons.get()
    r = api.post(f"/api/v1/events/{event.pk}/evidence/",
                 {"files": [upload("a.png", corpus.png())], "person": mine.pk}, format="multipart")
    assert r.status_code == 201
    assert EvidenceItem.objects.get().person == mine


def test_no_files_is_a_400_naming_the_field(world, event, api_as):
    r = api_as(world.staff).post(f"/api/v1/events/{event.pk}/evidence/", {}, format="multipart")
    assert r.status_code == 400 and "files" in r.json()["errors"]


def test_list_per_event(world, event, api_as):
    api = api_as(world.staff)
    api.post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload("a.png", corpus.png()),
                                                                 upload("b.webp", corpus.webp())]},
             format="multipart")
    r = api_as(world.investigator).get(f"/api/v1/events/{event.pk}/evidence/")
    assert r.status_code == 200
    assert [x["filename"] for x in r.json()["results"]] == ["a.png", "b.webp"]
    assert AuditEntry.objects.filter(action="evidence.list").exists()


def test_file_names_are_sanitised_and_never_reach_storage(world, event, media_root):
    from evidence.services import evidence_upload
    from tests.evidence.conftest import NamedBytes

    outcome = evidence_upload(actor=world.staff, event=event,
                              files=[NamedBytes(corpus.png(), "../../etc/passwd.png"),
                                     NamedBytes(corpus.webp(), "..\\..\\windows\\system32\\x<script>.webp")])
    assert [i.original_filename for i in outcome.stored] == ["passwd.png", "x_script_.webp"]
    for item in outcome.stored:
        assert item.storage_name.startswith(f"evidence/{event.organisation_id}/") and ".." not in item.storage_name
    assert all(media_root in p.parents for p, _ in stored_bytes(media_root))
