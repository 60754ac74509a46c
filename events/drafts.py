"""Drafts of the event form: what a user has typed so far, saved as they type.

A draft's key is the client_key of the event it becomes (events.services.event_submit), so sending
the same draft twice — a double tap, a retry after a lost connection — records one event. Drafts
are the user's own scratch pad: only their author sees them (auror.access draft_rule), and saving
one is not audited (typing is not an access to anyone's data); the event it becomes is.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from events.models import Event, EventDraft

MAX_DRAFTS_PER_USER = 200


class DraftNotYours(Exception):
    """The key belongs to someone else's draft: answered like a draft that does not exist."""


class DraftSubmitted(Exception):
    def __init__(self, event: Event | None):
        super().__init__("This draft has already been recorded as an event.")
        self.event = event


def draft_get(*, user, key: uuid.UUID) -> EventDraft | None:
    return EventDraft.objects.visible_to(user).filter(key=key).select_related("event").first()


def draft_key_usable(*, user, key: uuid.UUID) -> bool:
    """Whether `key` may be this user's draft key: new, or already theirs. (Someone else's key
    must not become this user's idempotency key: it would find their event.)"""
    owner = EventDraft.objects.unscoped().filter(key=key).values_list("user_id", flat=True).first()
    return owner is None or owner == user.pk


@transaction.atomic
def draft_save(*, user, key: uuid.UUID, data: dict[str, str]) -> EventDraft:
    """Create or replace the user's draft `key` with `data` (the form's flat state)."""
    draft = EventDraft.objects.visible_to(user).select_for_update().filter(key=key).first()
    if draft is not None:
        if draft.event_id is not None:
            raise DraftSubmitted(draft.event)
        draft.data = data
        draft.save(update_fields=["data", "updated_at"])
        return draft
    if EventDraft.objects.visible_to(user).filter(event__isnull=True).count() >= MAX_DRAFTS_PER_USER:
        oldest = EventDraft.objects.visible_to(user).filter(event__isnull=True).order_by("updated_at").first()
        oldest.delete()
    try:
        with transaction.atomic():
            return EventDraft.objects.create(key=key, organisation_id=user.organisation_id, user=user, data=data)
    except IntegrityError as exc:  # the key is another user's draft
        raise DraftNotYours() from exc


@transaction.atomic
def draft_mark_submitted(*, user, key: uuid.UUID, event: Event, data: dict[str, str] | None = None) -> None:
    """The draft became `event`: it leaves "My drafts", and saving it again says so."""
    draft = EventDraft.objects.visible_to(user).select_for_update().filter(key=key).first()
    if draft is None:
        try:
            with transaction.atomic():
                EventDraft.objects.create(key=key, organisation_id=user.organisation_id, user=user,
                                          data=data or {}, event=event)
        except IntegrityError:
            pass
        return
    draft.event = event
    if data is not None:
        draft.data = data
    draft.save(update_fields=["event", "data", "updated_at"])


@transaction.atomic
def draft_discard(*, user, key: uuid.UUID) -> bool:
    deleted, _ = EventDraft.objects.visible_to(user).filter(key=key, event__isnull=True).delete()
    return bool(deleted)
