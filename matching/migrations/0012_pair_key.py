"""matching_pair_key(person): who a review card is about on the other side, for the queue's one
card per pair of people (matching.selectors_review.cross_collapsed): the person's profile, else
the person (a negative id). Under row-level security (auror.rls) another retailer's profile
memberships are not readable, so it runs as its owner, and answers only for a person who is the
other side of one of the session's organisation's own suggestions (or in system scope): an
opaque number, never a name."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION matching_pair_key(person bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT CASE WHEN auror_rls_system() OR EXISTS (
                 SELECT 1 FROM matching_suggestion s
                 WHERE s.target_person_id = person AND s.organisation_id = auror_rls_org())
              THEN coalesce((SELECT pm.profile_id FROM profiles_profilemember pm WHERE pm.person_id = person), -person)
         END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("matching", "0011_matchrecord_companions"), ("audit", "0003_row_level_security")]
    operations = [migrations.RunSQL(SQL, "DROP FUNCTION IF EXISTS matching_pair_key(bigint);")]
