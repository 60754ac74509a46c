"""After a new master key is introduced (EVIDENCE_MASTER_KEY with a new EVIDENCE_MASTER_KEY_ID, the
old one in EVIDENCE_RETIRED_MASTER_KEYS): re-wrap every organisation's data keys and reseal the SSO
client secrets under the new one, so that the old key can then be removed."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from audit.services import audit_record, command_line_operator
from evidence.crypto import datakeys_rewrap, master_keys


class Command(BaseCommand):
    help = ("Re-wrap every evidence data key and reseal every SSO client secret under the current master key "
            "(run after introducing a new one; then the retired key can be removed). Audited.")

    def handle(self, *args, **options):
        current_id, _ = master_keys()
        operator, detail = command_line_operator("manage.py evidence_rewrap")
        with transaction.atomic():
            count = datakeys_rewrap()
            audit_record(action="evidence.master_key_rewrap", actor_email=operator,
                         detail={**detail, "master_key_id": current_id, "data_keys_rewrapped": count})
        self.stdout.write(f"evidence_rewrap: {count} data key(s) re-wrapped and SSO client secrets resealed "
                          f"under master key {current_id!r}")
