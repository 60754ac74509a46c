"""Connect the Dots across retailers: what each side of a cross-retailer suggestion may see.

A cross-retailer suggestion (Suggestion.other_organisation set) pairs a person in one of the viewer's
own events with a person recorded by another retailer. Only retailers that both opted in are ever
compared (matching.engine.partner_organisations), and an undecided one is hidden as soon as either
opts out (the suggestion rule in auror.access).

Both sides see the match, or neither does. When one retailer's run ranks a person of another
retailer among its best, the other retailer's engine scores the same pair from its own side, with
its own weights (`counterparts_scored`); the pair is suggested only when that score also reaches
the other side's own review threshold, and then both rows are written in the same transaction
(`counterparts_save`): each side's suggestion about the pair, with its own score. A cross-retailer
row is always about one person of each side (never the other retailer's profile), so the pair of
a row never changes. From then on each side's own runs keep, supersede or revive its row like any
other; each side judges for its own profiles. Rows are never deleted but with their people, so
every cross-retailer row has exactly one row of the other side about the same pair, whatever its
status; `cross_match_id` is the opaque id both rows carry in the export.

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
from dataclasses import dataclass, replace

from django.urls import reverse
from django.utils.crypto import salted_hmac
from rest_framework import serializers

from accounts.models import Role
from auror import access, rls
from events.models import Event, EventPerson
from matching.models import Suggestion
from matching.scoring import Scored, compare, score

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


def _latest_requests(user, event_ids: set[int]) -> dict[int, object]:
    """The viewer's organisation's latest disclosure request for each of these (other) events."""
    from sharing.models import DisclosureRequest

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
                .select_related("person__event__store", "other_organisation", "organisation"))
    rows.sort(key=lambda s: wanted.index(s.pk))
    if not rows:
        return []
    # Which event of the other retailer each card is about: its id only, read across tenants on
    # purpose (auror.rls); whether the viewer may see that event is the access policy's to say.
    with rls.system():
        other_event = dict(Suggestion.objects.unscoped().filter(pk__in=[s.pk for s in rows])
                           .values_list("pk", "target_person__event_id"))
    event_ids = {s.person.event_id for s in rows} | set(other_event.values())
    visible = set(Event.objects.visible_to(user).filter(pk__in=event_ids).values_list("pk", flat=True))
    others = {p.pk: p for p in access.visible(EventPerson, user).select_related("event__store").filter(
        pk__in=[s.target_person_id for s in rows if other_event.get(s.pk) in visible])}
    disclosures = _latest_requests(user, set(other_event.values()))
    cards = []
    for s in rows:
        other_event_id = other_event.get(s.pk)
        other = others.get(s.target_person_id)
        shown = other_event_id in visible and other is not None
        dr = disclosures.get(other_event_id)
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
            "other": side_of(other, organisation=s.other_organisation.name) if shown else None,
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


# --- Both sides see the match, or neither ---------------------------------------------------------

CROSS_MATCH_PURPOSE = "auror.matching.cross_match.v1"
JUDGED = (Suggestion.Status.ACCEPTED, Suggestion.Status.REJECTED, Suggestion.Status.UNSURE)


def cross_match_id(person_id: int, other_person_id: int) -> str:
    """The opaque id of a cross-retailer pair, the same on both retailers' rows: a keyed HMAC-SHA256
    (key derived from SECRET_KEY with this purpose label alone) of the unordered pair of event
    person ids. Without the key it says nothing of either side; it changes when SECRET_KEY does."""
    low, high = sorted((int(person_id), int(other_person_id)))
    return salted_hmac(CROSS_MATCH_PURPOSE, f"{low}:{high}", algorithm="sha256").hexdigest()[:32]


@dataclass
class Counterpart:
    """The other retailer's suggestion about a pair a run keeps: its person, the run's person, and
    the pair scored by the other retailer's own weights."""

    organisation_id: int
    person_id: int
    target_person_id: int
    other_organisation_id: int
    scored: Scored


def counterparts_scored(*, records: list, ranked: dict[int, list], tf: dict[int, dict]) -> tuple[dict[int, list], list[Counterpart]]:
    """Score every cross-retailer candidate of a run from the other side: the other retailer's
    comparison of its person with the run's, with its own weights, prior and SKU window (and the term
    frequencies this search counted, over the same opted-in retailers). A candidate the other side
    scores below its own review threshold is dropped: the pair reaches both queues or neither. The
    ones kept are pairs of people (`profile_id` None): another retailer's profiles are its own, and a
    row's pair must never change. Returns the ranked candidates left and the counterparts to write."""
    from matching.engine import entity_count, settings_for
    from matching.weights import params_for

    sides: dict[tuple[int, int], tuple] = {}
    kept: dict[int, list] = {}
    counterparts: list[Counterpart] = []
    for rec in records:
        out = []
        for c in ranked.get(rec.id, []):
            other = c.record.organisation_id
            if other == rec.organisation_id:
                out.append(c)
                continue
            side = (other, rec.organisation_id)
            if side not in sides:
                conf = settings_for(other)
                # Their weights, with their prior for pairs with this retailer's records.
                sides[side] = (conf, params_for(other).for_partner(rec.organisation_id, entity_count([rec.organisation_id])))
            conf, params = sides[side]
            theirs = score(compare(c.record, rec, sku_window_days=conf.sku_window_days), params, tf.get(rec.id))
            if theirs.probability < conf.review_threshold:
                continue
            out.append(replace(c, profile_id=None))
            counterparts.append(Counterpart(other, c.person_id, rec.id, rec.organisation_id, theirs))
        kept[rec.id] = out
    return kept, counterparts


LOCK_PAIRS_SQL = """SELECT COUNT(pg_advisory_xact_lock(hashtextextended(k, 9)))
                    FROM (SELECT unnest(%s::text[]) AS k ORDER BY 1) pairs"""


def counterparts_save(counterparts: list[Counterpart]) -> int:
    """Write the other side's row of each pair that has none yet, in the run's transaction, so that
    every cross-retailer row has exactly one row of the other side about the same pair. A row the
    other side already has (any status) is its own: its runs keep, supersede or revive it. Two runs
    of the two sides finding each other at once are serialised by a lock per pair, and the second
    removes an undecided duplicate the first could not see. Returns the rows written."""
    if not counterparts:
        return 0
    pairs = {(min(c.person_id, c.target_person_id), max(c.person_id, c.target_person_id)) for c in counterparts}
    from matching.engine import raw_cursor

    with raw_cursor() as cur:
        cur.execute(LOCK_PAIRS_SQL, [sorted(f"{a}:{b}" for a, b in pairs)])
    people = {x for pair in pairs for x in pair}
    rows: dict[tuple[int, int, int], list[Suggestion]] = {}
    for s in (Suggestion.objects.unscoped().filter(other_organisation__isnull=False, person_id__in=people,
                                                   target_person_id__in=people).order_by("id")):
        if (min(s.person_id, s.target_person_id), max(s.person_id, s.target_person_id)) in pairs:
            rows.setdefault((s.organisation_id, s.person_id, s.target_person_id), []).append(s)
    create, seen = [], set()
    for c in counterparts:
        key = (c.organisation_id, c.person_id, c.target_person_id)
        if key in rows or key in seen:
            continue
        seen.add(key)
        create.append(Suggestion(
            organisation_id=c.organisation_id, person_id=c.person_id, target_person_id=c.target_person_id,
            target_profile=None, other_organisation_id=c.other_organisation_id, score=c.scored.probability,
            weight=c.scored.weight, reasons=c.scored.reasons))
    Suggestion.objects.unscoped().bulk_create(create)
    _drop_duplicates([group for group in rows.values() if len(group) > 1])
    return len(create)


def _drop_duplicates(groups: list[list[Suggestion]]) -> None:
    """One row per side and pair: a decided row first, then an open one, then the oldest; the others
    go when nobody decided them (a decided duplicate is history, and stays)."""
    from matching.models import Judgement

    drop = []
    for group in groups:
        keep = min(group, key=lambda s: (s.status not in JUDGED, s.status != Suggestion.Status.PENDING, s.pk))
        drop += [s.pk for s in group if s is not keep and s.status not in JUDGED]
    if drop:
        judged = set(Judgement.objects.unscoped().filter(suggestion_id__in=drop).values_list("suggestion_id", flat=True))
        Suggestion.objects.unscoped().filter(pk__in=set(drop) - judged).delete()


def attach_cross_cards(*, user, suggestions: list[Suggestion]) -> list[Suggestion]:
    """Compute the cards of a page of suggestions at once and hang each on its suggestion as `xcard`
    (what templates/matching/_cross_retailer_card.html uses when present)."""
    by_id = {c["id"]: c for c in cross_cards(user=user, suggestions=suggestions)}
    for s in suggestions:
        if s.other_organisation_id:
            s.xcard = by_id.get(s.pk)
    return suggestions
