"""Files for evidence tests, generated here (small, no downloads): good ones of each accepted type,
and the upload corpus that must be refused cleanly."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

GPS_LAT = (36.0, 50.0, 54.6)
GPS_LON = (174.0, 45.0, 48.0)


def jpeg_with_gps(size=(64, 32), orientation: int = 6) -> bytes:
    """A JPEG carrying EXIF GPS (Auckland), a camera make and an orientation tag."""
    from PIL import ExifTags

    im = Image.new("RGB", size, (200, 30, 30))
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 4, size[1] // 4), fill=(0, 0, 255))  # a corner marker
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: GPS_LAT,
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: GPS_LON,
    }
    out = io.BytesIO()
    im.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(size=(40, 30), text: str = "secret note") -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 200, 10, 128)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def webp(size=(50, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 10, 200)).save(out, format="WEBP", quality=80)
    return out.getvalue()


def mp4(frames: int = 10, size=(64, 48), location: str | None = "+36.8485+174.7633/") -> bytes:
    """A real MP4 (MPEG-4 part 2 video, FFmpeg's own encoder through PyAV) with a recording
    location in its metadata, as phones write it."""
    import av

    buf = io.BytesIO()
    options = {"movflags": "use_metadata_tags"} if location else {}
    with av.open(buf, mode="w", format="mp4", options=options) as container:
        if location:
            container.metadata["com.apple.quicktime.location.ISO6709"] = location
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (i * 20 % 255, 120, 60)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def write_big_mp4(path: Path, total_bytes: int) -> None:
    """A valid MP4 padded to `total_bytes` with a trailing `free` box of random bytes, written in
    chunks (the test must not hold it in memory either)."""
    head = mp4(location=None)
    pad = total_bytes - len(head)
    with open(path, "wb") as fh:
        fh.write(head)
        fh.write(struct.pack(">I4s", pad, b"free"))
        left = pad - 8
        while left:
            n = min(left, 1024 * 1024)
            fh.write(os.urandom(n))
            left -= n


def pdf(*, encrypted: bool = False, attachment: bool = False) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if attachment:
        writer.add_attachment("payload.exe", b"MZ\x90\x00evil")
    if encrypted:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def hand_pdf(action: bytes) -> bytes:
    """A hand-written one-page PDF whose open action is `action`."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        action,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def pdf_launch_action() -> bytes:
    return hand_pdf(b"<< /Type /Action /S /La#75nch /F (calc.exe) >>")  # an escaped name, as evasions use


def pdf_javascript() -> bytes:
    return hand_pdf(b"<< /Type /Action /S /JavaScript /JS (app.alert\\(1\\);) >>")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pixel_bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG declaring 10 gigapixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def decompression_bomb_png(side: int = 16_000) -> bytes:
    """A real 1-bit PNG of side×side (256 megapixels): ~100 KB on disk, 32 MB of pixel rows that
    decode to far more in memory."""
    row = b"\x00" + b"\x00" * (side // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def zip_bomb(inner_mb: int = 50) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("photo.jpg", "w") as fh:
            block = b"\x00" * (1024 * 1024)
            for _ in range(inner_mb):
                fh.write(block)
    return out.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode"
SVG_SCRIPT = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
PASSWD = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def refused_corpus() -> list[tuple[str, str, bytes, str]]:
    """(case, file name, content, a phrase the refusal must contain)."""
    return [
        ("pixel bomb", "huge.png", pixel_bomb_png(), "too large in pixels"),
        ("decompression bomb", "bomb.png", decompression_bomb_png(), "too large in pixels"),
        ("zip bomb", "photos.zip", zip_bomb(), "ZIP archive"),
        ("zip bomb renamed", "holiday.jpg", zip_bomb(), "ZIP archive"),
        ("exe renamed jpg", "photo.jpg", EXE, "Windows program"),
        ("svg with script", "logo.svg", SVG_SCRIPT, "SVG"),
        ("svg renamed png", "logo.png", SVG_SCRIPT, "SVG"),
        ("path traversal", "../../etc/passwd.jpg", PASSWD, "not a JPEG"),
        ("empty file", "empty.jpg", b"", "empty"),
        ("truncated jpeg", "cut.jpg", jpeg_with_gps()[:200], "cannot be read"),
        ("pdf with javascript", "form.pdf", pdf_javascript(), "JavaScript"),
        ("pdf with launch action", "invoice.pdf", pdf_launch_action(), "launch action"),
        ("encrypted pdf", "locked.pdf", pdf(encrypted=True), "password"),
        ("pdf with attachment", "report.pdf", pdf(attachment=True), "embedded files"),
        ("quicktime movie", "clip.mp4", b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 64, "QuickTime"),
        ("broken mp4", "clip.mp4", mp4()[:300], "structure is broken"),
        ("html page", "page.jpg", b"<!DOCTYPE html><html><script>x()</script></html>", "HTML"),
    ]


def find_faces_dir() -> Path | None:
    """The shared face photos: AUROR_SHARED_DATA/faces, else shared/data/faces beside the repo or
    above it (CI puts shared/ beside the clone)."""
    env = os.environ.get("AUROR_SHARED_DATA")
    candidates = [Path(env) / "faces"] if env else []
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidates.append(parent / "shared" / "data" / "faces")
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.jpg")):
            return candidate
    return None
