import json

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from matching.export import suggestion_rows


class Command(BaseCommand):
    help = "Write an organisation's link suggestions as JSON Lines to stdout."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")

    def handle(self, *args, org, **options):
        organisation = Organisation.objects.unscoped().filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"--org: no organisation with slug {org!r}")
        for row in suggestion_rows(organisation_id=organisation.pk):
            self.stdout.write(json.dumps(row, ensure_ascii=False))
