"""Writes to events. Every effect of "record an event" is in `event_submit`: validation of the
reference data against the caller's tenant, the rows, the audit row (same transaction), and the
background work enqueued on commit."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from audit.services import audit_record
from auror import access
from events.models import Event, EventPerson, EventProduct, EventVehicle, Product, normalise_plate
from evidence.services import evidence_purge_for_event
from matching import services as matching_services
from profiles.models import ProfileMember
from profiles.services import profiles_after_event_delete, vehicles_upsert_for_event


def _snapshot(event: Event) -> dict[str, Any]:
    from events.interchange import event_to_interchange

    return event_to_interchange(event)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: {"before": before.get(k), "after": after.get(k)} for k in after if before.get(k) != after.get(k)}


def _catalogue(organisation, skus: list[str]) -> dict[str, Product]:
    skus = [s for s in skus if s]
    if not skus:
        return {}
    return {p.sku: p for p in Product.objects.unscoped().filter(organisation=organisation, sku__in=skus)}


def _products(event: Event, data: dict[str, Any]) -> list[EventProduct]:
    """Product rows with values filled from the catalogue where the input left them out."""
    catalogue = _catalogue(event.organisation, [p.get("sku", "") for p in data.get("products", [])])
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


def _vehicles(event: Event, data: dict[str, Any], by_ref: dict[str, EventPerson]) -> list[EventVehicle]:
    return [
        EventVehicle(event=event, plate=v.get("plate", ""), plate_normalised=normalise_plate(v.get("plate", "")),
                     make=v.get("make", ""), model=v.get("model", ""), colour=v.get("colour", ""),
                     person=by_ref.get(v.get("person_ref") or ""))
        for v in data.get("vehicles", [])
    ]


def _remember_parts(event: Event, **parts: list) -> None:
    """The rows just written are the event's parts: cache them as Django's prefetch would, so the
    snapshot and the caller need no re-read (and .all()/.filter() still behave as querysets)."""
    cache = {}
    for name, rows in parts.items():
        qs = getattr(event, name).get_queryset()
        qs._result_cache = list(rows)
        qs._prefetch_done = True
        cache[name] = qs
    event._prefetched_objects_cache = cache


SCALAR_FIELDS = (
    "external_id", "occurred_at", "type", "prevented", "threatened_violence", "used_violence", "weapon", "injury",
    "injury_detail", "sensitive", "sensitive_reason", "police_sharing", "police_reference", "narrative",
)


@transaction.atomic
def event_submit(*, actor, data: dict[str, Any], client_key: uuid.UUID | None = None, via: str = "form",
                 token_id: int | None = None) -> tuple[Event, bool]:
    """Create an event from validated interchange data (events.interchange.EventInput).

    Returns (event, created). With a client_key (a draft's key, an API idempotency key), submitting
    twice returns the first event instead of creating another."""
    store = data["store"]
    if not access.can_record_event_at(actor, store):
        raise PermissionDenied("You may not record events at that store.")
    org = store.organisation
    event = Event(organisation=org, store=store, created_by=actor if getattr(actor, "pk", None) else None,
                  client_key=client_key, **{k: data.get(k, Event._meta.get_field(k).get_default()) for k in SCALAR_FIELDS})
    products = _products(event, data)
    event.total_value = sum((p.line_value for p in products), Decimal("0"))
    if client_key is None:
        event.save(force_insert=True)
    else:
        # Submitting twice returns the first event: the unique (organisation, client_key) refuses the
        # second insert (no read before every insert for the rare repeat).
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            existing = Event.objects.unscoped().filter(organisation=org, client_key=client_key).first()
            if existing is None:
                raise
            return existing, False
    EventProduct.objects.bulk_create(products)
    persons = EventPerson.objects.bulk_create([_new_person(event, p) for p in data.get("persons", [])])
    vehicles = EventVehicle.objects.bulk_create(_vehicles(event, data, {p.ref: p for p in persons}))
    _remember_parts(event, products=products, persons=persons, vehicles=vehicles)
    matching_services.event_changed(event=event, created=True)
    vehicles_upsert_for_event(event=event)
    # Last before the commit: the audit row locks the organisation's hash-chain head until then, so
    # concurrent creates of one retailer wait on each other only for this insert and the commit.
    audit_record(action="event.create", actor=actor, organisation_id=org.pk, obj=event, token_id=token_id,
                 detail={"via": via, "after": _snapshot(event)})
    return event, True


@transaction.atomic
def event_update(*, actor, event: Event, data: dict[str, Any], via: str = "form", token_id: int | None = None) -> Event:
    """Correct an event (its author, investigators, admins): every change audited with before and after."""
    event = Event.objects.visible_to(actor, access.CHANGE).select_for_update(of=("self",)).filter(pk=event.pk).first()
    if event is None:
        raise PermissionDenied("You may not change this event.")
    store = data["store"]
    if store.pk != event.store_id and not access.can_record_event_at(actor, store):
        raise PermissionDenied("You may not move the event to that store.")
    before = _snapshot(event)
    event.store = store
    for k in SCALAR_FIELDS:
        if k in data:
            setattr(event, k, data[k])
    event.save()
    event.products.all().delete()
    event.vehicles.all().delete()
    _replace_persons(event, data)
    products = EventProduct.objects.bulk_create(_products(event, data))
    event.total_value = sum((p.line_value for p in products), Decimal("0"))
    event.save(update_fields=["total_value"])
    EventVehicle.objects.bulk_create(_vehicles(event, data, {p.ref: p for p in event.persons.all()}))
    after = _snapshot(event)
    audit_record(action="event.update", actor=actor, organisation_id=event.organisation_id, obj=event,
                 token_id=token_id, detail={"via": via, "changes": _diff(before, after)})
    matching_services.event_changed(event=event)
    vehicles_upsert_for_event(event=event)
    return event


def _replace_persons(event: Event, data: dict[str, Any]) -> None:
    """Keep person rows whose ref stays (evidence and links hang off them), update them in place,
    delete the ones removed, add the new ones."""
    wanted = {p["ref"]: p for p in data.get("persons", [])}
    for person in list(event.persons.all()):
        if person.ref not in wanted:
            person.delete()
            continue
        for k, v in wanted.pop(person.ref).items():
            if k != "images":
                setattr(person, k, v)
        person.save()
    EventPerson.objects.bulk_create([_new_person(event, p) for p in wanted.values()])


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
