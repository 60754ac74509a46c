"""An upload handler that stops receiving a file as soon as it passes the largest evidence size
limit, so an oversize upload never fills the disk; the rest of the request is still read and the
file is reported by name. Installed per request by the evidence upload views (before CSRF or
DRF reads the body); Django's memory and temporary-file handlers behind it keep memory flat
(files over FILE_UPLOAD_MAX_MEMORY_SIZE stream to a temporary file in 64 KiB chunks)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class EvidenceSizeCapHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.cap = max(settings.EVIDENCE_MAX_BYTES.values())
        self.oversize: list[str] = []
        if request is not None:
            request.evidence_oversize = self.oversize

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.cap:
            self.oversize.append(self.file_name)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


def install_size_cap(request) -> None:
    """Put the size cap first among the request's upload handlers (the body must not be read yet)."""
    request.upload_handlers.insert(0, EvidenceSizeCapHandler(request))
