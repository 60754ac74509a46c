"""Set-based writes for many rows at once, used by the event write path (events.services) for a
batch of any size, by the catalogue import, and by benchmarks loading synthetic worlds.

Both helpers take ordinary model instances, so a field added to a model is written with its
default like everywhere else, and both raise Django's database errors (an IntegrityError for a
unique constraint), as the ORM does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from operator import attrgetter

from django.db import connection
from django.utils import timezone


def copy_insert(model, objs: list) -> None:
    """INSERT many rows with PostgreSQL's COPY: ids are taken from the table's sequence first (one
    query) and set on the objects, as bulk_create would; auto_now fields are filled and foreign keys
    to objects saved earlier in the batch resolved. Four to five times faster than bulk_create's
    multi-row INSERT, which is most of what makes a 100,000-event import take minutes, not tens of
    minutes."""
    if not objs:
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    auto = [f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    relations = [f for f in fields if f.is_relation]
    names = [f.attname for f in fields]
    values_of = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))
    quote = connection.ops.quote_name
    now = timezone.now()  # auto_now and auto_now_add fields: one moment for the batch
    with connection.cursor() as cur:
        # With the ids: whether this session is held to row-level security (auror.rls), which
        # refuses COPY into a table with policies.
        cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)), (SELECT NOT (r.rolsuper OR r.rolbypassrls)"
                    " FROM pg_roles r WHERE r.rolname = current_user) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(objs)])
        rows = cur.fetchall()
        ids = [r[0] for r in rows]
        held = bool(rows[0][1]) and _has_policies(meta.db_table)
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias
            for name in auto:
                setattr(obj, name, now)
            for f in relations:
                if getattr(obj, f.attname) is None:
                    related = f.get_cached_value(obj, None)
                    if related is not None:
                        setattr(obj, f.attname, related.pk)
        columns = ", ".join(quote(f.column) for f in fields)
        table = quote(meta.db_table)
        if held and len(objs) <= INSERT_AT_MOST:
            # A few rows: one multi-row INSERT (no RETURNING: the ids are known).
            row = f"({', '.join(['%s'] * len(fields))})"
            cur.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(objs))}",  # nosec B608  # identifiers from the models and settings, quoted; values are parameters
                        [f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objs for f in fields])
            return
        # The cursor's copy() is psycopg's own: its errors are turned into Django's here, so that a
        # caller catching IntegrityError (a repeated client key, a duplicate external id) sees one.
        with connection.wrap_database_errors, copy_into(cur, meta.db_table, columns, held=held) as copy:
            for obj in objs:
                copy.write_row(values_of(obj))


INSERT_AT_MOST = 200  # rows written by a plain INSERT when COPY is not allowed


HELD_SQL = "SELECT NOT (r.rolsuper OR r.rolbypassrls) FROM pg_roles r WHERE r.rolname = current_user"


@contextlib.contextmanager
def copy_into(cur, table: str, columns: str, *, held: bool | None = None) -> Iterator:
    """`COPY table (columns) FROM STDIN` for a cursor (Django's or psycopg's). PostgreSQL refuses
    COPY into a table with row-level security (auror.rls) from a session held to it: the rows then
    go into a temporary table first, and from there into the table by one INSERT. `held`: whether
    the session is held to the table's policies, when the caller knows already."""
    if held is None:
        held = _has_policies(table)
        if held:
            cur.execute(HELD_SQL)
            held = bool(cur.fetchone()[0])
    quote = connection.ops.quote_name
    target = quote(f"_copy_{table}") if held else quote(table)
    table = quote(table)
    if held:
        cur.execute(f"CREATE TEMPORARY TABLE {target} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")  # nosec B608  # identifiers from the models and settings, quoted; values are parameters
    with cur.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
        yield copy
    if held:
        cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target}")  # nosec B608  # identifiers from the models and settings, quoted; values are parameters
        cur.execute(f"DROP TABLE {target}")


def _has_policies(table: str) -> bool:
    from auror.rls import TABLES

    return table in TABLES


def bulk_update_rows(model, objs: list, fields: list[str]) -> None:
    """UPDATE many rows in one statement: the new values are COPYed into a temporary table and
    joined. Django's bulk_update builds a CASE per field per row (~15 ms a row at import sizes) and
    a VALUES list with thousands of parameters is slow to bind; this keeps a re-import close to the
    speed of the first import. One row is one plain UPDATE."""
    if not objs:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    model_fields = [meta.get_field(f) for f in fields]
    columns = [meta.pk, *model_fields]
    table = quote(meta.db_table)
    pk = quote(meta.pk.column)
    # Identifiers come from the model's meta, quoted; every value is a parameter or COPY data (nosec B608).
    with connection.cursor() as cur:
        if len(objs) == 1:
            obj = objs[0]
            sets = ", ".join(f"{quote(f.column)} = %s" for f in model_fields)
            cur.execute(f"UPDATE {table} SET {sets} WHERE {pk} = %s",  # nosec B608
                        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in model_fields] + [obj.pk])
            return
        names = ", ".join(quote(f.column) for f in columns)
        temp = quote(f"_bulk_{meta.db_table}")
        sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in model_fields)
        # Created and dropped inside the caller's transaction (a failure rolls the creation back too).
        cur.execute(f"CREATE TEMPORARY TABLE {temp} AS SELECT {names} FROM {table} WITH NO DATA")  # nosec B608
        with connection.wrap_database_errors, cur.copy(f"COPY {temp} ({names}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([getattr(obj, f.attname) for f in columns])
        cur.execute(f"UPDATE {table} SET {sets} FROM {temp} AS v WHERE {table}.{pk} = v.{pk}")  # nosec B608
        cur.execute(f"DROP TABLE {temp}")
