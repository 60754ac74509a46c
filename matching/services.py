"""Entry points other apps call when something matching depends on changes."""

from __future__ import annotations

from django.db import connection, transaction

from events.models import Event
from matching.engine import mark_stale, run_match_state
from matching.models import MatchState


def event_changed(*, event: Event) -> None:
    """In the transaction that creates or changes an event: mark its matching stale, and enqueue the
    job that recomputes it once the change is committed."""
    from matching.tasks import match_event

    mark_stale(event=event)
    transaction.on_commit(lambda pk=event.pk: match_event.delay(pk))


def events_changed(*, organisation_id: int, event_ids: list[int]) -> None:
    """The bulk form for imports: one statement marks them all stale; `rematch` or the job queue
    runs them."""
    from matching.tasks import match_event

    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO matching_matchstate (event_id, organisation_id, status, version, done_version, updated_at)
               SELECT unnest(%s::bigint[]), %s, 'pending', 1, 0, now()
               ON CONFLICT (event_id) DO UPDATE SET version = matching_matchstate.version + 1, status = 'pending',
                                                    updated_at = now()""",
            [event_ids, organisation_id],
        )
    transaction.on_commit(lambda ids=tuple(event_ids): [match_event.delay(pk) for pk in ids])


def rematch_organisation(*, organisation_id: int, progress=None) -> int:
    """Run every pending or stale matching job of the organisation to completion, in this process."""
    with connection.cursor() as cur:  # events recorded before matching existed get a state
        cur.execute(
            """INSERT INTO matching_matchstate (event_id, organisation_id, status, version, done_version, updated_at)
               SELECT e.id, e.organisation_id, 'pending', 1, 0, now() FROM events_event e
               WHERE e.organisation_id = %s AND NOT EXISTS (SELECT 1 FROM matching_matchstate m WHERE m.event_id = e.id)""",
            [organisation_id],
        )
    todo = list(
        MatchState.objects.filter(organisation_id=organisation_id)
        .exclude(status=MatchState.Status.DONE)
        .order_by("event__occurred_at", "event_id")
        .values_list("event_id", flat=True)
    )
    done = 0
    for i, event_id in enumerate(todo):
        if run_match_state(event_id):
            done += 1
        if progress and (i + 1) % 1000 == 0:
            progress(i + 1, len(todo))
    return done
