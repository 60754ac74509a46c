"""Checking import rows in helper processes while the importing process writes.

Validation (DRF's EventInput and the guardrails lexicon) is most of an import's CPU time and is
pure: the same row gives the same answer in any process. So when the machine has more than one
core, rows are checked in forked helper processes, chunk by chunk and in order, while this process
writes the batches already checked. The helpers run exactly `EventImporter._validate`: the same
rules, not a copy. They never touch this process's database connection (each opens its own if
the lexicon needs a look-up) and hold no state between chunks.

Not used when the import is called inside a transaction the helpers could not see (tests) nor
from a daemonic process (a Celery prefork child, which
may not fork): there the rows are checked in-process, the same way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection, connections

CHUNK = 250
_importer = None  # the EventImporter whose rows the helper processes check (inherited through fork)
_inherited: list = []  # the parent's connections, kept referenced in a helper so they are never finalised


def helper_count() -> int:
    """How many helper processes: IMPORT_VALIDATION_PROCESSES, by default one per core."""
    return int(getattr(settings, "IMPORT_VALIDATION_PROCESSES", os.cpu_count() or 1))


def can_use_helpers() -> bool:
    return (helper_count() > 0 and not connection.in_atomic_block
            and not multiprocessing.current_process().daemon and "fork" in multiprocessing.get_all_start_methods())


def _forget_parent_connections() -> None:
    """In a fresh helper: set aside (never closing nor finalising: the socket is the parent's, and
    closing it would end the parent's session) every inherited database connection, so that any
    query opens the helper's own. Helpers end with os._exit, which finalises nothing."""
    for conn in connections.all(initialized_only=True):
        _inherited.append(conn.connection)
        conn.connection = None
        conn.in_atomic_block, conn.needs_rollback, conn.closed_in_transaction = False, False, False
        conn.savepoint_ids, conn.atomic_blocks, conn.run_on_commit = [], [], []


def _check_chunk(chunk: list[tuple[int, Any, str | None]]) -> list[tuple[int, dict | None, list]]:
    out = []
    for line, data, problem in chunk:
        if problem is not None:
            out.append((line, None, [("non_field_errors", problem)]))
            continue
        validated, errors = _importer._validate(data, _importer.root)
        if validated is not None:
            validated["store"] = validated["store"].code  # the parent has the Store objects
        out.append((line, validated, errors))
    return out


def checked_rows(importer, rows: Iterator[tuple[int, Any, str | None]]) -> Iterator[tuple[int, dict | None, list]]:
    """(line, validated data or None, errors) for each row, in order, checked by helper processes."""
    global _importer
    _importer = importer
    workers = helper_count()
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_forget_parent_connections)
    try:
        pending: deque = deque()
        chunk: list = []

        def results_of(item) -> Iterator[tuple[int, dict | None, list]]:
            for line, validated, errors in item.get():
                if validated is not None:
                    validated["store"] = importer.stores[validated["store"]]
                yield line, validated, errors

        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                pending.append(pool.apply_async(_check_chunk, (chunk,)))
                chunk = []
                while len(pending) > 2 * workers:  # bounded read-ahead: memory stays flat
                    yield from results_of(pending.popleft())
        if chunk:
            pending.append(pool.apply_async(_check_chunk, (chunk,)))
        while pending:
            yield from results_of(pending.popleft())
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        _importer = None
