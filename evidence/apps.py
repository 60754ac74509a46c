from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"

    def ready(self) -> None:
        from evidence import crypto

        crypto.master_keys()  # a missing or malformed EVIDENCE_MASTER_KEY fails at start, not at first upload
