"""Platform lexicon version 3 ("foreign", "Cook Island", "white trash"), by README.md's shipping procedure."""

from django.db import migrations


def load(apps, schema_editor):
    from guardrails.services import sync_platform_lexicon

    sync_platform_lexicon(entry_model=apps.get_model("guardrails", "LexiconEntry"))


class Migration(migrations.Migration):
    dependencies = [("guardrails", "0003_label_context_and_lexicon_v2")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
