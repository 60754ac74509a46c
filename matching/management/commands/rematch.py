from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from matching.services import rematch_organisation


class Command(BaseCommand):
    help = "Run every pending or stale matching job of an organisation to completion, in this process."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--estimate", action="store_true", help="re-estimate the feature weights (after storing the blocking keys, before suggesting)")

    def handle(self, *args, org, estimate, **options):
        organisation = Organisation.objects.unscoped().filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"--org: no organisation with slug {org!r}")
        done = rematch_organisation(
            organisation_id=organisation.pk, estimate=estimate,
            progress=lambda i, n: self.stderr.write(f"{i}/{n} events"),
        )
        self.stdout.write(f"rematch {org}: {done} events matched")
