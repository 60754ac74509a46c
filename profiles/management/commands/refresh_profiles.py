from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from profiles.services import profiles_refresh_all


class Command(BaseCommand):
    help = "Recompute the aggregates and harm score of every active profile of an organisation (recency decays)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")

    def handle(self, *args, org, **options):
        organisation = Organisation.objects.unscoped().filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"--org: no organisation with slug {org!r}")
        n = profiles_refresh_all(organisation_id=organisation.pk)
        self.stdout.write(f"refresh_profiles {org}: {n} profiles")
