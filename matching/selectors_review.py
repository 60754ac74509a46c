"""Reads for the review queue: which suggestions a reviewer may see, the two sides of each card, and
the explanation as a waterfall. Everything goes through the one access policy: a suggestion is shown
only when the reviewer may see its own event and (for a suggestion inside the retailer) the other
event too — a sensitive event needs the grant."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, RowNumber

from auror import access
from events.models import EventPerson, EventProduct, EventVehicle
from matching.models import Judgement, MatchSettings, Suggestion

OPEN = (Suggestion.Status.PENDING, Suggestion.Status.UNSURE)
STATUS_FILTERS = {
    "open": OPEN,
    "pending": (Suggestion.Status.PENDING,),
    "unsure": (Suggestion.Status.UNSURE,),
    "decided": (Suggestion.Status.ACCEPTED, Suggestion.Status.REJECTED),
}
# What a reviewer can act on first: their own retailer's cards (a cross-retailer card can only be
# followed up through a disclosure request), then by the chosen order.
SORTS = {
    "score": ("cross", "-score", "-harm", "-id"),
    "harm": ("cross", "-harm", "-score", "-id"),
}
RETAILER_FILTERS = {"own": Q(other_organisation__isnull=True), "cross": Q(other_organisation__isnull=False)}

FEATURE_LABELS = {
    "prior": "Starting odds", "name": "Name", "plate": "Plate", "mark": "Distinctive mark", "age": "Age band",
    "gender": "Gender", "height": "Height", "build": "Build", "hair": "Hair", "clothing": "Clothing",
    "sku": "Product", "place": "Place", "time": "Time apart", "face": "Face", "image": "Photo",
    "identity": "Nothing identifying", "contradiction": "A likelier match",
    "companion": "Co-offender",
}
# Comparison levels in words (the codes are matching.scoring's).
LEVEL_TEXT = {
    ("name", "exact"): "same name", ("name", "nickname"): "nickname", ("name", "phonetic"): "sounds alike",
    ("name", "fuzzy"): "spelled alike",
    ("name", "family"): "same family name", ("name", "single"): "same first name or alias",
    ("plate", "exact"): "same plate", ("plate", "ocr"): "OCR look-alike",
    ("mark", "strong"): "same mark, same place", ("mark", "some"): "same mark, elsewhere",
    ("mark", "place"): "same kind of mark, same place", ("identity", "none"): "at most a possible match",
    ("contradiction", "likelier"): "differs from a likelier match",
    ("companion", "same"): "seen with the same co-offender",
    ("age", "adjacent"): "next band", ("height", "close"): "within 5 cm", ("height", "near"): "within 12 cm",
    ("clothing", "some"): "partly similar", ("sku", "same_store"): "same product, same store",
    ("place", "same_store"): "same store", ("place", "same_region"): "same region", ("place", "else"): "other region",
    ("time", "week"): "within a week", ("time", "quarter"): "within three months", ("time", "else"): "months apart",
}


def level_text(feature: str, level: str) -> str:
    if not level or feature == "prior":
        return ""
    if (feature, level) in LEVEL_TEXT:
        return LEVEL_TEXT[(feature, level)]
    return "differs" if level == "else" else level.replace("_", " ")


def suggestions_visible(user, action: str = access.VIEW) -> QuerySet[Suggestion]:
    """Suggestions the user may see or judge, with both events visible to them (the other retailer's
    side of a cross-retailer suggestion is shown only as far as the policy allows, on its card)."""
    return Suggestion.objects.visible_to(user, action).filter(both_sides_visible(user))


def both_sides_visible(user) -> Q:
    """The suggestion's own event is visible to the user, and (inside the retailer) the other too."""
    own_side = access.event_q(user, access.VIEW, prefix="person__event__")
    other_side = Q(other_organisation__isnull=False) | access.event_q(user, access.VIEW, prefix="target_person__event__")
    return own_side & other_side


class PairKey(Func):
    """matching_pair_key(person) (migration matching 0012): the person's profile, else minus the
    person; readable for the other side of the organisation's own cards under row-level security."""

    function = "matching_pair_key"
    output_field = IntegerField()


def _pair_keys(qs: QuerySet) -> QuerySet:
    """Who a card is about on each side: the person's profile when they have one, else the person
    (negative ids, so the two never collide)."""
    return qs.annotate(
        own_key=Coalesce(F("person__profile_member__profile_id"), -F("person_id"), output_field=IntegerField()),
        other_key=PairKey(F("target_person_id")))


def _cross_ranked(user, statuses) -> QuerySet:
    """Open cross-retailer rows the user may see, each ranked within its pair of people."""
    pair = [F("own_key"), F("other_key"), F("other_organisation_id")]
    return _pair_keys(suggestions_visible(user).filter(status__in=statuses, other_organisation__isnull=False)).annotate(
        rank=Window(RowNumber(), partition_by=pair, order_by=[F("score").desc(), F("pk").asc()]),
        pair_rows=Window(Count("pk"), partition_by=pair))


def cross_collapsed(qs: QuerySet, *, user, statuses) -> QuerySet:
    """One card per pair of people across retailers. A cross-retailer row is about one record of
    each side (matching.cross), so a profile of 20 events here and a person seen 10 times there
    make up to 200 rows about the same two people. Shown is the likeliest open row of each pair (the
    profile here, the person or profile there); `pair_counts` says how many rows each stands for,
    and "not the same person" on it rejects the whole pair (services_review._reject). Own-retailer
    cards are collapsed by the engine already (a linked person is suggested as their profile)."""
    best = _cross_ranked(user, statuses).filter(rank=1).values("pk")
    return _pair_keys(qs.filter(Q(other_organisation__isnull=True) | Q(pk__in=best)))


def pair_counts(user, suggestions: list[Suggestion], statuses=OPEN) -> dict[int, int]:
    """How many open rows each of these cross-retailer cards stands for."""
    ids = {s.pk for s in suggestions if s.other_organisation_id}
    if not ids:
        return {}
    return {pk: n for pk, n in _cross_ranked(user, statuses).filter(rank=1).values_list("pk", "pair_rows")
            if pk in ids}


def review_queue(*, user, status: str = "open", store=None, event_type: str = "", sort: str = "score",
                 retailer: str = "") -> QuerySet:
    statuses = STATUS_FILTERS.get(status, OPEN)
    qs = suggestions_visible(user).filter(status__in=statuses)
    if retailer in RETAILER_FILTERS:
        qs = qs.filter(RETAILER_FILTERS[retailer])
    if status != "decided":
        qs = cross_collapsed(qs, user=user, statuses=statuses)
        # Linked since it was suggested (its re-match not yet run): nothing left to decide. (Compared
        # by the pair keys, never NULL: comparing the two profile ids themselves is NULL, and so
        # hides the card, whenever one side has no profile.)
        qs = qs.exclude(own_key=F("other_key"))
    if store is not None:
        qs = qs.filter(person__event__store=store)
    if event_type:
        qs = qs.filter(person__event__type=event_type)
    qs = qs.annotate(cross=ExpressionWrapper(Q(other_organisation__isnull=False), output_field=BooleanField()),
                     harm=Greatest(
        Coalesce(F("target_profile__harm_score"), Value(0.0), output_field=FloatField()),
        Coalesce(F("person__profile_member__profile__harm_score"), Value(0.0), output_field=FloatField()),
    ))
    return qs.order_by(*SORTS.get(sort, SORTS["score"]))


# --- The explanation as a waterfall ---------------------------------------------------------------


def probability(log_odds: float) -> float:
    return 1 / (1 + 2 ** (-log_odds)) if log_odds > -60 else 0.0


def percent(p: float) -> str:
    if p >= 0.999:
        return "over 99.9%"
    if p < 0.001:
        return "under 0.1%"
    return f"{p * 100:.1f}%"


def log_odds(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log2(p / (1 - p))


@dataclass
class Waterfall:
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: float = 0.0
    probability: float = 0.0
    probability_text: str = ""
    zero: float = 0.0  # where log-odds 0 (even odds) sits, percent of the width
    threshold: float | None = None  # where the review threshold sits
    threshold_text: str = ""
    threshold_style: str = ""
    total_style: str = ""
    zero_style: str = ""


# How suggestions stored before hub notes were worded for reviewers said it (kept as written in the
# database until they are recomputed): "mark value 'scar@chin' is shared by too many people: …".
_OLD_HUB_NOTE = re.compile(r"^(\w+) value '(.+)' is shared by too many people(: only the (\d+) records)?")


def _note_words(r: dict) -> str:
    from matching.engine import hub_words

    if r.get("feature") == "hub":
        if r.get("kind"):
            return hub_words(str(r["kind"]), str(r.get("value", "")), near=int(r.get("near") or 0))
        old = _OLD_HUB_NOTE.match(str(r.get("detail", "")))
        if old:
            return hub_words(old.group(1), old.group(2), near=int(old.group(4) or 0))
    return str(r["detail"])


def waterfall(reasons: list[dict], *, threshold: float | None = None, with_detail: bool = True) -> Waterfall:
    """Bars that add up, feature by feature, from the starting odds to the final log-odds: each bar
    starts where the previous one ended, right (green) for evidence for, left (red) against."""
    steps, notes = [], []
    for r in reasons or []:
        w = float(r.get("weight") or 0)
        if r.get("feature") == "hub" or (w == 0 and r.get("feature") != "prior"):
            if r.get("detail") and with_detail:
                notes.append(_note_words(r))
            continue
        steps.append((r, w))
    running, edges = 0.0, [0.0]
    spans = []
    for r, w in steps:
        start, end = running, running + w
        spans.append((r, w, start, end))
        edges += [start, end]
        running = end
    t_odds = log_odds(threshold) if threshold is not None else None
    if t_odds is not None:
        edges.append(t_odds)
    lo, hi = min(edges), max(edges)
    pad = max(0.5, (hi - lo) * 0.04)
    lo, hi = lo - pad, hi + pad

    def pos(x: float) -> float:
        return round((x - lo) / (hi - lo) * 100, 2)

    out = Waterfall(notes=notes, total=running, probability=probability(running))
    out.probability_text = percent(out.probability)
    out.zero = pos(0.0)
    for r, w, start, end in spans:
        feature = str(r.get("feature", ""))
        left, right = sorted((start, end))
        out.rows.append({
            "feature": feature,
            "label": FEATURE_LABELS.get(feature, feature.replace("_", " ").capitalize()),
            "level": level_text(feature, str(r.get("level", ""))),
            "detail": str(r.get("detail", "")) if with_detail else "",
            "weight": w,
            "weight_text": f"{w:+.1f}",
            "direction": "for" if w > 0 else "against" if w < 0 else "none",
            "style": f"left:{pos(left):.2f}%;width:{max(0.6, pos(right) - pos(left)):.2f}%",
            "end": end,
            "end_text": percent(probability(end)),
        })
    out.total_style = f"left:{pos(min(0.0, running)):.2f}%;width:{max(0.6, abs(pos(running) - pos(0.0))):.2f}%"
    out.zero_style = f"left:{out.zero:.2f}%"
    if t_odds is not None:
        out.threshold = pos(t_odds)
        out.threshold_style = f"left:{out.threshold:.2f}%"
        out.threshold_text = percent(threshold)
    return out


# --- The two sides of a card ----------------------------------------------------------------------


def _people(user, person_ids: set[int]) -> dict[int, EventPerson]:
    """These people as the user may see them (their event's rule), each with their event's products
    and the vehicles that are theirs or nobody's."""
    people = {p.pk: p for p in access.visible(EventPerson, user).filter(pk__in=person_ids)
              .select_related("event__store")}
    event_ids = {p.event_id for p in people.values()}
    products, vehicles = defaultdict(list), defaultdict(list)
    for row in access.visible(EventProduct, user).filter(event_id__in=event_ids).order_by("event_id", "id"):
        products[row.event_id].append(row)
    for row in access.visible(EventVehicle, user).filter(event_id__in=event_ids).order_by("event_id", "id"):
        vehicles[row.event_id].append(row)
    for p in people.values():
        p.card_products = products[p.event_id]
        p.card_vehicles = [v for v in vehicles[p.event_id] if v.person_id in (None, p.pk)]
    return people


def review_cards(*, user, suggestions: list[Suggestion]) -> list[dict]:
    """Everything a card shows, for a page of suggestions, in a fixed number of queries."""
    if not suggestions:
        return []
    threshold = (MatchSettings.objects.visible_to(user).filter(organisation_id=user.organisation_id)
                 .values_list("review_threshold", flat=True).first())
    if threshold is None:
        threshold = MatchSettings._meta.get_field("review_threshold").default
    own = [s for s in suggestions if not s.other_organisation_id]
    people = _people(user, {s.person_id for s in suggestions} | {s.target_person_id for s in own})
    from profiles.models import Profile, ProfileMember

    memberships = dict(access.visible(ProfileMember, user).filter(person_id__in=list(people))
                       .values_list("person_id", "profile_id"))
    profiles = {p.pk: p for p in Profile.objects.visible_to(user).filter(
        pk__in={s.target_profile_id for s in own if s.target_profile_id} | set(memberships.values()))}
    last = {}
    for j in (Judgement.objects.visible_to(user).filter(suggestion_id__in=[s.pk for s in suggestions],
                                                        undone_at__isnull=True)
              .select_related("by").order_by("at", "id")):
        last[j.suggestion_id] = j
    cross = _cross_cards(user, [s for s in suggestions if s.other_organisation_id])
    pairs = pair_counts(user, suggestions)
    cards = []
    for s in suggestions:
        card = {"suggestion": s, "id": s.pk, "score_text": percent(s.score), "last_judgement": last.get(s.pk),
                "cross": None, "own": people.get(s.person_id),
                # Likely: at or above the review threshold; below it, a possible match (a near miss).
                "likely": s.score >= threshold, "threshold_text": percent(threshold)}
        if card["own"] is not None:
            card["own_profile"] = profiles.get(memberships.get(s.person_id))
        if s.other_organisation_id:
            card["cross"] = cross.get(s.pk) or _minimal_cross(s)
            card["pair_rows"] = pairs.get(s.pk, 1)
        else:
            card["other"] = people.get(s.target_person_id)
            if card["other"] is not None and card["own"] is not None:
                # The other side is named by when it happened: a card is made for the later record
                # as a rule, but a rematch or a correction can make it the earlier one.
                card["other_earlier"] = card["other"].event.occurred_at <= card["own"].event.occurred_at
            target_profile = profiles.get(s.target_profile_id) or profiles.get(memberships.get(s.target_person_id))
            card["target_profile"] = target_profile
            card["waterfall"] = waterfall(s.reasons, threshold=threshold)
        cards.append(card)
    return cards


def _cross_cards(user, suggestions: list[Suggestion]) -> dict[int, dict]:
    """Cross-retailer cards as matching.cross describes them (what the other side may show), when
    that module is there; else the minimal card below."""
    if not suggestions:
        return {}
    try:
        from matching.cross import cross_cards
    except ImportError:
        return {}
    return {c["id"]: c for c in cross_cards(user=user, suggestions=suggestions)}


def _minimal_cross(s: Suggestion) -> dict:
    """Held by another participant: which features agreed and how much, none of the other side's details."""
    features = [{"label": FEATURE_LABELS.get(r.get("feature"), str(r.get("feature"))), "weight": round(r["weight"], 2)}
                for r in s.reasons or [] if r.get("feature") not in ("prior", "hub") and (r.get("weight") or 0) > 0]
    return {"id": s.pk, "held_by_other_participant": True, "message": "A possible match is held by another participant.",
            "features": sorted(features, key=lambda f: -f["weight"]), "score": round(s.score, 3), "status": s.status}


def judgements_visible(user) -> QuerySet[Judgement]:
    """The retailer's judgements whose own event the user may see."""
    return (Judgement.objects.visible_to(user)
            .filter(access.event_q(user, access.VIEW, prefix="person__event__"))
            .select_related("by", "undone_by", "person__event__store", "target_person__event__store", "suggestion"))


def undoable(judgements: list[Judgement], *, user) -> set[int]:
    """Which of these judgements can be undone now: standing, and the latest on their suggestion (among
    the judgements the user may see, which are all of a suggestion's: its retailer's)."""
    ids = {j.suggestion_id for j in judgements if j.suggestion_id}
    latest = {}
    for sid, jid in (Judgement.objects.visible_to(user).filter(suggestion_id__in=ids, undone_at__isnull=True)
                     .order_by("suggestion_id", "-at", "-id").values_list("suggestion_id", "id")):
        latest.setdefault(sid, jid)
    return {j.pk for j in judgements if j.undone_at is None and (not j.suggestion_id or latest.get(j.suggestion_id) == j.pk)}
