"""Value filters under row-level security (auror.rls): PostgreSQL applies a table's policies
before any condition whose operator is not leakproof, and its numeric comparisons are not marked so
(they raise no error and return nothing but true or false, so they reveal nothing about rows the
policies hide). Unmarked, "value 200-400" on a million events cannot use the value index: 900 ms
instead of 30 (bench/list_bench.py --compare-rls). Marking a built-in needs a superuser: when the
migrating role is not one, this says so and changes nothing (ask the DBA to run the same ALTERs)."""

from django.db import migrations

SQL = """
DO $$ BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER FUNCTION pg_catalog.numeric_eq(numeric, numeric) LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_ne(numeric, numeric) LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_lt(numeric, numeric) LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_le(numeric, numeric) LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_gt(numeric, numeric) LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_ge(numeric, numeric) LEAKPROOF;
  ELSE
    RAISE NOTICE 'Not a superuser: numeric comparisons stay unmarked (events migration 0009)';
  END IF;
END $$;
"""
REVERSE = """
DO $$ BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER FUNCTION pg_catalog.numeric_eq(numeric, numeric) NOT LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_ne(numeric, numeric) NOT LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_lt(numeric, numeric) NOT LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_le(numeric, numeric) NOT LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_gt(numeric, numeric) NOT LEAKPROOF;
    ALTER FUNCTION pg_catalog.numeric_ge(numeric, numeric) NOT LEAKPROOF;
  END IF;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("events", "0008_search_under_rls")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
