"""One write path (DESIGN.md rule 10): the same events recorded in the browser's form and imported
from a file leave the same rows behind — the events and their parts, the retailer's vehicles,
Connect the Dots' blocking keys, compact records and suggestions once its jobs have run, and the
audit of their content. Each way is tried on the same starting state (a savepoint rolled back in
between), so everything but ids, timestamps and the channel's own label must be equal."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from auror.celery import app as celery_app
from events.imports.writer import events_import
from events.models import Event, EventPerson, EventProduct, EventVehicle, Product
from matching.models import BlockingKey, MatchRecord, MatchState, Suggestion
from profiles.models import Vehicle
from tests.admin.conftest import sign_in
from tests.events.import_helpers import write_jsonl

pytestmark = pytest.mark.django_db
AKL = zoneinfo.ZoneInfo("Pacific/Auckland")


@pytest.fixture
def eager():
    """Celery's own eager mode: the jobs enqueued on commit run here, as a worker would run them."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


def moment(hours_ago: int) -> dt.datetime:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).astimezone(AKL).replace(second=0, microsecond=0)


def content() -> list[dict]:
    """Two events of one offender (the same plate written two ways, the second time with a friend),
    as interchange rows; the products are priced from the catalogue."""
    person = {"ref": "p1", "role": "offender", "name": "Shelly Bryant", "aliases": ["Shell"], "age_band": "25-34",
              "gender": "female", "height_cm": 165, "build": "slim", "hair": "long red",
              "clothing": "grey hoodie", "marks": "star tattoo left hand"}
    return [
        {"store": "ACME-001", "occurred_at": moment(30).isoformat(), "type": "theft",
         "narrative": "Filled a bag with razor blades and left past the tills.",
         "products": [{"sku": "9300601", "quantity": 2}],
         "persons": [person],
         "vehicles": [{"plate": "rux246", "make": "Toyota", "model": "Corolla", "colour": "silver",
                       "person_ref": "p1"}]},
        {"store": "ACME-002", "occurred_at": moment(3).isoformat(), "type": "theft", "threatened_violence": True,
         "narrative": "Took razor blades again and threatened the guard.",
         "products": [{"sku": "9300601", "quantity": 1}, {"description": "Energy drinks 4pk", "quantity": 3,
                                                          "unit_value": "9.50"}],
         "persons": [{**person, "clothing": "black puffer jacket"},
                     {"ref": "p2", "role": "accomplice", "name": "Dee Walsh", "gender": "female"}],
         "vehicles": [{"plate": "RUX 246", "colour": "silver", "person_ref": "p1"}]},
    ]


def as_form(row: dict) -> dict[str, str]:
    """The same event as the event form posts it (field names like the CSV columns; store-local time)."""
    post = {"action": "submit", "police_sharing": ""}
    for key, value in row.items():
        if key == "occurred_at":
            post[key] = dt.datetime.fromisoformat(value).astimezone(AKL).strftime("%Y-%m-%dT%H:%M")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                for cell, v in item.items():
                    if isinstance(v, list):
                        post.update({f"{key}.{i}.{cell}.{j}": str(x) for j, x in enumerate(v)})
                    else:
                        post[f"{key}.{i}.{cell}"] = str(v)
        elif isinstance(value, bool):
            if value:
                post[key] = "on"
        else:
            post[key] = str(value)
    return post


def _without(row: dict, *names: str) -> dict:
    return {k: v for k, v in row.items() if k not in names}


def rows_left_by(events: list[Event]) -> dict:
    """Every row these events left behind, ids replaced by (event number, person ref)."""
    events = sorted(events, key=lambda e: e.occurred_at)
    number = {e.pk: n for n, e in enumerate(events)}
    persons = {p.pk: (number[p.event_id], p.ref) for p in EventPerson.objects.filter(event__in=events)}

    def values(qs, *exclude):
        out = []
        for row in qs.values():
            row = _without(row, "id", "created_at", "updated_at", *exclude)
            for name in ("event_id", "person_id", "target_person_id"):
                if name in row:
                    row[name] = number.get(row[name], row[name]) if name == "event_id" else persons.get(row[name])
            out.append(row)
        return sorted(out, key=lambda r: json.dumps(r, sort_keys=True, default=str))

    audited = {}
    for entry in AuditEntry.objects.filter(action__in=("event.create", "event.import")):
        found = ([(int(entry.object_id), entry.detail["after"])] if entry.action == "event.create"
                 else [(c["id"], c["after"]) for c in entry.detail["created"]])
        for event_id, after in found:
            if event_id in number:
                audited[number[event_id]] = _without(after, "id")
    return {
        "events": values(Event.objects.filter(pk__in=number), "client_key"),
        "persons": values(EventPerson.objects.filter(event__in=events)),
        "products": values(EventProduct.objects.filter(event__in=events)),
        "vehicles": values(EventVehicle.objects.filter(event__in=events)),
        "vehicle entities": values(Vehicle.objects.filter(organisation=events[0].organisation)),
        "blocking keys": values(BlockingKey.objects.filter(person_id__in=persons)),
        "match records": values(MatchRecord.objects.filter(person_id__in=persons)),
        "match states": values(MatchState.objects.filter(event__in=events)),
        "suggestions": values(Suggestion.objects.filter(person_id__in=persons)),
        "audit": [audited.get(n) for n in range(len(events))],
    }


class _Undo(Exception):
    pass


def left_behind(record) -> dict:
    """What `record()` leaves behind once the jobs it enqueued have run, then undone."""
    try:
        with transaction.atomic():
            events = record()
            rows = rows_left_by(events)
            raise _Undo
    except _Undo:
        return rows


@pytest.fixture
def catalogue(world):
    return Product.objects.create(organisation=world.acme, sku="9300601", description="Razor blades 8pk",
                                  unit_value="24.99")


def test_an_imported_event_leaves_the_same_rows_as_one_recorded_in_the_form(
        world, client, catalogue, eager, tmp_path, django_capture_on_commit_callbacks):
    investigator = sign_in(client, world.investigator)
    rows = content()

    def through_the_form() -> list[Event]:
        events = []
        for row in rows:
            with django_capture_on_commit_callbacks(execute=True):
                response = investigator.post("/events/new/", as_form(row))
            assert response.status_code == 302, response.content.decode()[:2000]
            events.append(Event.objects.get(pk=int(response["Location"].strip("/").split("/")[-1])))
        return events

    def through_an_import() -> list[Event]:
        with django_capture_on_commit_callbacks(execute=True):
            result = events_import(organisation=world.acme, actor=world.investigator,
                                   path=write_jsonl(tmp_path / "events.jsonl", rows))
        assert (result.created, result.refused) == (2, 0)
        return list(Event.objects.filter(pk__in=result.event_ids))

    form, imported = left_behind(through_the_form), left_behind(through_an_import)
    # What is compared is what the issue names: not empty, and the matcher has run.
    assert len(form["persons"]) == 3 and len(form["vehicles"]) == 2
    assert [(v["plate_normalised"], v["event_count"]) for v in form["vehicle entities"]] == [("RUX246", 2)]
    assert {s["status"] for s in form["match states"]} == {"done"}
    assert form["blocking keys"] and len(form["match records"]) == 3
    assert form["suggestions"], "the second event's offender should be suggested as the first one's"
    assert all(form["audit"])
    for name in form:
        assert imported[name] == form[name], name


def test_a_reimported_correction_leaves_the_same_rows_as_one_made_in_the_edit_form(
        world, client, catalogue, eager, tmp_path, django_capture_on_commit_callbacks):
    rows = [dict(row, external_id=f"ACME-LEGACY-{n}") for n, row in enumerate(content())]
    with django_capture_on_commit_callbacks(execute=True):
        first = events_import(organisation=world.acme, actor=world.investigator,
                              path=write_jsonl(tmp_path / "a.jsonl", rows))
    events = sorted(Event.objects.filter(pk__in=first.event_ids), key=lambda e: e.occurred_at)
    # The correction: the accomplice was someone else, the offender's mark is better described,
    # one product was not taken, and the car was a Honda.
    corrected = dict(rows[1], type="robbery", used_violence=True,
                     persons=[{**rows[1]["persons"][0], "marks": "star tattoo on left hand, scar on chin"},
                              {"ref": "p3", "role": "accomplice", "name": "Kim Ng", "gender": "male"}],
                     products=rows[1]["products"][:1],
                     vehicles=[{"plate": "RUX 246", "make": "Honda", "colour": "silver", "person_ref": "p1"}])
    investigator = sign_in(client, world.investigator)

    def through_the_form() -> list[Event]:
        for event, row in zip(events, [rows[0], corrected], strict=True):  # the first one saved unchanged
            with django_capture_on_commit_callbacks(execute=True):
                response = investigator.post(f"/events/{event.pk}/edit/", _without(as_form(row), "external_id"))
            assert response.status_code == 302, response.content.decode()[:2000]
        return events

    def through_an_import() -> list[Event]:
        with django_capture_on_commit_callbacks(execute=True):
            result = events_import(organisation=world.acme, actor=world.investigator,
                                   path=write_jsonl(tmp_path / "b.jsonl", [rows[0], corrected]))
        assert (result.created, result.updated, result.refused) == (0, 2, 0)
        return events

    def changes_audited(events: list[Event]) -> dict:
        entries = AuditEntry.objects.filter(action__in=("event.update", "event.import"))
        out = {}
        for entry in entries:
            if entry.action == "event.update" and entry.detail["changes"]:
                out[int(entry.object_id)] = entry.detail["changes"]
            for u in entry.detail.get("updated", []):
                if u["changes"]:
                    out[u["id"]] = u["changes"]
        return out

    def left_with_changes(record) -> dict:
        try:
            with transaction.atomic():
                rows = rows_left_by(record())
                rows["changes audited"] = changes_audited(events)
                raise _Undo
        except _Undo:
            return rows

    form, imported = left_with_changes(through_the_form), left_with_changes(through_an_import)
    assert sorted(p["ref"] for p in form["persons"] if p["event_id"] == 1) == ["p1", "p3"]
    assert set(form["changes audited"]) == {events[1].pk}  # the first one saved unchanged: nothing changed
    assert {"type", "used_violence", "persons", "products", "vehicles"} <= set(form["changes audited"][events[1].pk])
    assert [(v["make"], v["event_count"]) for v in form["vehicle entities"]] == [("Honda", 2)]
    assert {s["status"] for s in form["match states"]} == {"done"}
    for name in form:
        assert imported[name] == form[name], name


def test_an_imported_plate_becomes_a_vehicle_of_the_retailer(world, tmp_path):
    rows = [dict(row, external_id=f"ACME-{n}") for n, row in enumerate(content())]
    result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows))
    assert result.created == 2
    vehicle = Vehicle.objects.get(organisation=world.acme, plate_normalised="RUX246")
    assert (vehicle.event_count, vehicle.make, vehicle.model, vehicle.colour) == (2, "Toyota", "Corolla", "silver")
    assert vehicle.last_seen == dt.datetime.fromisoformat(rows[1]["occurred_at"])
    # Correcting the later event by re-import keeps the vehicle in step: the plate now names a Honda.
    rows[1]["vehicles"][0].update(make="Honda", model="Jazz")
    again = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "b.jsonl", rows[1:]))
    assert (again.created, again.updated) == (0, 1)
    vehicle.refresh_from_db()
    assert (vehicle.event_count, vehicle.make, vehicle.model) == (2, "Honda", "Jazz")


def test_one_audit_row_and_one_matching_job_per_imported_batch(world, tmp_path, django_capture_on_commit_callbacks):
    rows = [dict(content()[0], narrative=f"Event {n}: razor blades taken.") for n in range(5)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = events_import(organisation=world.acme, path=write_jsonl(tmp_path / "a.jsonl", rows), batch_size=5)
    assert result.created == 5
    entry = AuditEntry.objects.get(action="event.import")
    assert sorted(c["id"] for c in entry.detail["created"]) == sorted(result.event_ids)
    assert {c["after"]["narrative"] for c in entry.detail["created"]} == {r["narrative"] for r in rows}
    assert len(callbacks) == 1  # one job hands the batch to Connect the Dots
    assert Vehicle.objects.get(organisation=world.acme, plate_normalised="RUX246").event_count == 5


def _validated(world, row: dict) -> dict:
    from events.interchange import EventInput

    serializer = EventInput(data=row, context={"organisation": world.acme})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def test_a_batch_with_a_repeated_client_key_records_only_the_new_events(world, catalogue):
    from events.services import CREATED, REPEATED, EventWrite, event_submit, events_write

    rows = content()
    key = uuid.uuid4()
    first, _ = event_submit(actor=world.investigator, data=_validated(world, rows[0]), client_key=key)
    writes = [EventWrite(data=_validated(world, rows[0]), client_key=key),
              EventWrite(data=_validated(world, rows[1]), client_key=uuid.uuid4())]
    events_write(actor=world.investigator, organisation=world.acme, writes=writes, via="api")
    assert [w.outcome for w in writes] == [REPEATED, CREATED]
    assert writes[0].event.pk == first.pk
    assert Event.objects.filter(organisation=world.acme).count() == 2
    assert EventPerson.objects.filter(event=first).count() == 1  # nothing added to the first event


def test_the_written_event_reads_its_parts_without_a_query(world, catalogue, django_assert_num_queries):
    from events.services import event_submit

    event, _ = event_submit(actor=world.investigator, data=_validated(world, content()[1]))
    with django_assert_num_queries(0):
        assert sorted(p.ref for p in event.persons.all()) == ["p1", "p2"]
        assert event.products.count() == 2 and len(event.vehicles.all()) == 1
    other, _ = event_submit(actor=world.investigator, data=_validated(world, content()[1]))
    # Anything else than reading them is a query of this event's own rows.
    with django_assert_num_queries(1):
        assert [p.ref for p in event.persons.filter(role="accomplice")] == ["p2"]
    assert event.persons.filter(ref="p1").get().pk != other.persons.filter(ref="p1").get().pk
