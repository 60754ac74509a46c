"""Writes to events: the one write path of the form, the API and the bulk import (DESIGN.md rule 10).

Every effect of recording or correcting an event is in `events_write`, for one event or a batch:

1. `events_write_check`: what the caller may do (record at that store, change that event), checked
   against the caller's tenant; a write it may not make is refused and skipped.
2. The rows, set-based whatever the batch size (events.bulk: COPY, one UPDATE per table): the
   event, its products priced from the retailer's catalogue, its people (kept by `ref` on a
   correction: evidence and links hang off them), its vehicles.
3. `_after_write`, in the same transaction: Connect the Dots is told (matching.services; its jobs
   run after commit), the plates become the retailer's vehicles (profiles.services), and the audit
   row, last.

`event_submit` and `event_update` are a batch of one. The bulk import (events.imports) hands over a
batch of rows at a time with a `BatchAudit`: one audit row and one matching job per batch instead
of one per event, the only difference, and decided here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from auror import access
from events.bulk import bulk_update_rows, copy_insert
from events.models import Event, EventPerson, EventProduct, EventVehicle, Product, normalise_plate
from events.references import take_references
from evidence.services import evidence_purge_for_event
from matching import services as matching_services
from profiles.models import ProfileMember
from profiles.services import profiles_after_event_delete, vehicles_upsert_for_events

if TYPE_CHECKING:
    from accounts.models import Organisation, User

SCALAR_FIELDS = (
    "external_id", "occurred_at", "type", "prevented", "threatened_violence", "used_violence", "weapon", "injury",
    "injury_detail", "sensitive", "sensitive_reason", "police_sharing", "police_reference", "narrative",
)
PERSON_FIELDS = ("role", "name", "aliases", "age_band", "gender", "height_cm", "build", "hair", "clothing", "marks")

CREATED, UPDATED, REPEATED, REFUSED = "created", "updated", "repeated", "refused"


@dataclass(eq=False)
class EventWrite:
    """One event to record or correct: validated interchange data (events.interchange.EventInput)
    and, for a correction, the id of the event it changes. `events_write` fills in the outcome."""

    data: dict[str, Any]
    event_id: int | None = None  # the event to correct; None records a new one
    client_key: uuid.UUID | None = None  # a draft's key or an API idempotency key: recorded once
    line: int | None = None  # where an import read it (kept in the batch's audit row)
    # The outcome: CREATED, UPDATED, REPEATED (the client_key's event already existed: nothing
    # written) or REFUSED (with `refused` = (field, reason)); `event` the event with its parts.
    outcome: str = ""
    refused: tuple[str, str] | None = None
    event: Event | None = None
    changes: dict[str, Any] = field(default_factory=dict)  # a correction's before/after, as audited


@dataclass(frozen=True)
class BatchAudit:
    """A bulk write, audited as ONE `event.import` row per batch (listing every event created, with
    its content, and every event corrected, with its changes) instead of a row per event: each row
    serialises on the retailer's hash-chain head (~3 ms), which alone would cap an import at ~330
    events/s. `actor_label` names the system actor when there is no user (`manage.py import_events`)."""

    source: str
    actor_label: str = ""
    job_id: int | None = None


# --- The one-event channels: form and API ----------------------------------------------------------


def event_submit(*, actor: User, data: dict[str, Any], client_key: uuid.UUID | None = None, via: str = "form",
                 token_id: int | None = None) -> tuple[Event, bool]:
    """Record an event from validated interchange data. Returns (event, created). With a client_key
    (a draft's key, an API idempotency key), submitting twice returns the first event."""
    write = EventWrite(data=data, client_key=client_key)
    events_write(actor=actor, organisation=data["store"].organisation, writes=[write], via=via, token_id=token_id)
    if write.outcome == REFUSED:
        raise PermissionDenied(write.refused[1])
    return write.event, write.outcome == CREATED


def event_update(*, actor: User, event: Event, data: dict[str, Any], via: str = "form",
                 token_id: int | None = None) -> Event:
    """Correct an event (its author, investigators, admins): every change audited with before and after."""
    write = EventWrite(data=data, event_id=event.pk)
    events_write(actor=actor, organisation=event.organisation, writes=[write], via=via, token_id=token_id)
    if write.outcome == REFUSED:
        raise PermissionDenied(write.refused[1])
    return write.event


# --- The write path ------------------------------------------------------------------------------


@transaction.atomic
def events_write(*, actor: User | None, organisation: Organisation, writes: list[EventWrite], via: str,
                 token_id: int | None = None, batch: BatchAudit | None = None) -> list[EventWrite]:
    """Record and correct events of `organisation`, in one transaction. `actor` is the user held to
    the access policy, or None for the system actor of a command acting for `organisation` (then
    give a `batch` naming it). Each write's outcome is set on it; refused writes change nothing."""
    locked = events_write_check(actor=actor, organisation=organisation, writes=writes, lock=True)
    todo = [w for w in writes if w.outcome != REFUSED]
    catalogue = _catalogue(organisation, [p.get("sku") for w in todo for p in w.data.get("products", [])])
    _create(actor, organisation, [w for w in todo if w.event_id is None], catalogue)
    _update([w for w in todo if w.event_id is not None], locked, catalogue)
    written = [w for w in todo if w.outcome in (CREATED, UPDATED)]
    if written:
        _after_write(actor=actor, organisation=organisation, written=written, via=via, token_id=token_id, batch=batch)
    return writes


def events_write_check(*, actor: User | None, organisation: Organisation, writes: list[EventWrite],
                       lock: bool = False) -> dict[int, Event]:
    """Refuse (outcome REFUSED, `refused` = (field, reason)) the writes the actor may not make:
    recording at a store they may not record at or of another retailer, correcting an event they
    may not change (or moving it to such a store). With `lock`, returns the events to correct,
    locked for the transaction, with their parts; the import's all-or-nothing mode calls it alone,
    to report every refused row once a row was refused and nothing more is written."""
    targets = {w.event_id for w in writes if w.event_id is not None}
    found: dict[int, Event] = {}
    store_of: dict[int, int] = {}  # event id → its store's id, for the events the actor may change
    if targets:
        qs = (Event.objects.unscoped().filter(organisation=organisation) if actor is None
              else Event.objects.visible_to(actor, access.CHANGE).filter(organisation=organisation))
        qs = qs.filter(pk__in=targets)
        if lock:
            found = {e.pk: e for e in qs.select_for_update(of=("self",)).select_related("store", "organisation")}
            _load_parts(list(found.values()))
            store_of = {pk: e.store_id for pk, e in found.items()}
        else:
            store_of = dict(qs.values_list("pk", "store_id"))
    may_record: dict[int, bool] = {}

    def allowed(store) -> bool:
        if store.pk not in may_record:
            may_record[store.pk] = store.organisation_id == organisation.pk and (
                actor is None or access.can_record_event_at(actor, store))
        return may_record[store.pk]

    for w in writes:
        w.outcome, w.refused, w.event, w.changes = "", None, None, {}
        store = w.data["store"]
        if w.event_id is None:
            if not allowed(store):
                w.refused = ("store", "You may not record events at that store.")
        elif w.event_id not in store_of:
            label = w.data.get("external_id") or f"{w.event_id}"
            w.refused = ("external_id", f"Event {label} exists and you may not change it.")
        elif store.pk != store_of[w.event_id] and not allowed(store):
            w.refused = ("store", "You may not move the event to that store.")
        if w.refused:
            w.outcome = REFUSED
    return found


def _create(actor, organisation, writes: list[EventWrite], catalogue: dict[str, Product]) -> None:
    if not writes:
        return
    creator = actor if getattr(actor, "pk", None) else None
    products: dict[int, list[EventProduct]] = {}
    defaults = {k: Event._meta.get_field(k).get_default() for k in SCALAR_FIELDS}  # once, not per row
    for w in writes:
        d = w.data
        w.event = Event(organisation=organisation, store=d["store"], created_by=creator, client_key=w.client_key,
                        **{k: d[k] if k in d else defaults[k] for k in SCALAR_FIELDS})
        # Foreign keys to the event are resolved when the rows are copied in, once it has its id.
        products[id(w)] = _products(w.event, d, catalogue)
        w.event.total_value = sum((p.line_value for p in products[id(w)]), Decimal("0"))
        w.outcome = CREATED
    _insert_events(organisation, writes)
    fresh = [w for w in writes if w.outcome == CREATED]
    persons = {id(w): [_new_person(w.event, p) for p in w.data.get("persons", [])] for w in fresh}
    copy_insert(EventProduct, [p for w in fresh for p in products[id(w)]])
    copy_insert(EventPerson, [p for w in fresh for p in persons[id(w)]])
    vehicles = {id(w): _vehicles(w.event, w.data, persons[id(w)]) for w in fresh}
    copy_insert(EventVehicle, [v for w in fresh for v in vehicles[id(w)]])
    for w in fresh:
        _remember_parts(w.event, products=products[id(w)], persons=persons[id(w)], vehicles=vehicles[id(w)])


def _insert_events(organisation, writes: list[EventWrite]) -> None:
    """The event rows. Submitting twice returns the first event: the unique (organisation,
    client_key) refuses the second insert (no read before every insert for the rare repeat); the
    repeats are then found, and the others inserted."""
    for w, reference in zip(writes, take_references(organisation, len(writes)), strict=True):
        w.event.reference = reference
    keyed = [w.client_key for w in writes if w.client_key is not None]
    if not keyed:
        copy_insert(Event, [w.event for w in writes])
        return
    try:
        with transaction.atomic():
            copy_insert(Event, [w.event for w in writes])
    except IntegrityError:
        first = {e.client_key: e
                 for e in Event.objects.unscoped().filter(organisation=organisation, client_key__in=keyed)}
        if not first:
            raise
        for w in writes:
            if w.client_key in first:
                w.event, w.outcome = first[w.client_key], REPEATED
        copy_insert(Event, [w.event for w in writes if w.outcome == CREATED])


def _update(writes: list[EventWrite], locked: dict[int, Event], catalogue: dict[str, Product]) -> None:
    """Scalars and store set, products and vehicles replaced, people kept by ref (evidence and links
    hang off them) and updated in place, the removed ones deleted, the new ones added; each write's
    before/after changes kept for the audit."""
    if not writes:
        return
    now = timezone.now()
    befores, products, persons, kept, fresh, gone = {}, {}, {}, [], [], []
    for w in writes:
        event, d = locked[w.event_id], w.data
        w.event, w.outcome = event, UPDATED
        befores[id(w)] = _snapshot(event)
        event.store = d["store"]
        for k in SCALAR_FIELDS:
            if k in d:
                setattr(event, k, d[k])
        event.updated_at = now
        products[id(w)] = _products(event, d, catalogue)
        event.total_value = sum((p.line_value for p in products[id(w)]), Decimal("0"))
        wanted = {p["ref"]: p for p in d.get("persons", [])}
        mine = []
        for person in event.persons.all():
            if person.ref not in wanted:
                gone.append(person.pk)
                continue
            for k, v in wanted.pop(person.ref).items():
                if k != "images":
                    setattr(person, k, v)
            kept.append(person)
            mine.append(person)
        new = [_new_person(event, p) for p in wanted.values()]
        fresh.extend(new)
        persons[id(w)] = mine + new
    ids = [w.event.pk for w in writes]
    EventProduct.objects.filter(event_id__in=ids).delete()
    EventVehicle.objects.filter(event_id__in=ids).delete()
    if gone:
        EventPerson.objects.filter(pk__in=gone).delete()
    bulk_update_rows(EventPerson, kept, list(PERSON_FIELDS))
    copy_insert(EventPerson, fresh)
    copy_insert(EventProduct, [p for w in writes for p in products[id(w)]])
    bulk_update_rows(Event, [w.event for w in writes], ["store", "total_value", "updated_at", *SCALAR_FIELDS])
    vehicles = {id(w): _vehicles(w.event, w.data, persons[id(w)]) for w in writes}
    copy_insert(EventVehicle, [v for w in writes for v in vehicles[id(w)]])
    for w in writes:
        _remember_parts(w.event, products=products[id(w)], persons=sorted(persons[id(w)], key=lambda p: p.pk),
                        vehicles=vehicles[id(w)])
        w.changes = _diff(befores[id(w)], _snapshot(w.event))


def _after_write(*, actor, organisation, written: list[EventWrite], via: str, token_id: int | None,
                 batch: BatchAudit | None) -> None:
    """What follows recording or correcting events, for every channel. Add an effect here and the
    form, the API and the import all have it."""
    ids = [w.event.pk for w in written]
    # Connect the Dots recomputes the events once this commits. One event: its own job, its MatchState
    # pending from now. A batch: ONE job hands all of them to matching.services.events_changed in a
    # worker (a message per event, ~1 ms each, would otherwise be most of an import's time).
    if len(written) == 1:
        matching_services.event_changed(event=written[0].event, created=written[0].outcome == CREATED)
    else:
        from events.tasks import match_imported_events

        transaction.on_commit(lambda org=organisation.pk, ids=tuple(ids): match_imported_events.delay(org, list(ids)))
    vehicles_upsert_for_events(organisation_id=organisation.pk, event_ids=ids)
    # Last before the commit: the audit row locks the organisation's hash-chain head until then, so
    # concurrent writes of one retailer wait on each other only for this insert and the commit.
    if batch is None:
        for w in written:
            if w.outcome == CREATED:
                audit_record(action="event.create", actor=actor, organisation_id=organisation.pk, obj=w.event,
                             token_id=token_id, detail={"via": via, "after": _snapshot(w.event)})
            else:
                audit_record(action="event.update", actor=actor, organisation_id=organisation.pk, obj=w.event,
                             token_id=token_id, detail={"via": via, "changes": w.changes})
        return
    lines = [w.line for w in written if w.line is not None]
    audit_record(
        action="event.import", actor=actor, actor_email="" if actor else batch.actor_label,
        organisation_id=organisation.pk, token_id=token_id,
        object_type="events.importjob" if batch.job_id else "", object_id=batch.job_id or "",
        object_repr=batch.source[:200],
        detail={
            "via": via, "source": batch.source, "job": batch.job_id,
            "lines": [min(lines), max(lines)] if lines else [],
            "created": [{"id": w.event.pk, "external_id": w.event.external_id, "line": w.line,
                         "after": _snapshot(w.event)} for w in written if w.outcome == CREATED],
            "updated": [{"id": w.event.pk, "external_id": w.event.external_id, "line": w.line,
                         "changes": w.changes} for w in written if w.outcome == UPDATED],
        },
    )


# --- Building the parts --------------------------------------------------------------------------


def _snapshot(event: Event) -> dict[str, Any]:
    from events.interchange import event_to_interchange

    return event_to_interchange(event)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: {"before": before.get(k), "after": after.get(k)} for k in after if before.get(k) != after.get(k)}


def _catalogue(organisation, skus: list[str | None]) -> dict[str, Product]:
    """The retailer's catalogue entries these SKUs name: one query for a whole batch."""
    skus = sorted({s for s in skus if s})
    if not skus:
        return {}
    return {p.sku: p for p in Product.objects.unscoped().filter(organisation=organisation, sku__in=skus)}


def _products(event: Event, data: dict[str, Any], catalogue: dict[str, Product]) -> list[EventProduct]:
    """Product rows with values filled from the catalogue where the input left them out."""
    rows = []
    for p in data.get("products", []):
        item = catalogue.get(p.get("sku") or "")
        unit_value = p.get("unit_value")
        if unit_value is None:
            unit_value = item.unit_value if item else Decimal("0")
        rows.append(EventProduct(
            event=event, product=item, sku=p.get("sku", ""),
            description=p.get("description") or (item.description if item else ""),
            quantity=p.get("quantity", 1), unit_value=unit_value,
        ))
    return rows


def _new_person(event: Event, p: dict[str, Any]) -> EventPerson:
    return EventPerson(event=event, **{k: v for k, v in p.items() if k != "images"})


def _vehicles(event: Event, data: dict[str, Any], persons: list[EventPerson]) -> list[EventVehicle]:
    by_ref = {p.ref: p for p in persons}
    return [
        EventVehicle(event=event, plate=v.get("plate", ""), plate_normalised=normalise_plate(v.get("plate", "")),
                     make=v.get("make", ""), model=v.get("model", ""), colour=v.get("colour", ""),
                     person=by_ref.get(v.get("person_ref") or ""))
        for v in data.get("vehicles", [])
    ]


class _KnownRows(list):
    """One relation's rows of an event, known without a query (just written, or read for a whole
    batch at once), standing in for Django's prefetched queryset: `event.persons.all()`, iteration
    and count() read them. A real queryset per relation and event costs more to build than writing
    the rows did at import sizes, so one is built only for anything else (filter, exists,
    order_by…), which then reads the database, as it would on a prefetched queryset."""

    def __init__(self, rows, *, event: Event, relation: str):
        super().__init__(rows)
        self._event, self._relation = event, relation

    def all(self) -> _KnownRows:
        return self

    def count(self) -> int:  # the queryset's count(), not list.count(value)
        return len(self)

    def reverse(self):  # the queryset's reverse(), not list.reverse()
        return self._queryset().reverse()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._queryset(), name)

    def _queryset(self):
        descriptor = getattr(Event, self._relation)
        return descriptor.rel.related_model.objects.filter(**{descriptor.field.name: self._event})


def _remember_parts(event: Event, **parts: list) -> None:
    """These rows are the event's parts (persons, products, vehicles): cached as Django's prefetch
    would, so the snapshot and the caller need no re-read."""
    event._prefetched_objects_cache = {
        name: _KnownRows(rows, event=event, relation=name) for name, rows in parts.items()}


def _load_parts(events: list[Event]) -> None:
    """The parts of many events in three queries, remembered on each event."""
    ids = [e.pk for e in events]
    found: dict[str, dict[int, list]] = {}
    for name, model in (("persons", EventPerson), ("products", EventProduct), ("vehicles", EventVehicle)):
        by_event = found[name] = {}
        for row in model.objects.filter(event_id__in=ids).order_by("event_id", "id"):
            by_event.setdefault(row.event_id, []).append(row)
    for e in events:
        _remember_parts(e, **{name: by_event.get(e.pk, []) for name, by_event in found.items()})


# --- Deleting ------------------------------------------------------------------------------------


@transaction.atomic
def event_delete(*, actor, event: Event) -> None:
    """Self-remediation by a retailer admin: the event and everything attached to it go."""
    event = Event.objects.visible_to(actor, access.DELETE).filter(pk=event.pk).first()
    if event is None:
        raise PermissionDenied("Only retailer admins may delete events.")
    before = _snapshot(event)
    audit_record(action="event.delete", actor=actor, organisation_id=event.organisation_id, obj=event,
                 detail={"before": before})
    evidence_purge_for_event(event=event)  # files and thumbnails leave storage once this commits
    profile_ids = list(ProfileMember.objects.filter(person__event=event).values_list("profile_id", flat=True))
    event.delete()
    profiles_after_event_delete(actor=actor, profile_ids=profile_ids)
