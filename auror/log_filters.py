"""Console logging that says what happened in one line (issue 10, "Dead ends").

- A 403 is a decision, not a fault: Django logs it with the PermissionDenied's traceback; here it
  is one line ("Forbidden (Permission denied): /review/").
- Readiness polls of /healthz (`make run` waits on it while the worker starts) are not logged: a
  503 there before start-up settles is expected, and looked like an error in the console."""

from __future__ import annotations

import logging


class OneLineRefusals(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and getattr(request, "path", "") == "/healthz":
            return False
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
