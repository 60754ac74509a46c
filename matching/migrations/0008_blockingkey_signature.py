"""Blocking keys carry a signature of who the record is (matching.keys.key_signatures), so that the
records of one person in no profile that share a value count as one person (a hub is a value shared
by many people, not by one prolific offender's many events). Nullable: keys written before it count
one per record, as they did, until the next rematch rewrites them. The covering index includes it,
so that counting still reads the index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("matching", "0007_matchrecord"),
    ]

    operations = [
        migrations.AddField(
            model_name="blockingkey",
            name="signature",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="blockingkey",
            index=models.Index(fields=["kind", "value", "organisation", "person"], include=("profile", "signature"),
                               name="blockingkey_lookup_sig"),
        ),
        migrations.RemoveIndex(
            model_name="blockingkey",
            name="blockingkey_lookup_cover",
        ),
    ]
