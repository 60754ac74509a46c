"""Full-text search for the event list (events.selectors.events_visible's `q`).

Stored generated columns, not a maintained document: PostgreSQL computes `search_doc` from the
row's own text on every insert and update (a COPY or a bulk update included), so nothing — no
trigger, no service step — has to keep it up to date, and a deleted or expired event's search data
goes with its rows. Stored rather than an expression index so that checking a row while walking
the newest events (how a common name is searched) reads a value instead of recomputing it.
The columns are the database's own: the Django models do not declare them (events.selectors
reads them in SQL). Text is cut into letters-and-digits words first ("ACME-2026-000123" is acme,
2026, 000123), as events.selectors.search_tsquery cuts the query. Plates and SKUs are searched
exactly through their existing b-tree indexes.

The indexes on (occurred_at, id) and (organisation_id, total_value) serve the list's newest-first
order across retailers (police, partners) and its value filter."""

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
ALTER TABLE events_event ADD COLUMN search_doc tsvector
    GENERATED ALWAYS AS (events_event_tsv(external_id, narrative)) STORED;
ALTER TABLE events_eventperson ADD COLUMN search_doc tsvector
    GENERATED ALWAYS AS (events_person_tsv(name, aliases)) STORED;
CREATE INDEX events_event_search_gin ON events_event USING gin (search_doc);
CREATE INDEX events_person_search_gin ON events_eventperson USING gin (search_doc);
CREATE INDEX events_event_occurred_id ON events_event (occurred_at DESC, id DESC);
CREATE INDEX events_event_org_value ON events_event (organisation_id, total_value);
"""

BACKWARD = """
DROP INDEX IF EXISTS events_event_org_value;
DROP INDEX IF EXISTS events_event_occurred_id;
DROP INDEX IF EXISTS events_person_search_gin;
DROP INDEX IF EXISTS events_event_search_gin;
ALTER TABLE events_eventperson DROP COLUMN IF EXISTS search_doc;
ALTER TABLE events_event DROP COLUMN IF EXISTS search_doc;
DROP FUNCTION IF EXISTS events_person_tsv(text, text[]);
DROP FUNCTION IF EXISTS events_event_tsv(text, text);
DROP FUNCTION IF EXISTS events_search_words(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_import_job"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
