"""`manage.py seed_demo`: demo tenants, a user per role, realistic events. Idempotent: running it
again creates nothing new. Prints the demo logins at the end."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.demo import demo_logins, seed_demo


class Command(BaseCommand):
    help = ("Create the demo tenants, stores, catalogues, users (one per role), a few hundred events, and the "
            "profiles and offender group a demo investigator confirmed; idempotent.")

    def handle(self, *args, **options):
        result = seed_demo()
        p = result.provisioning
        self.stdout.write(f"Tenants, stores and users: {p.summary}.")
        for slug, n in result.events_created.items():
            self.stdout.write(f"Catalogue for {slug}: {result.products[slug]}.")
            self.stdout.write(f"Events for {slug}: {n} created." if n else f"Events for {slug}: already there.")
            self.stdout.write(f"Decided at {slug}: {result.decided[slug]}; {result.queue[slug]} cards in the review queue.")
        logins = demo_logins()
        width = max(len(email) for email, *_ in logins)
        self.stdout.write("")
        self.stdout.write("Demo logins (all share one password):")
        self.stdout.write(f"  {'email'.ljust(width)}  {'password'.ljust(16)}  role")
        for email, password, role, org, mfa in logins:
            self.stdout.write(f"  {email.ljust(width)}  {password.ljust(16)}  {role}, {org}{' *' if mfa else ''}")
        self.stdout.write("")
        self.stdout.write("* MFA is required for this role: on first sign-in you will be asked to set up an "
                          "authenticator app (TOTP) before you can continue.")
