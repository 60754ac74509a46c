"""Gunicorn's access log without the health polls (issue 10): `make run` polls /healthz until the
worker is up (a 503 each time before it is), and a load balancer polls it for ever; neither is
something an operator reads the access log for. Every other request is logged as gunicorn does."""

from __future__ import annotations

from gunicorn.glogging import Logger

QUIET_PATHS = frozenset({"/healthz"})


class QuietHealthLogger(Logger):
    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO") in QUIET_PATHS:
            return
        super().access(resp, req, environ, request_time)
