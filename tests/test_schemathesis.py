"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis, issue 11): for
each of four roles, every operation of /api/schema/ gets generated requests, valid (positive) and
invalid (negative) ones, sent straight to the WSGI app (no server), and every answer must be no 5xx
and must match the schema: its status documented, its content type and body as the schema says.

The suite runs a small budget (a few examples per operation and mode, well under a minute). The
larger run the probe made is the same test with a bigger budget (README, "API fuzzing"):

    SCHEMATHESIS_MAX_EXAMPLES=200 pytest tests/test_schemathesis.py -p no:randomly -q -s
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.db import transaction
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import token_create

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"))
ROLES = ["staff", "investigator", "admin", "officer"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Police callers state a purpose on every request; a valid one lets the fuzzer past that check
# (the schema's other parameters are still generated, and a missing purpose is tested elsewhere).
POLICE_QUERY = {"purpose": "investigation", "case_reference": "CASE-2026-1"}

pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def records(world, event_factory):
    """A few events for the lists and detail routes to show, with external ids the fuzzer reuses."""
    world.event_ids = [event_factory(store=store, created_by=user, external_id=f"EX-{n}").pk
                       for n, (store, user) in enumerate(((world.acme_akl, world.staff),
                                                          (world.acme_akl, world.investigator),
                                                          (world.bmart_akl, world.other_staff)), start=1)]
    return world


def _steer(case, data, *, event_ids: list[int], store: str) -> None:
    """Half the time, aim a generated case at what exists: a real event's id in the path, the
    caller's own store and an external id already taken in the body. Random values alone almost
    never reach past "no such store" or "no such event", where the probe's 500s were."""
    path = case.path_parameters or {}
    for key in ("id", "event_id"):
        if key in path and data.draw(st.booleans(), label=f"real {key}"):
            path[key] = data.draw(st.sampled_from(event_ids), label=key)
    if isinstance(case.body, dict) and data.draw(st.booleans(), label="real store"):
        case.body["store"] = store
        if data.draw(st.booleans(), label="taken external id"):
            case.body["external_id"] = data.draw(st.sampled_from(["EX-1", "EX-2", "EX-3"]), label="external_id")


@pytest.fixture
def app():
    """The project's WSGI app. Like Django's test client, it must not close the database connection
    at the end of each request: the test's transaction lives on it."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    log = logging.getLogger("django.request")  # a warning line per refused request is noise here
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield WSGIHandler()
    finally:
        log.setLevel(level)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _run_operation(operation, app, headers: dict, query: dict | None, mode: GenerationMode, found: list,
                   counts: Counter, steer) -> None:
    strategy = operation.ok().as_strategy(generation_mode=mode, query=query) if query else \
        operation.ok().as_strategy(generation_mode=mode)

    @given(case=strategy, data=st.data())
    @hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    def run(case, data):
        steer(case, data)
        # Each case in a savepoint rolled back after it: every case meets the same records, and a
        # request that broke the transaction cannot fail the ones after it.
        with transaction.atomic():
            response = case.call(app=app, headers=headers)
            transaction.set_rollback(True)
        counts["cases"] += 1
        counts[f"status {response.status_code}"] += 1
        if response.status_code >= 500:
            counts["5xx"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:  # every failed check of this case, with a curl to replay it
            found.append(f"{case.method} {case.formatted_path} [{mode.value}] -> {response.status_code}\n{exc}")

    run()


@pytest.mark.parametrize("role", ROLES)
def test_the_api_holds_to_its_schema_under_fuzzing(records, app, role):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    user = records.users[role]
    _, raw = token_create(organisation=user.organisation, user=user, name="schemathesis")
    headers = {"Authorization": f"Bearer {raw}"}
    query = POLICE_QUERY if user.organisation.kind == "law_enforcement" else None
    found: list[str] = []
    counts: Counter = Counter()
    store = (user.stores.first() or records.acme_akl).code if user.organisation.is_retailer else "ACME-001"

    def steer(case, data):
        _steer(case, data, event_ids=records.event_ids, store=store)

    started = time.monotonic()
    for operation in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(operation, app, headers, query, mode, found, counts, steer)
    elapsed = time.monotonic() - started
    statuses = ", ".join(f"{k[7:]}: {v}" for k, v in sorted(counts.items()) if k.startswith("status "))
    print(f"\nschemathesis {role}: {counts['cases']} cases, {counts['5xx']} 5xx, {len(found)} failing, "
          f"{elapsed:.1f}s ({statuses})")
    assert counts["cases"] > 0
    assert not found, "\n\n".join(found[:20])
