"""What is stored is clean: photos lose their location and every other metadata block, videos
their metadata boxes; the stored file is what a download gives back."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from evidence.services import evidence_upload
from evidence.validation import sanitise_filename, sniff
from tests.evidence import corpus
from tests.evidence.conftest import NamedBytes


def _stored(item) -> bytes:
    from evidence.services import _plaintext

    return b"".join(_plaintext(item))


def test_exif_gps_is_removed_and_orientation_applied(world, event):
    original = corpus.jpeg_with_gps(size=(64, 32), orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the input does carry GPS
    item = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(original, "gps.jpg")]).stored[0]
    data = _stored(item)
    im = Image.open(io.BytesIO(data))
    exif = im.getexif()
    assert len(exif) == 0 and not exif.get_ifd(0x8825)
    assert "exif" not in im.info and "icc_profile" not in im.info
    assert b"SecretCam" not in data and b"Exif" not in data
    # Orientation 6 (rotate 90° clockwise) is applied to the pixels: 64×32 becomes 32×64 and the
    # blue marker that was top-left is now top-right.
    assert im.size == (32, 64) == (item.width, item.height)
    r, g, b = im.convert("RGB").getpixel((im.width - 2, 2))
    assert b > 150 and r < 100
    assert hashlib.sha256(data).hexdigest() == item.sha256


def test_png_text_chunks_and_webp_metadata_are_dropped(world, event):
    png = corpus.png(text="home address: 1 Queen St")
    items = evidence_upload(actor=world.staff, event=event,
                            files=[NamedBytes(png, "a.png"), NamedBytes(corpus.webp(), "b.webp")]).stored
    data = _stored(items[0])
    assert b"Queen St" not in data and b"tEXt" not in data
    assert Image.open(io.BytesIO(data)).mode == "RGBA"  # transparency kept
    assert Image.open(io.BytesIO(_stored(items[1]))).format == "WEBP"


def test_mp4_location_metadata_is_blanked_without_moving_samples(world, event):
    original = corpus.mp4(location="+36.8485+174.7633/")
    assert b"174.7633" in original
    item = evidence_upload(actor=world.staff, event=event, files=[NamedBytes(original, "clip.mp4")]).stored[0]
    data = _stored(item)
    assert b"174.7633" not in data and b"location" not in data
    assert len(data) == len(original) == item.size
    assert item.original_sha256 == hashlib.sha256(original).hexdigest() != item.sha256
    # Still a playable video: every frame decodes.
    import av

    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 10


def test_type_is_read_from_content_and_the_name_gets_the_right_extension(world, event):
    items = evidence_upload(actor=world.staff, event=event,
                            files=[NamedBytes(corpus.png(), "photo.jpg"), NamedBytes(corpus.pdf(), "scan")]).stored
    assert [(i.content_type, i.original_filename) for i in items] == [
        ("image/png", "photo.jpg.png"), ("application/pdf", "scan.pdf")]


def test_sniffer_accepts_exactly_the_allowed_types():
    assert sniff(corpus.jpeg_with_gps()).content_type == "image/jpeg"
    assert sniff(corpus.png()).content_type == "image/png"
    assert sniff(corpus.webp()).content_type == "image/webp"
    assert sniff(corpus.mp4()[:64]).content_type == "video/mp4"
    assert sniff(corpus.pdf()[:64]).content_type == "application/pdf"
    for other in (corpus.EXE, corpus.SVG_SCRIPT, b"GIF89a....", b"PK\x03\x04", b"hello", b"\x7fELF"):
        assert isinstance(sniff(other), str)


def test_sanitise_filename():
    assert sanitise_filename("../../etc/passwd.jpg") == "passwd.jpg"
    assert sanitise_filename("C:\\Users\\x\\photo.jpg") == "photo.jpg"
    assert sanitise_filename("a\x00b\nc.jpg") == "abc.jpg"
    assert sanitise_filename("...") == "file"
    assert sanitise_filename('"><img src=x>.png') == "___img src_x_.png"
    assert sanitise_filename("Ōtāhuhu café.jpg") == "Ōtāhuhu café.jpg"
    long = sanitise_filename("x" * 400 + ".jpeg")
    assert len(long) == 150 and long.endswith(".jpeg")
