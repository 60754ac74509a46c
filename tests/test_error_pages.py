"""403, 404 and 500 pages (issue 10, "Dead ends"): the site's layout and navigation, the reason in
plain words, a way back; a 403 logged as one line, never a traceback; readiness polls not logged."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tests.admin.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_a_403_has_the_navigation_the_reason_and_a_way_back(world):
    c = sign_in(Client(), world.staff)
    r = c.get("/review/")
    assert r.status_code == 403
    html = r.content.decode()
    assert '<nav aria-label="Main">' in html and ">Record event<" in html  # the site's own layout
    assert "You can’t use this page" in html and "store staff" in html and "ask your retailer admin" in html
    assert "This page is for investigators and retailer admins." in html
    assert 'href="/"' in html and "auror.css" in html


def test_a_403_says_the_refusals_own_reason(world, rf):
    from django.core.exceptions import PermissionDenied

    from auror.rest import permission_denied

    request = rf.get("/profiles/1/merge/")
    request.user = world.investigator
    response = permission_denied(request, PermissionDenied("You may not change that profile."))
    html = response.content.decode()
    assert response.status_code == 403 and "<strong>You may not change that profile.</strong>" in html


def test_a_403_under_the_api_is_problem_details(rf):
    from django.core.exceptions import PermissionDenied

    from auror.rest import permission_denied

    response = permission_denied(rf.get("/api/v1/anything/"), PermissionDenied("No."))
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"


def test_a_404_has_the_layout_and_a_way_back(world):
    c = sign_in(Client(), world.investigator)
    r = c.get("/events/999999999/")
    assert r.status_code == 404
    html = r.content.decode()
    assert '<nav aria-label="Main">' in html and "There is nothing here" in html and "not one you may see" in html


def test_a_500_page_stands_alone():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html and 'href="/"' in html


def test_a_403_is_logged_in_one_line(world, caplog):
    from auror.log_filters import OneLineRefusals

    c = sign_in(Client(), world.staff)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        c.get("/review/")
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert OneLineRefusals().filter(record) and record.exc_info is None
    assert "Forbidden" in record.getMessage() and "/review/" in record.getMessage()


def test_readiness_polls_are_not_logged(rf):
    from auror.log_filters import OneLineRefusals

    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Service Unavailable: %s", ("/healthz",), None)
    record.request = rf.get("/healthz")
    record.status_code = 503
    assert OneLineRefusals().filter(record) is False
    other = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", ("/x",), None)
    other.request = rf.get("/x")
    assert OneLineRefusals().filter(other) is True


def test_gunicorns_access_log_leaves_out_the_health_polls(caplog):
    from types import SimpleNamespace

    from gunicorn.config import Config

    from auror.gunicorn_logging import QuietHealthLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    log = QuietHealthLogger(cfg)
    seen = []
    log.access_log.handlers = []
    log.access_log.addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: seen.append(r.getMessage())})())
    resp = SimpleNamespace(status="503 Service Unavailable", headers=[], sent=10, response_length=10)
    req = SimpleNamespace(headers=[], method="GET", path="/healthz", query="", version=(1, 1))
    env = {"PATH_INFO": "/healthz", "RAW_URI": "/healthz", "REQUEST_METHOD": "GET", "QUERY_STRING": "",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    import datetime as dt

    log.access(resp, req, env, dt.timedelta(seconds=0.01))
    assert seen == []
    log.access(resp, req, {**env, "PATH_INFO": "/events/", "RAW_URI": "/events/"}, dt.timedelta(seconds=0.01))
    assert len(seen) == 1 and "/events/" in seen[0]
