"""`flush` wipes the whole database. The audit table refuses TRUNCATE, so flushing it needs its
triggers disabled for the moment of the flush; that is allowed only in tests and development,
where Django's transactional test cases flush between tests."""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections


class Command(FlushCommand):
    def handle(self, **options):
        if not (settings.TESTING or settings.DEVELOPMENT):
            raise CommandError("flush would erase the append-only audit log; refused outside tests and development")
        conn = connections[options["database"]]
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        try:
            return super().handle(**options)
        finally:
            with conn.cursor() as cur:
                cur.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
