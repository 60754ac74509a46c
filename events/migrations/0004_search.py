"""Full-text search for the event list (events.selectors.events_visible's `q`).

Expression GIN indexes, not a maintained column: nothing has to keep a search document up to date
(no trigger, no service step, no cost on import), and a deleted or expired event's index entries go
with its rows. The same immutable functions are called by the query, so PostgreSQL matches them to
the indexes. Text is cut into letters-and-digits words first ("ACME-2026-000123" is acme, 2026,
000123), as events.selectors.search_tsquery cuts the query. Plates and SKUs are searched exactly through their existing b-tree indexes."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION events_search_words(value text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_tsvector('simple'::regconfig, regexp_replace(value, '[^[:alnum:]]+', ' ', 'g')) $$;
CREATE FUNCTION events_event_tsv(external_id text, narrative text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT events_search_words(coalesce(external_id, '') || ' ' || coalesce(narrative, '')) $$;
CREATE FUNCTION events_person_tsv(name text, aliases text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT events_search_words(coalesce(name, '') || ' ' || coalesce(array_to_string(aliases, ' '), '')) $$;
CREATE INDEX events_event_search_gin ON events_event USING gin (events_event_tsv(external_id, narrative));
CREATE INDEX events_person_search_gin ON events_eventperson USING gin (events_person_tsv(name, aliases));
CREATE INDEX events_event_occurred_id ON events_event (occurred_at DESC, id DESC);
CREATE INDEX events_event_org_value ON events_event (organisation_id, total_value);
"""

BACKWARD = """
DROP INDEX IF EXISTS events_event_org_value;
DROP INDEX IF EXISTS events_event_occurred_id;
DROP INDEX IF EXISTS events_person_search_gin;
DROP INDEX IF EXISTS events_event_search_gin;
DROP FUNCTION IF EXISTS events_person_tsv(text, text[]);
DROP FUNCTION IF EXISTS events_event_tsv(text, text);
DROP FUNCTION IF EXISTS events_search_words(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_import_job"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
