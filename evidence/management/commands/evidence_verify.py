"""Re-hash every stored evidence file (decrypting it) and report the ones that do not match; report
stored files that no evidence row names (orphans), and delete them with --delete-orphans."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from audit.services import command_line_operator
from evidence.models import EvidenceItem
from evidence.services import (
    evidence_orphans,
    evidence_orphans_delete,
    evidence_verify_item,
    integrity_failure_record,
)


class Command(BaseCommand):
    help = ("Decrypt and re-hash every evidence file; exit 1 naming each item that does not match its SHA-256. "
            "Also lists stored files that no evidence row names (ORPHAN lines; they do not change the exit status).")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")
        parser.add_argument("--orphan-age", type=float, default=24.0, metavar="HOURS",
                            help="Report only orphan files older than this (default 24): a younger file may belong "
                                 "to an upload or import whose transaction has not committed yet.")
        parser.add_argument("--delete-orphans", action="store_true",
                            help="Delete the orphan files reported (audited per organisation).")

    def handle(self, *args, org=None, orphan_age=24.0, delete_orphans=False, **options):
        items = EvidenceItem.objects.unscoped().filter(deleted_at__isnull=True).select_related(
            "data_key", "organisation").order_by("pk")
        organisation_id = None
        if org:
            organisation = Organisation.objects.unscoped().filter(slug=org).first()
            if organisation is None:
                raise CommandError(f"No organisation with the slug {org!r}.")
            organisation_id = organisation.pk
            items = items.filter(organisation_id=organisation_id)
        checked = failed = 0
        for item in items.iterator(chunk_size=200):
            checked += 1
            problem = evidence_verify_item(item)
            if problem:
                failed += 1
                integrity_failure_record(item=item, problem=problem, during="evidence_verify")
                self.stdout.write(f"MISMATCH item {item.pk} ({item.organisation.slug}, event {item.event_id}, "
                                  f"{item.original_filename!r}): {problem}")
        orphans = list(evidence_orphans(organisation_id=organisation_id,
                                        older_than=dt.timedelta(hours=max(orphan_age, 0))))
        for orphan in orphans:
            when = orphan.modified.isoformat(timespec="seconds") if orphan.modified else "unknown"
            self.stdout.write(f"ORPHAN {orphan.name} (no evidence row names it; last written {when})")
        summary = f"evidence_verify: {checked} item(s) checked, {failed} mismatch(es), {len(orphans)} orphan file(s)"
        if delete_orphans and orphans:
            evidence_orphans_delete(orphans=orphans, operator=command_line_operator("manage.py evidence_verify")[0])
            summary += f", {len(orphans)} deleted"
        self.stdout.write(summary)
        if failed:
            raise CommandError(f"{failed} evidence item(s) failed verification", returncode=1)
