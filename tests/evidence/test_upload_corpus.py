"""The upload corpus (issue 3 acceptance): each file is refused cleanly, 4xx and never 5xx, with a
message naming the file, and nothing is stored."""

from __future__ import annotations

import pytest

from evidence.models import EvidenceItem
from tests.evidence import corpus
from tests.evidence.conftest import stored_bytes, upload

CORPUS = corpus.refused_corpus()


@pytest.mark.parametrize("case,name,data,phrase", CORPUS, ids=[c[0] for c in CORPUS])
def test_api_refuses_cleanly(case, name, data, phrase, world, event, api_as, media_root):
    r = api_as(world.staff).post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload(name, data)]},
                                 format="multipart")
    assert r.status_code == 400, (case, r.status_code, r.content[:300])
    body = r.json()
    message = body["errors"]["files"][0]
    shown_name = name.replace("\\", "/").split("/")[-1]
    assert f"“{shown_name}”" in message and phrase in message, message
    assert body["refused"][0]["file"] == shown_name
    assert not EvidenceItem.objects.exists()
    assert stored_bytes(media_root) == []


@pytest.mark.parametrize("case,name,data,phrase", CORPUS, ids=[c[0] for c in CORPUS])
def test_html_form_refuses_cleanly(case, name, data, phrase, world, event, as_user):
    r = as_user(world.staff).post(f"/evidence/event/{event.pk}/upload/", {"files": [upload(name, data)]})
    assert r.status_code == 400, (case, r.status_code)
    html = r.content.decode()
    assert phrase in html and 'aria-invalid="true"' in html
    assert not EvidenceItem.objects.exists()


def test_oversize_file_is_refused_by_type_limit(world, event, api_as, settings):
    settings.EVIDENCE_MAX_BYTES = {"image": 1000, "video": 10_000, "document": 10_000}
    big = corpus.jpeg_with_gps(size=(400, 400))
    assert len(big) > 1000
    r = api_as(world.staff).post(f"/api/v1/events/{event.pk}/evidence/", {"files": [upload("big.jpg", big)]},
                                 format="multipart")
    assert r.status_code == 400
    assert "JPEG images may be at most 1000 bytes" in r.json()["errors"]["files"][0]


def test_oversize_file_is_cut_off_while_uploading_and_the_rest_kept(world, event, as_user, settings):
    """Past the largest limit the handler stops receiving (the disk never fills); the other files
    of the request are still read and stored."""
    settings.EVIDENCE_MAX_BYTES = {"image": 3000, "video": 3000, "document": 3000}
    huge = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200_000
    browser = as_user(world.staff)
    r = browser.post(f"/evidence/event/{event.pk}/upload/",
                     {"files": [upload("huge.mp4", huge), upload("small.png", corpus.png())]})
    assert r.status_code == 302
    assert list(EvidenceItem.objects.values_list("original_filename", flat=True)) == ["small.png"]
    page = browser.get(r["Location"]).content.decode()
    assert "“huge.mp4” was not accepted: it is larger than" in page


def test_too_many_files_is_a_400(world, event, api_as, settings):
    settings.EVIDENCE_MAX_FILES_PER_REQUEST = 2
    files = [upload(f"{i}.png", corpus.png()) for i in range(3)]
    r = api_as(world.staff).post(f"/api/v1/events/{event.pk}/evidence/", {"files": files}, format="multipart")
    assert r.status_code == 400 and "At most 2 files" in r.json()["errors"]["files"][0]
