"""Writing the audit log. Call `audit_record` inside the transaction of the change it describes:
if the audit row cannot be written, the change rolls back with it."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditEntry
from auror.middleware import current_request_context


def _actor_fields(actor) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor_id": None, "actor_email": ""}
    return {"actor_id": actor.pk, "actor_email": actor.email}


def audit_record(
    *,
    action: str,
    actor=None,
    organisation_id: int | None = None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
    token_id: int | None = None,
    actor_email: str = "",
) -> AuditEntry:
    """Append one row to the organisation's hash chain, in the caller's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)[:200]
    if organisation_id is None and actor is not None and getattr(actor, "organisation_id", None):
        organisation_id = actor.organisation_id
    ctx = current_request_context()
    if ctx is not None and ctx.token is not None:
        token_id = token_id or ctx.token.pk

        def counted(c=ctx) -> None:
            c.committed_audit_rows += 1

        transaction.on_commit(counted)
    fields = _actor_fields(actor)
    if actor_email and not fields["actor_email"]:
        fields["actor_email"] = actor_email[:254]
    chain = organisation_id or 0
    # No savepoint inside the caller's transaction (two round trips on every audited change): a
    # failure here fails the change it describes, which is what the caller's transaction is for.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cur:
            # The row's id comes with the chain head: the INSERT below needs no RETURNING, which
            # row-level security (auror.rls) would refuse for a row the session may not read back
            # (an anonymous sign-in failure, a row written into another organisation's chain).
            head_sql = ("SELECT seq, hash, nextval(pg_get_serial_sequence('audit_auditentry', 'id'))"
                        " FROM audit_auditchainhead WHERE chain = %s FOR UPDATE")
            cur.execute(head_sql, [chain])
            head = cur.fetchone()
            if head is None:  # the chain's first row
                cur.execute(
                    "INSERT INTO audit_auditchainhead (chain, seq, hash) VALUES (%s, 0, %s) ON CONFLICT DO NOTHING",
                    [chain, GENESIS_HASH],
                )
                cur.execute(head_sql, [chain])
                head = cur.fetchone()
            seq, prev_hash, entry_id = head
        entry = AuditEntry(
            id=entry_id,
            chain=chain,
            seq=seq + 1,
            organisation_id=organisation_id,
            at=timezone.now(),
            token_id=token_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id) if object_id != "" else "",
            object_repr=object_repr[:200],
            ip=ctx.ip if ctx else None,
            user_agent=ctx.user_agent if ctx else "",
            purpose=purpose[:500],
            detail=_normalise(detail or {}),
            prev_hash=prev_hash,
            **fields,
        )
        entry.hash = entry.compute_hash()
        columns = AuditEntry._meta.concrete_fields
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO audit_auditentry ({', '.join(connection.ops.quote_name(f.column) for f in columns)})"  # nosec B608  # identifiers from the models and settings, quoted; values are parameters
                f" VALUES ({', '.join(['%s'] * len(columns))})",
                [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in columns],
            )
            cur.execute(
                "UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE chain = %s",
                [entry.seq, entry.hash, chain],
            )
        entry._state.adding, entry._state.db = False, connection.alias
    return entry


def command_line_operator(command: str) -> tuple[str, dict[str, Any]]:
    """(actor_email, detail) for the audit row of a management command: the operating-system account
    that ran it (the one behind sudo when there is one), on which machine, from the command line."""
    import getpass
    import os
    import socket

    try:
        account = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name in this environment (a bare container)
        account = ""
    sudo = os.environ.get("SUDO_USER", "")
    detail: dict[str, Any] = {"via": "command line", "command": command, "os_user": account or None,
                              "host": socket.gethostname()}
    if sudo and sudo != account:
        detail["sudo_user"] = sudo
    return f"cli:{sudo or account or 'unknown'}", detail


def audit_token_use(token, *, request, status: int) -> None:
    """The use of an API token by a request that recorded nothing else (a failed or read-only call)."""
    audit_record(
        action="token.use",
        actor=token.user,
        actor_email="" if token.user_id else f"service:{token.name}",
        organisation_id=token.organisation_id,
        token_id=token.pk,
        object_type="accounts.apitoken",
        object_id=token.pk,
        object_repr=str(token),
        detail={"method": request.method, "path": request.path, "status": status},
    )


def _normalise(detail: dict[str, Any]) -> dict[str, Any]:
    """The JSON that round-trips through jsonb unchanged, so the hash can be recomputed later."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(detail, cls=DjangoJSONEncoder))
