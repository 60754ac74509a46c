"""Re-hash every stored evidence file (decrypting it) and report the ones that do not match."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evidence.models import EvidenceItem
from evidence.services import evidence_verify_item, integrity_failure_record


class Command(BaseCommand):
    help = "Decrypt and re-hash every evidence file; exit 1 naming each item that does not match its SHA-256."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args, org=None, **options):
        items = EvidenceItem.objects.unscoped().filter(deleted_at__isnull=True).select_related(
            "data_key", "organisation").order_by("pk")
        if org:
            items = items.filter(organisation__slug=org)
        checked = failed = 0
        for item in items.iterator(chunk_size=200):
            checked += 1
            problem = evidence_verify_item(item)
            if problem:
                failed += 1
                integrity_failure_record(item=item, problem=problem, during="evidence_verify")
                self.stdout.write(f"MISMATCH item {item.pk} ({item.organisation.slug}, event {item.event_id}, "
                                  f"{item.original_filename!r}): {problem}")
        self.stdout.write(f"evidence_verify: {checked} item(s) checked, {failed} mismatch(es)")
        if failed:
            raise CommandError(f"{failed} evidence item(s) failed verification", returncode=1)
