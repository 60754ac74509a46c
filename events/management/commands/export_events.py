"""`manage.py export_events --org SLUG`: the retailer's events as interchange JSON Lines on stdout
(plus `id` and each person's `profile`). Audited as an export by the system actor."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from events.exporter import events_export
from events.models import Event


class Command(BaseCommand):
    help = "Write a retailer's events as interchange JSON Lines to stdout."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The retailer's slug.")

    def handle(self, *args, org, **options):
        organisation = Organisation.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        qs = Event.objects.unscoped().filter(organisation=organisation)
        for line in events_export(actor=None, actor_label="export command", queryset=qs, via="command",
                                  organisation_id=organisation.pk, filters={"org": org}):
            self.stdout.write(line, ending="")
