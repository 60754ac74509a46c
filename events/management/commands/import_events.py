"""`manage.py import_events --org SLUG PATH` (shared/CONTRACTS.md): imports events in the interchange
format from a .jsonl, .csv or .zip, reports every refused row (line, field, reason), keeps the good
ones, and exits 1 when any row was refused.

Descriptor values are read through the synonym table (events.vocabulary): each value that could not
be read is reported as a warning (line, field, value, what was done; the row is kept without it)
and the values read as synonyms are counted. `--strict-values` refuses such rows instead."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation, User
from events.imports.report import ImportFileError
from events.imports.writer import DEFAULT_BATCH, events_import
from events.vocabulary import NOT_KNOWN, mapped_summary


class Command(BaseCommand):
    help = "Import events (interchange format: .jsonl, .csv or .zip) into a retailer; exit 1 when any row was refused."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A .jsonl, .csv or .zip file; image paths are relative to it.")
        parser.add_argument("--org", required=True, help="The importing retailer's slug.")
        parser.add_argument("--atomic", action="store_true",
                            help="All or nothing: when any row is refused, nothing is imported.")
        parser.add_argument("--as", dest="as_email", metavar="EMAIL",
                            help="Act as this user (held to their access rights); default: the system actor "
                                 "'import command'.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="Rows written per transaction.")
        parser.add_argument("--strict-values", action="store_true",
                            help="Refuse a row whose build, age band, gender or role is neither a value, a synonym "
                                 "nor an age the rule reads (by default the row is kept without it, with a warning).")

    def handle(self, *args, path, org, atomic, as_email, batch_size, strict_values=False, **options):
        organisation = Organisation.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        actor = None
        if as_email:
            actor = User.objects.filter(email__iexact=as_email, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {as_email!r}.")
        started = time.monotonic()
        try:
            result = events_import(organisation=organisation, path=path, actor=actor, atomic=atomic,
                                   batch_size=batch_size, strict_values=strict_values)
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.", returncode=1) from exc
        elapsed = time.monotonic() - started
        for error in result.errors:
            self.stderr.write(f"line {error.line}: {error.field}: {error.reason}")
        left_out = [w for w in result.warnings if w.outcome == NOT_KNOWN]
        for warning in left_out:
            self.stderr.write(f"line {warning.line}: {warning.field}: warning: {warning.action}")
        for m in mapped_summary(w.as_dict() for w in result.warnings):
            self.stdout.write(f"read as a synonym: {m['field']} “{m['value']}” → {m['maps_to'] or 'not known'} "
                              f"({m['count']} value{'s' if m['count'] != 1 else ''})")
        rate = result.rows / elapsed if elapsed > 0 else 0.0
        summary = (f"{result.rows} rows: {result.created} created, {result.updated} updated, "
                   f"{result.refused} refused, {len(left_out)} descriptor value{'s' if len(left_out) != 1 else ''} "
                   f"left out ({elapsed:.1f}s, {rate:.0f} rows/s)")
        if result.rolled_back:
            raise CommandError(f"{summary}. All or nothing: {result.refused} row(s) refused, so nothing was "
                               "imported.", returncode=1)
        if result.refused:
            raise CommandError(f"{summary}. The good rows were imported; fix the refused ones and import them "
                               "again.", returncode=1)
        self.stdout.write(summary)
