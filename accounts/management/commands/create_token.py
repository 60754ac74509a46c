"""`manage.py create_token --user EMAIL` or `--service --org SLUG --name NAME`: a new API token.
The secret is printed once, as the last line, and only its hash is stored. The audit row names the
operator as `cli:<operating-system account>` (the account behind sudo when there is one) and says
the token was made from the command line, on which machine."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation, User
from accounts.tokens import token_create
from audit.services import command_line_operator


class Command(BaseCommand):
    help = "Create a personal API token for a user, or a service token for an organisation's integration."

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="EMAIL", help="a personal token for this user")
        parser.add_argument("--service", action="store_true", help="a service token (an LPR camera, an integration)")
        parser.add_argument("--org", metavar="SLUG", help="the organisation of a service token")
        parser.add_argument("--name", help="what the token is for (required for a service token)")

    def handle(self, *args, user=None, service=False, org=None, name=None, **options):
        if bool(user) == bool(service):
            raise CommandError("give either --user EMAIL or --service --org SLUG --name NAME")
        actor_email, detail = command_line_operator("manage.py create_token")
        if user:
            if org:
                raise CommandError("--org is for service tokens; a personal token belongs to the user's organisation")
            person = User.objects.get_queryset().unscoped().select_related("organisation").filter(email__iexact=user.strip()).first()
            if person is None:
                raise CommandError(f"no user with the email {user!r}")
            if not person.is_active or person.organisation is None or not person.organisation.is_active:
                raise CommandError(f"{person.email} is deactivated or has no active organisation")
            token, raw = token_create(organisation=person.organisation, user=person, name=name or "command line",
                                      actor_email=actor_email, detail=detail)
            self.stdout.write(f"Personal token {token.prefix}… for {person.email} ({person.get_role_display()}, "
                              f"{person.organisation.name}). Shown once; send it as 'Authorization: Bearer <token>':")
        else:
            if not org or not name:
                raise CommandError("a service token needs --org SLUG and --name NAME")
            organisation = Organisation.objects.unscoped().filter(slug=org.strip().lower()).first()
            if organisation is None:
                raise CommandError(f"no organisation with the slug {org!r}")
            if not organisation.is_active:
                raise CommandError(f"{organisation.name} is deactivated")
            token, raw = token_create(organisation=organisation, name=name, actor_email=actor_email, detail=detail)
            self.stdout.write(f"Service token {token.prefix}… '{name}' for {organisation.name}. Shown once; send it "
                              "as 'Authorization: Bearer <token>':")
        self.stdout.write(raw)
