"""The application role and the row-level security backstop (auror.rls; issue 11).

- `AUROR_DB_APP_ROLE` (default auror_app): created NOLOGIN when missing and the migrating role may
  create roles (else a DBA creates it first: README). It may read and write the tables, not own or
  alter them, and not change, delete or truncate audit rows, so it can disable neither the policies
  nor the audit triggers. Tables created by later migrations get the same grants (default
  privileges of the migrating role).
- `events_take_references` creates a retailer's reference sequence on first use: it runs as its
  owner (SECURITY DEFINER), since the application role may create nothing.
- The policies of every table in auror.rls.TABLES.
"""

from django.conf import settings
from django.db import migrations


def _role() -> str:
    from django.db import connection

    return connection.ops.quote_name(settings.AUROR_DB_APP_ROLE or "auror_app")


def install(apps, schema_editor):
    from auror import rls

    role = _role()
    name = (settings.AUROR_DB_APP_ROLE or "auror_app").replace("'", "''")
    schema_editor.execute(f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
    BEGIN
      CREATE ROLE {role} NOLOGIN;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'Create the application role first: CREATE ROLE {role} LOGIN PASSWORD ... (README)';
    END;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditentry FROM {role};
ALTER FUNCTION events_take_references(bigint, integer) SECURITY DEFINER SET search_path = public, pg_temp;
""")  # nosec B608  # the role name from settings, quoted
    schema_editor.execute(rls.install_sql())


def uninstall(apps, schema_editor):
    from auror import rls

    schema_editor.execute(rls.uninstall_sql())
    schema_editor.execute("ALTER FUNCTION events_take_references(bigint, integer) SECURITY INVOKER")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only"),
        ("accounts", "0004_organisation_timezone"),
        ("events", "0007_event_reference"),
        ("evidence", "0001_initial"),
        ("profiles", "0002_profile_summary_origin"),
        ("matching", "0011_matchrecord_companions"),
        ("sharing", "0002_disclosure_requests"),
    ]
    operations = [migrations.RunPython(install, uninstall)]
