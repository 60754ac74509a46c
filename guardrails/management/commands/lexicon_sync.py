"""Make the platform lexicon in the database match guardrails/lexicon/base.json (idempotent)."""

from django.core.management.base import BaseCommand

from guardrails.base_lexicon import base_version
from guardrails.services import sync_platform_lexicon


class Command(BaseCommand):
    help = "Sync the platform lexicon of sensitive characteristics from guardrails/lexicon/base.json."

    def handle(self, *args, **options):
        result = sync_platform_lexicon()
        self.stdout.write(f"Platform lexicon v{base_version()}: {result['added']} added, {result['updated']} updated, "
                          f"{result['disabled']} disabled.")
