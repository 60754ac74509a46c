"""`manage.py provision FILE.json`: create or update organisations, stores, agencies and users
(shared/CONTRACTS.md). A bad file changes nothing and names every bad entry; exit status 1."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.provisioning import ProvisioningError, provision


class Command(BaseCommand):
    help = "Create or update organisations, stores, police agencies and users from a JSON file (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the provisioning file (JSON), or - for standard input")

    def handle(self, *args, file: str, **options):
        try:
            if file == "-":
                import sys

                data = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as fh:
                    data = json.load(fh)
        except OSError as e:
            raise CommandError(f"cannot read {file}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise CommandError(f"{file}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
        try:
            report = provision(data)
        except ProvisioningError as e:
            for line in e.errors:
                self.stderr.write(line)
            raise CommandError(f"{file}: {len(e.errors)} problem(s); nothing was changed") from None
        for line in report.lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"provisioned {file}: {report.summary}"))
