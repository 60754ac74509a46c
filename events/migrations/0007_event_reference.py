"""Every event gets a human reference from its retailer's own sequence (events.references), and
search covers it and every descriptor of the people (issue 10).

- `events_take_references(org, n)`: n numbers of the retailer's sequence, made on first use.
- Existing events are numbered per retailer in the order they were recorded (created_at, id), and
  each retailer's sequence continues from there.
- The search columns (migration 0004) are computed again: the event's from its reference, its
  external id and narrative; a person's from name and aliases and every descriptor (gender, age
  band, build, hair, clothing, marks), so "hoodie" finds the event where a black hoodie was seen."""

from django.conf import settings
from django.db import migrations, models

FORWARD = r"""
CREATE FUNCTION events_take_references(org bigint, n integer) RETURNS SETOF bigint
    LANGUAGE plpgsql
    AS $$
DECLARE seq text := 'events_reference_' || org;
BEGIN
    IF to_regclass(seq) IS NULL THEN
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', seq);
    END IF;
    RETURN QUERY SELECT nextval(seq) FROM generate_series(1, n);
END $$;

UPDATE events_event e
SET reference = coalesce(nullif(left(regexp_replace(upper(o.slug), '[^A-Z0-9]', '', 'g'), 8), ''), 'EV')
                || '-' || lpad(r.n::text, 6, '0')
FROM (SELECT id, row_number() OVER (PARTITION BY organisation_id ORDER BY created_at, id) AS n FROM events_event) r,
     accounts_organisation o
WHERE r.id = e.id AND o.id = e.organisation_id;

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT organisation_id, COUNT(*) AS n FROM events_event GROUP BY organisation_id LOOP
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', 'events_reference_' || r.organisation_id);
        PERFORM setval('events_reference_' || r.organisation_id, r.n);
    END LOOP;
END $$;

DROP INDEX IF EXISTS events_event_search_gin;
DROP INDEX IF EXISTS events_person_search_gin;
ALTER TABLE events_event DROP COLUMN search_doc;
ALTER TABLE events_eventperson DROP COLUMN search_doc;
CREATE FUNCTION events_event_tsv(reference text, external_id text, narrative text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT events_search_words(coalesce(reference, '') || ' ' || coalesce(external_id, '') || ' '
                                     || coalesce(narrative, '')) $$;
CREATE FUNCTION events_person_tsv(name text, aliases text[], gender text, age_band text, build text, hair text,
                                  clothing text, marks text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT events_search_words(concat_ws(' ', name, array_to_string(aliases, ' '), gender, age_band, build,
                                               hair, clothing, marks)) $$;
ALTER TABLE events_event ADD COLUMN search_doc tsvector
    GENERATED ALWAYS AS (events_event_tsv(reference, external_id, narrative)) STORED;
ALTER TABLE events_eventperson ADD COLUMN search_doc tsvector
    GENERATED ALWAYS AS (events_person_tsv(name, aliases, gender, age_band, build, hair, clothing, marks)) STORED;
CREATE INDEX events_event_search_gin ON events_event USING gin (search_doc);
CREATE INDEX events_person_search_gin ON events_eventperson USING gin (search_doc);
"""

BACKWARD = r"""
DROP INDEX IF EXISTS events_event_search_gin;
DROP INDEX IF EXISTS events_person_search_gin;
ALTER TABLE events_event DROP COLUMN search_doc;
ALTER TABLE events_eventperson DROP COLUMN search_doc;
DROP FUNCTION IF EXISTS events_event_tsv(text, text, text);
DROP FUNCTION IF EXISTS events_person_tsv(text, text[], text, text, text, text, text, text);
ALTER TABLE events_event ADD COLUMN search_doc tsvector
    GENERATED ALWAYS AS (events_event_tsv(external_id, narrative)) STORED;
ALTER TABLE events_eventperson ADD COLUMN search_doc tsvector
    GENERATED ALWAYS AS (events_person_tsv(name, aliases)) STORED;
CREATE INDEX events_event_search_gin ON events_event USING gin (search_doc);
CREATE INDEX events_person_search_gin ON events_eventperson USING gin (search_doc);
DROP FUNCTION IF EXISTS events_take_references(bigint, integer);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_oidc_client_secret_sealed'),
        ('events', '0006_descriptor_synonyms'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='event',
            name='reference',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=30),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.AddConstraint(
            model_name='event',
            constraint=models.UniqueConstraint(condition=models.Q(('reference', ''), _negated=True),
                                               fields=('organisation', 'reference'), name='event_reference_unique_per_org'),
        ),
    ]
