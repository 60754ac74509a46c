"""Entry points other apps call when something matching depends on changes."""

from __future__ import annotations

from django.db import connection, transaction

from events.models import Event
from matching.engine import mark_stale
from matching.models import MatchState


def event_changed(*, event: Event, created: bool = False) -> None:
    """In the transaction that creates or changes an event: mark its matching stale, and enqueue the
    job that recomputes it once the change is committed. A just-created event has no MatchState
    yet: `created` inserts it in one statement."""
    from matching.tasks import match_event

    if created:
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO matching_matchstate (event_id, organisation_id, status, version, done_version, updated_at)"
                " VALUES (%s, %s, 'pending', 1, 0, now())",
                [event.pk, event.organisation_id],
            )
    else:
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


REMATCH_BATCH = 500


def rematch_organisation(*, organisation_id: int, progress=None, estimate: bool = False,
                         batch: int = REMATCH_BATCH) -> int:
    """Run every pending or stale matching job of the organisation to completion, in this process.

    First the blocking keys of every pending event are stored, so that each event then meets every
    other whatever the order; with `estimate`, the feature weights are estimated from those
    (matching.weights); then the suggestions are computed a batch of events at a time, each batch
    one transaction holding its events' MatchState rows (a kill loses nothing: they stay pending).
    Idempotent: a second run finds nothing pending."""
    from matching.engine import RunMemory, index_pending, refresh_hubs, run_match_states

    rematch_states(organisation_id)
    todo = pending_events(organisation_id)
    memory = RunMemory()
    for i in range(0, len(todo), batch):
        index_pending(todo[i:i + batch], memory=memory)
    if todo:
        refresh_hubs(organisation_id)  # every hub counted once, not met and counted batch by batch
    if estimate:
        from matching.weights import estimate_weights

        estimate_weights(organisation_id)
    batches = [todo[i:i + batch] for i in range(0, len(todo), batch)]
    done = 0
    if connection.in_atomic_block or len(batches) < 2:
        # Inside a caller's transaction the read-ahead's own connection could not see its rows.
        for n, ids in enumerate(batches):
            done += len(run_match_states(ids, memory=memory))
            if progress:
                progress(min((n + 1) * batch, len(todo)), len(todo))
        return done
    from concurrent.futures import ThreadPoolExecutor

    from matching.engine import prepare_ahead

    # While this thread scores and saves one batch, another reads the next one and finds its
    # candidates (the database works while Python scores: two cores, not one).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rematch-read-ahead") as ahead:
        upcoming = ahead.submit(prepare_ahead, batches[0], memory=memory)
        for n, ids in enumerate(batches):
            prepared = upcoming.result()
            if n + 1 < len(batches):
                upcoming = ahead.submit(prepare_ahead, batches[n + 1], memory=memory)
            done += len(run_match_states(ids, memory=memory, prepared=prepared))
            if progress:
                progress(min((n + 1) * batch, len(todo)), len(todo))
    return done


def index_organisation(*, organisation_id: int, batch: int = REMATCH_BATCH) -> int:
    """Store the blocking keys of the organisation's pending events (rematch's first phase alone; a
    benchmark runs it for every retailer first, so that each one's rematch meets the others')."""
    from matching.engine import index_pending, refresh_hubs

    rematch_states(organisation_id)
    todo = pending_events(organisation_id)
    n = sum(index_pending(todo[i:i + batch]) for i in range(0, len(todo), batch))
    refresh_hubs(organisation_id)
    return n


def rematch_states(organisation_id: int) -> None:
    """Events recorded before matching existed (or loaded in bulk) get a pending MatchState. When the
    table looks empty to the planner (just truncated, or never analysed), it probes it once per event
    with a sequential scan, which also reads the rows this very statement inserts: quadratic. A hash
    anti-join reads each table once, whatever the statistics say."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_nestloop = off")
        cur.execute(
            """INSERT INTO matching_matchstate (event_id, organisation_id, status, version, done_version, updated_at)
               SELECT e.id, e.organisation_id, 'pending', 1, 0, now() FROM events_event e
               WHERE e.organisation_id = %s AND NOT EXISTS (SELECT 1 FROM matching_matchstate m WHERE m.event_id = e.id)""",
            [organisation_id],
        )
        cur.execute("SET LOCAL enable_nestloop TO DEFAULT")  # inside a caller's transaction too


def pending_events(organisation_id: int) -> list[int]:
    """The organisation's events whose suggestions are not up to date, oldest first."""
    return list(
        MatchState.objects.filter(organisation_id=organisation_id)
        .exclude(status=MatchState.Status.DONE)
        .order_by("event__occurred_at", "event_id")
        .values_list("event_id", flat=True)
    )
