"""`manage.py import_products --org SLUG FILE.csv`: upsert a retailer's catalogue by SKU from CSV
(sku, description, unit_value, barcode); reports refused rows by line and field, exit 1 if any."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation, User
from events.catalogue import products_import
from events.imports.report import ImportFileError


class Command(BaseCommand):
    help = "Import a retailer's product catalogue from CSV (sku, description, unit_value, barcode)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A CSV file with the columns sku, description, unit_value, barcode.")
        parser.add_argument("--org", required=True, help="The retailer's slug.")
        parser.add_argument("--as", dest="as_email", metavar="EMAIL",
                            help="Act as this retailer admin; default: the system actor 'import command'.")

    def handle(self, *args, path, org, as_email, **options):
        organisation = Organisation.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        actor = None
        if as_email:
            actor = User.objects.filter(email__iexact=as_email, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {as_email!r}.")
        try:
            result = products_import(organisation=organisation, path=path, actor=actor, source=str(path))
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {path}") from exc
        except (ImportFileError, PermissionDenied) as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.") from exc
        for error in result.errors:
            self.stderr.write(f"line {error.line}: {error.field}: {error.reason}")
        summary = (f"{result.rows} rows: {result.created} created, {result.updated} updated, "
                   f"{result.unchanged} unchanged, {result.refused} refused")
        if result.refused:
            raise CommandError(f"{summary}. The good rows were imported.")
        self.stdout.write(summary)
