# Client secrets of SSO providers sealed at rest (auror.fields.SealedCharField); existing ones are
# sealed here, and opened again if the migration is reversed.

from django.db import migrations

import auror.fields

PURPOSE = "accounts.OIDCProvider.client_secret"  # the field's purpose, bound into each sealed value


def seal_existing(apps, schema_editor):
    from auror.fields import is_sealed, seal

    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT id, client_secret FROM accounts_oidcprovider")
        for pk, value in cur.fetchall():
            if value and not is_sealed(value):
                cur.execute("UPDATE accounts_oidcprovider SET client_secret = %s WHERE id = %s",
                            [seal(value, purpose=PURPOSE), pk])


def open_existing(apps, schema_editor):
    from auror.fields import is_sealed, unseal

    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT id, client_secret FROM accounts_oidcprovider")
        for pk, value in cur.fetchall():
            if is_sealed(value):
                cur.execute("UPDATE accounts_oidcprovider SET client_secret = %s WHERE id = %s",
                            [unseal(value, purpose=PURPOSE), pk])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_oidcprovider_mfa_at_idp'),
    ]

    operations = [
        migrations.AlterField(
            model_name='oidcprovider',
            name='client_secret',
            field=auror.fields.SealedCharField(max_length=2000),
        ),
        migrations.RunPython(seal_existing, open_existing),
    ]
