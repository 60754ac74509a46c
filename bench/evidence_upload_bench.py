"""Evidence upload of a 20 MB video: memory stays flat (issue 3 figure).

    .venv/bin/python bench/evidence_upload_bench.py [--mb 20] [--runs 3]

Posts a multipart request to POST /api/v1/events/{id}/evidence/ through Django's full WSGI stack
(middleware, token authentication, DRF's multipart parser, validation, encryption, storage). The
request body is read from a file, as a server hands it over, so the only memory measured is the
application's: the Python heap's peak during the request is traced with tracemalloc, and the
process's peak RSS after a 1 MB warm-up upload and after the runs is reported too. Uses its own database (auror_bench_evidence,
or DATABASE_URL) and a temporary MEDIA_ROOT. Reports the median of the runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import bench_env, ensure_database  # noqa: E402


def write_request_body(path: Path, boundary: str, video_mb: int) -> int:
    """A multipart body holding one MP4 of `video_mb` MB, written in chunks."""
    from tests.evidence.corpus import write_big_mp4

    video = path.with_suffix(".mp4")
    write_big_mp4(video, video_mb * 1024 * 1024)
    with open(path, "wb") as out, open(video, "rb") as src:
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cctv.mp4\"\r\n"
                  f"Content-Type: video/mp4\r\n\r\n".encode())
        for chunk in iter(lambda: src.read(1 << 20), b""):
            out.write(chunk)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    video.unlink()
    return path.stat().st_size


def setup_world():
    from accounts.models import Organisation, OrgKind, Role, Store, User
    from accounts.tokens import token_create
    from events.models import Event

    org, _ = Organisation.objects.get_or_create(slug="bench-evidence", defaults={"name": "Bench Evidence",
                                                                                 "kind": OrgKind.RETAILER})
    store, _ = Store.objects.get_or_create(organisation=org, code="BE-1", defaults={"name": "Bench store",
                                                                                     "region": "AKL"})
    user, created = User.objects.get_or_create(email="bench-evidence@bench.test", defaults={
        "username": "bench-evidence@bench.test", "organisation": org, "role": Role.INVESTIGATOR})
    from django.utils import timezone

    event = Event.objects.create(organisation=org, store=store, occurred_at=timezone.now(), type="theft",
                                 created_by=user)
    _, raw = token_create(organisation=org, user=user, name=f"bench {uuid.uuid4().hex[:6]}")
    return event, raw


def one_run(handler, event, token: str, body_path: Path, boundary: str, size: int) -> dict:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": f"/api/v1/events/{event.pk}/evidence/", "SCRIPT_NAME": "",
        "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}", "CONTENT_LENGTH": str(size),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }
    status_holder = {}

    def start_response(status, headers, exc_info=None):
        status_holder["status"] = status

    with open(body_path, "rb") as body:
        environ["wsgi.input"] = body
        tracemalloc.start()
        started = time.perf_counter()
        result = handler(environ, start_response)
        payload = b"".join(result)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if hasattr(result, "close"):
            result.close()
    if not status_holder["status"].startswith("201"):
        raise SystemExit(f"upload failed: {status_holder['status']} {payload[:500]!r}")
    return {"peak": peak, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    env = bench_env("auror_bench_evidence")
    ensure_database(env)
    media = tempfile.mkdtemp(prefix="auror-evidence-bench-")
    env["MEDIA_ROOT"] = media
    os.environ.update(env)
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from evidence.models import EvidenceItem

    handler = WSGIHandler()
    event, token = setup_world()
    boundary = uuid.uuid4().hex
    with tempfile.TemporaryDirectory() as tmp:
        warm_path = Path(tmp) / "warm.bin"
        warm_size = write_request_body(warm_path, boundary, 1)
        one_run(handler, event, token, warm_path, boundary, warm_size)  # imports, connections, caches
        body_path = Path(tmp) / "body.bin"
        size = write_request_body(body_path, boundary, args.mb)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        runs = [one_run(handler, event, token, body_path, boundary, size) for _ in range(args.runs)]
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    item = EvidenceItem.objects.unscoped().filter(event=event).latest("pk")
    from evidence.services import evidence_verify_item

    assert evidence_verify_item(item) is None
    peak = statistics.median(r["peak"] for r in runs) / 1e6
    seconds = statistics.median(r["seconds"] for r in runs)
    print(f"evidence upload of a {args.mb} MB MP4 ({args.runs} runs, medians):")
    print(f"  request body            {size / 1e6:.1f} MB")
    print(f"  Python heap peak        {peak:.2f} MB  ({100 * peak * 1e6 / size:.1f}% of the file)")
    print(f"  process peak RSS        {rss_before:.0f} MB after a 1 MB warm-up, {rss_after:.0f} MB after the runs")
    print(f"  time                    {seconds:.2f} s  ({size / 1e6 / seconds:.0f} MB/s)")
    print(f"  stored sha256           {item.sha256}")
    EvidenceItem.objects.unscoped().filter(event=event).delete()
    event.delete()
    import shutil

    shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
