"""Connect the Dots across retailers: what each side of a cross-retailer suggestion may see.

A cross-retailer suggestion (Suggestion.other_organisation set) pairs a person in one of the viewer's
own events with a person recorded by another retailer. Only retailers that both opted in are ever
compared (matching.engine.partner_organisations), and an undecided one is hidden as soon as either
opts out (the suggestion rule in auror.access).

Both sides see the match. The side whose run found it gets the suggestion; `counterparts_enqueue`
then asks the other retailer's own engine to look again at its event, so that its investigators get
their own suggestion about the pair, scored with their own weights and kept only above their own
review threshold. Each side judges for its own profiles.

How much of the other side a card shows is decided by the one access policy and nothing else:
`Event.objects.visible_to(user)` on the other side's event (a sharing agreement covering it, or an
approved disclosure request). When it is not visible the card says a possible match is held by
another participant, and shows only which features agreed and how much (feature names, comparison
levels and weights). The reasons' `detail` strings quote the other side's values (names, plates,
marks), so they are dropped here, on the server, and never reach a template or a response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from rest_framework import serializers

from accounts.models import Role
from events.models import Event
from matching.models import Suggestion

HELD_MESSAGE = "A possible match is held by another participant."
REQUESTERS = frozenset({Role.INVESTIGATOR, Role.RETAILER_ADMIN})
OPEN = (Suggestion.Status.PENDING, Suggestion.Status.UNSURE)

# Readable comparison levels ("name: sounds alike"). Levels are codes of matching.scoring, never values.
LEVEL_LABELS: dict[tuple[str, str], str] = {
    ("name", "exact"): "same name",
    ("name", "phonetic"): "sounds alike",
    ("name", "fuzzy"): "spelled alike",
    ("name", "family"): "same family name",
    ("name", "single"): "same first name or alias",
    ("plate", "exact"): "exact",
    ("plate", "ocr"): "same but for characters cameras confuse",
    ("mark", "strong"): "same distinctive mark",
    ("mark", "some"): "similar mark",
    ("age", "same"): "same age band",
    ("age", "adjacent"): "neighbouring age band",
    ("gender", "same"): "same",
    ("height", "close"): "within 5 cm",
    ("height", "near"): "within 12 cm",
    ("build", "same"): "same",
    ("hair", "similar"): "similar",
    ("clothing", "similar"): "similar",
    ("clothing", "some"): "partly similar",
    ("sku", "same_store"): "same product",
    ("place", "same_store"): "same store",
    ("place", "same_region"): "same region",
    ("time", "week"): "within a week",
    ("time", "quarter"): "within three months",
}
FEATURE_NAMES = {"sku": "product", "mark": "mark", "place": "place", "time": "time"}
NOT_FEATURES = {"prior", "hub"}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def agreed_features(reasons: Iterable[dict], *, with_detail: bool) -> list[dict]:
    """The features that agreed (positive weight), strongest first. `detail` only when the viewer may
    see the other side's event: it quotes that side's values."""
    out = []
    for r in reasons or []:
        feature, level = str(r.get("feature", "")), str(r.get("level", ""))
        weight = float(r.get("weight") or 0)
        if feature in NOT_FEATURES or weight <= 0 or not _CODE.match(feature):
            continue
        level = level if _CODE.match(level) else ""
        name = FEATURE_NAMES.get(feature, feature)
        label = LEVEL_LABELS.get((feature, level)) or (level.replace("_", " ") if level else "agreed")
        row = {"feature": name, "level": level, "label": f"{name}: {label}", "weight": round(weight, 2)}
        if with_detail and r.get("detail"):
            row["detail"] = str(r["detail"])
        out.append(row)
    return sorted(out, key=lambda f: -f["weight"])


def redacted_reasons(reasons: Iterable[dict]) -> list[dict]:
    """Reasons without their `detail` strings: for any output about a cross-retailer suggestion whose
    other side the reader may not see (an export, an API)."""
    return [{k: v for k, v in r.items() if k != "detail"} for r in reasons or []]


@dataclass
class _Side:
    organisation: str | None
    event_id: int
    external_id: str
    url: str
    store: str
    region: str
    occurred_at: object
    type: str
    person: str
    timezone: str


def side_of(person, *, organisation: str | None) -> dict:
    """One side of a match for display: call it only for an event the viewer may see."""
    event = person.event
    return _Side(
        organisation=organisation, event_id=event.pk, external_id=str(event), url=reverse("events:detail", args=[event.pk]),
        store=f"{event.store.code} {event.store.name}", region=event.store.region, occurred_at=event.occurred_at,
        type=event.get_type_display(), person=str(person), timezone=event.store.timezone,
    ).__dict__


def _latest_requests(user, suggestions: list[Suggestion]) -> dict[int, object]:
    """The viewer's organisation's latest disclosure request for each suggestion's other event."""
    from sharing.models import DisclosureRequest

    event_ids = {s.target_person.event_id for s in suggestions}
    latest: dict[int, object] = {}
    for dr in (DisclosureRequest.objects.visible_to(user)
               .filter(requesting_organisation_id=user.organisation_id, event_id__in=event_ids)
               .order_by("created_at", "id")):
        latest[dr.event_id] = dr
    return latest


def cross_cards(*, user, suggestions: Iterable[Suggestion]) -> list[dict]:
    """The card of each cross-retailer suggestion, as this user may see it (a few queries in all).
    Suggestions the user may not see under the access policy are left out."""
    wanted = [s.pk for s in suggestions if s.other_organisation_id]
    rows = list(Suggestion.objects.visible_to(user).filter(pk__in=wanted, other_organisation__isnull=False)
                .select_related("person__event__store", "target_person__event__store", "other_organisation",
                                "organisation"))
    rows.sort(key=lambda s: wanted.index(s.pk))
    if not rows:
        return []
    event_ids = {s.person.event_id for s in rows} | {s.target_person.event_id for s in rows}
    visible = set(Event.objects.visible_to(user).filter(pk__in=event_ids).values_list("pk", flat=True))
    requests = _latest_requests(user, rows)
    cards = []
    for s in rows:
        other_event_id = s.target_person.event_id
        shown = other_event_id in visible
        dr = requests.get(other_event_id)
        disclosure = None
        if dr is not None:
            disclosure = {"id": dr.pk, "status": dr.status, "state": dr.state_label, "requested_at": dr.created_at,
                          "decided_at": dr.decided_at, "expires_at": dr.expires_at,
                          "decision_reason": dr.decision_reason if dr.status == dr.Status.DECLINED else "",
                          "url": reverse("sharing:disclosure", args=[dr.pk])}
        both_in = bool(s.organisation.ctd_opt_in and s.other_organisation.ctd_opt_in)
        cards.append({
            "id": s.pk,
            "score": round(s.score, 3),
            "percent": min(99, round(s.score * 100)) if s.score < 1 else 100,  # 0.9999 is not certainty
            "status": s.status,
            "held_by_other_participant": not shown,
            "message": "" if shown else HELD_MESSAGE,
            "own": side_of(s.person, organisation=s.organisation.name) if s.person.event_id in visible else None,
            "other": side_of(s.target_person, organisation=s.other_organisation.name) if shown else None,
            "features": agreed_features(s.reasons, with_detail=shown),
            "disclosure": disclosure,
            "can_request_disclosure": (not shown and both_in and user.role in REQUESTERS and s.status in OPEN
                                       and not (dr is not None and dr.status == dr.Status.PENDING)),
            "request_url": reverse("sharing:disclosure_request", args=[s.pk]),
            "url": reverse("sharing:cross_match", args=[s.pk]),
        })
    return cards


def cross_card(*, user, suggestion: Suggestion) -> dict | None:
    cards = cross_cards(user=user, suggestions=[suggestion])
    return cards[0] if cards else None


# --- API output ------------------------------------------------------------------------------------


class CrossSideSerializer(serializers.Serializer):
    organisation = serializers.CharField(allow_null=True)
    event_id = serializers.IntegerField()
    external_id = serializers.CharField()
    store = serializers.CharField()
    region = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    type = serializers.CharField()
    person = serializers.CharField()


class CrossFeatureSerializer(serializers.Serializer):
    feature = serializers.CharField()
    level = serializers.CharField()
    label = serializers.CharField()
    weight = serializers.FloatField()
    detail = serializers.CharField(required=False, help_text="Only when the other side's event is visible to you.")


class CrossDisclosureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    state = serializers.CharField()
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField(allow_blank=True)


class CrossMatchSerializer(serializers.Serializer):
    """A cross-retailer suggestion as the caller may see it: the other side only when the access
    policy lets the caller see that event."""

    id = serializers.IntegerField()
    score = serializers.FloatField()
    status = serializers.CharField()
    held_by_other_participant = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)
    own = CrossSideSerializer(allow_null=True)
    other = CrossSideSerializer(allow_null=True)
    features = CrossFeatureSerializer(many=True)
    disclosure = CrossDisclosureSerializer(allow_null=True)
    can_request_disclosure = serializers.BooleanField()


# --- Both sides see the match --------------------------------------------------------------------


# The other side's events to wake: open cross-retailer suggestions of these events' people whose
# other side has no suggestion about the pair (about the person, or the profile they are in) yet.
# Read through the people of the events (the unique (event, ref) index) and their suggestions.
COUNTERPARTS_SQL = """
SELECT DISTINCT tp.event_id
FROM events_eventperson p
JOIN matching_suggestion s ON s.person_id = p.id
JOIN events_eventperson tp ON tp.id = s.target_person_id
LEFT JOIN profiles_profilemember pm ON pm.person_id = p.id
WHERE p.event_id = ANY(%(events)s) AND s.other_organisation_id IS NOT NULL AND s.status = ANY(%(open)s)
  AND NOT EXISTS (
      SELECT 1 FROM matching_suggestion c
      WHERE c.person_id = s.target_person_id AND c.organisation_id = s.other_organisation_id
        AND (c.target_person_id = p.id OR (pm.profile_id IS NOT NULL AND c.target_profile_id = pm.profile_id)))
ORDER BY 1
"""


def counterparts_enqueue(*, event_id: int | None = None, event_ids: list[int] | None = None) -> list[int]:
    """After a matching run: for each open cross-retailer suggestion of the people of these events
    whose other side has no suggestion about the pair yet, mark the other side's event stale and (once
    this commits) enqueue its run. One statement for any number of events. Returns those event ids.
    Ends: a run that makes the counterpart, or decides against it under its own threshold, has
    nothing to hand back."""
    events = sorted(set(event_ids or []) | ({event_id} if event_id is not None else set()))
    if not events:
        return []
    from matching.engine import raw_cursor

    with raw_cursor() as cur:
        cur.execute(COUNTERPARTS_SQL, {"events": events, "open": [str(s) for s in OPEN]})
        ids = tuple(row[0] for row in cur.fetchall())
    if ids:
        transaction.on_commit(lambda: _wake(ids))
    return list(ids)


def _wake(event_ids: tuple[int, ...]) -> None:
    """Mark these events stale (one statement) and enqueue their runs."""
    from matching.engine import raw_cursor
    from matching.tasks import match_event

    with transaction.atomic(), raw_cursor() as cur:
        cur.execute(
            """INSERT INTO matching_matchstate (event_id, organisation_id, status, version, done_version, updated_at)
               SELECT e.id, e.organisation_id, 'pending', 1, 0, now() FROM events_event e WHERE e.id = ANY(%s)
               ON CONFLICT (event_id) DO UPDATE SET version = matching_matchstate.version + 1, status = 'pending',
                                                    updated_at = now()
               RETURNING event_id""",
            [list(event_ids)])
        woken = sorted(row[0] for row in cur.fetchall())
    for pk in woken:
        match_event.delay(pk)


def attach_cross_cards(*, user, suggestions: list[Suggestion]) -> list[Suggestion]:
    """Compute the cards of a page of suggestions at once and hang each on its suggestion as `xcard`
    (what templates/matching/_cross_retailer_card.html uses when present)."""
    by_id = {c["id"]: c for c in cross_cards(user=user, suggestions=suggestions)}
    for s in suggestions:
        if s.other_organisation_id:
            s.xcard = by_id.get(s.pk)
    return suggestions
