"""Text search under row-level security (auror.rls): PostgreSQL applies a table's policies before
any condition whose operator is not leakproof, and the text-search match (@@) is not, so a search of
events_event or events_eventperson could no longer use its GIN index: a sequential scan of a
million rows (4 s). The search branches (events.selectors) yield only event ids, which the caller's
queryset, the access policy and the policies then filter; these functions look them up through the
index as their owner. `lim` bounds the rows (NULL: all)."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION events_search_event_ids(q text, lim integer) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT id FROM events_event WHERE search_doc @@ to_tsquery('simple', q) LIMIT lim
$$;
CREATE OR REPLACE FUNCTION events_search_person_event_ids(q text, lim integer) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT event_id FROM events_eventperson WHERE search_doc @@ to_tsquery('simple', q) LIMIT lim
$$;
"""
REVERSE = """
DROP FUNCTION IF EXISTS events_search_event_ids(text, integer);
DROP FUNCTION IF EXISTS events_search_person_event_ids(text, integer);
"""


class Migration(migrations.Migration):
    dependencies = [("events", "0007_event_reference"), ("audit", "0003_row_level_security")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
