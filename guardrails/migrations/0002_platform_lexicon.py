"""Load the platform lexicon (guardrails/lexicon/base.json) as entries without an organisation.

Idempotent: it makes the platform rows match the file, so a later lexicon version ships as a new
migration calling the same function (or `manage.py lexicon_sync` on a running system)."""

from django.db import migrations


def load(apps, schema_editor):
    from guardrails.services import sync_platform_lexicon

    sync_platform_lexicon(entry_model=apps.get_model("guardrails", "LexiconEntry"))


class Migration(migrations.Migration):
    dependencies = [("guardrails", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
