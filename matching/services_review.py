"""Human decisions on link suggestions (DESIGN.md rule 3: humans decide links).

`judgement_record` is the only way people get linked: accepting a suggestion creates or extends a
profile (or merges two, with history); rejecting records the pair — and, for a profile, the pairs
with its members — so the engine never suggests it again; unsure keeps it flagged in the queue.
`judgement_undo` reverses exactly what one judgement did, using the ProfileHistory entries it wrote.

`_members_create` is the one place in the code base that makes profiles.ProfileMember rows
(tests/profiles/test_no_link_without_human.py checks that), always from a human's judgement.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role
from audit.services import audit_record
from auror import access, rls
from events.models import Event, EventPerson
from matching.models import Judgement, MatchSettings, RejectedPair, Suggestion
from profiles.models import Profile, ProfileHistory, ProfileMember
from profiles.services import (
    after_change,
    current_profile,
    dissolve,
    history_add,
    locked_profiles,
    merge_into,
    rejections_inherit,
    require_investigator,
)

DECISIONS = (Judgement.Decision.ACCEPT, Judgement.Decision.REJECT, Judgement.Decision.UNSURE)
OPEN = (Suggestion.Status.PENDING, Suggestion.Status.UNSURE)
STATUS_AFTER = {
    Judgement.Decision.ACCEPT: Suggestion.Status.ACCEPTED,
    Judgement.Decision.REJECT: Suggestion.Status.REJECTED,
    Judgement.Decision.UNSURE: Suggestion.Status.UNSURE,
}
REASON_MAX = 500


def _members_create(*, profile: Profile, person_ids: list[int], judgement: Judgement) -> list[ProfileMember]:
    """Link people to a profile because of a human judgement: the only code that creates members."""
    if judgement.pk is None or judgement.by_id is None or judgement.undone_at is not None:
        raise ValueError("people are linked only by a recorded, standing human judgement")
    return ProfileMember.objects.bulk_create(
        [ProfileMember(profile=profile, person_id=pid, judgement=judgement) for pid in person_ids])


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    return reason


def _sides_visible(actor, s: Suggestion) -> bool:
    """Both events must be visible to the reviewer (sensitive ones need the grant); the other side of
    a cross-retailer suggestion is not required (its card shows only what the policy allows)."""
    wanted = {s.person.event_id}
    if not s.other_organisation_id:
        wanted.add(s.target_person.event_id)
    return Event.objects.visible_to(actor).filter(pk__in=wanted).count() == len(wanted)


@transaction.atomic
def judgement_record(*, actor, suggestion: Suggestion, decision: str, reason: str = "") -> Judgement:
    """Record a reviewer's decision on a suggestion: who, when, why; accept links, reject never again,
    unsure keeps it flagged."""
    require_investigator(actor)
    if decision not in DECISIONS:
        raise ValidationError({"decision": "Choose accept, reject or unsure."})
    reason = _clean_reason(reason)
    s = (Suggestion.objects.visible_to(actor, access.CHANGE).select_for_update(of=("self",))
         .select_related("person", "target_person", "target_profile").filter(pk=suggestion.pk).first())
    if s is None or not _sides_visible(actor, s):
        raise PermissionDenied("You may not judge that suggestion.")
    if s.status == Suggestion.Status.SUPERSEDED:
        raise ValidationError({"suggestion": "This suggestion was replaced by a newer one after the events changed; "
                                             "reload the queue."})
    if s.status not in OPEN:
        raise ValidationError({"suggestion": f"This suggestion was already decided ({s.get_status_display().lower()})."})
    if decision == Judgement.Decision.ACCEPT and s.other_organisation_id:
        raise ValidationError({"decision": "A person recorded by another retailer cannot join your profiles; "
                                           "request disclosure to learn more."})
    judgement = Judgement.objects.create(
        organisation_id=s.organisation_id, suggestion=s, person_id=s.person_id, target_person_id=s.target_person_id,
        target_profile_id=s.target_profile_id, decision=decision, reason=reason, by=actor)
    outcome: dict = {}
    if decision == Judgement.Decision.ACCEPT:
        outcome = _accept(actor, s, judgement)
    elif decision == Judgement.Decision.REJECT:
        outcome = _reject(s, judgement)
    s.status = STATUS_AFTER[decision]
    s.save(update_fields=["status", "updated_at"])
    audit_record(action=f"judgement.{decision}", actor=actor, obj=judgement,
                 detail={"suggestion": s.pk, "person": s.person_id, "target_person": s.target_person_id,
                         "target_profile": s.target_profile_id, "score": round(s.score, 4), "reason": reason,
                         **{k: v for k, v in outcome.items() if k != "profiles"}})
    if decision == Judgement.Decision.ACCEPT:
        after_change(actor=actor, organisation_id=s.organisation_id, person_ids=outcome["people"],
                     profiles=outcome["profiles"])
    return judgement


def _membership(person_ids: list[int]) -> dict[int, ProfileMember]:
    """The people's current profile rows, with the people themselves row-locked (in id order) so that
    two reviewers linking the same person at once are serialised instead of colliding."""
    list(EventPerson.objects.select_for_update().filter(pk__in=person_ids).order_by("pk").values_list("pk", flat=True))
    return {m.person_id: m for m in ProfileMember.objects.select_for_update().filter(person_id__in=person_ids)}


def _accept(actor, s: Suggestion, j: Judgement) -> dict:
    """Link: a new profile of both people, one person joining the other's profile, or — when both
    already have profiles — the smaller merged into the larger."""
    p, q = s.person_id, s.target_person_id
    rows = _membership([p, q])
    target = current_profile(s.target_profile) if s.target_profile_id else None
    if target is None and q in rows:
        target = rows[q].profile
    own = rows[p].profile if p in rows else None
    locked = locked_profiles(actor, [x.pk for x in (target, own) if x is not None])
    target = locked.get(target.pk) if target else None
    own = locked.get(own.pk) if own else None
    if target is None and own is None:
        profile = Profile.objects.create(organisation_id=s.organisation_id, origin=j)
        _members_create(profile=profile, person_ids=[p, q], judgement=j)
        inherited = rejections_inherit(profile=profile)
        history_add(profile=profile, action="created", actor=actor, judgement=j, members=[p, q], inherited=inherited,
                    reason=j.reason)
        return {"profile": profile.pk, "outcome": "created", "people": [p, q], "profiles": [profile]}
    if own is None or target is None:
        profile, newcomer = (target, p) if own is None else (own, q)
        _members_create(profile=profile, person_ids=[newcomer], judgement=j)
        inherited = rejections_inherit(profile=profile)
        history_add(profile=profile, action="extended", actor=actor, judgement=j, members=[newcomer],
                    inherited=inherited, reason=j.reason)
        return {"profile": profile.pk, "outcome": "extended", "people": [newcomer], "profiles": [profile]}
    if own.pk == target.pk:
        return {"profile": own.pk, "outcome": "already linked", "people": [], "profiles": [own]}
    sizes = {x.pk: ProfileMember.objects.filter(profile=x).count() for x in (own, target)}
    survivor, source = (own, target) if sizes[own.pk] > sizes[target.pk] else (target, own)
    moved = merge_into(source=source, target=survivor, actor=actor, judgement=j)
    return {"profile": survivor.pk, "outcome": "merged", "merged_from": source.pk, "people": moved,
            "profiles": [survivor, source]}


def _side(person_id: int, profile: Profile | None) -> set[int]:
    if profile is None:
        return {person_id}
    return set(ProfileMember.objects.filter(profile=profile).values_list("person_id", flat=True)) | {person_id}


def _reject(s: Suggestion, j: Judgement) -> dict:
    """Record the pair as not the same person: the person (with their profile's members) against the
    target (with its profile's members), so neither side is suggested to the other again."""
    # The other side of a cross-retailer card is another retailer's person: who else is in their
    # profile is read across tenants on purpose, to reject the pair whole (never shown to anyone).
    with rls.system():
        rows = _membership([s.person_id, s.target_person_id])
        own = rows[s.person_id].profile if s.person_id in rows else None
        target = current_profile(s.target_profile) if s.target_profile_id else None
        if target is None and s.target_person_id in rows:
            target = rows[s.target_person_id].profile
        left, right = _side(s.person_id, own), _side(s.target_person_id, target)
    pairs = {(min(a, b), max(a, b)) for a in left for b in right if a != b}
    existing = set(RejectedPair.objects.filter(person_low_id__in={a for a, _ in pairs},
                                               person_high_id__in={b for _, b in pairs})
                   .values_list("person_low_id", "person_high_id"))
    RejectedPair.objects.bulk_create([RejectedPair(person_low_id=a, person_high_id=b, judgement=j)
                                      for a, b in sorted(pairs - existing)])
    # The retailer's other open cards about the same two people go with it (a cross-retailer pair is
    # one card in the queue for many rows: selectors_review.cross_collapsed); the engine, which
    # never suggests a rejected pair, would supersede them at their next run anyway.
    covered = Suggestion.objects.filter(organisation_id=s.organisation_id, status__in=OPEN).exclude(pk=s.pk).filter(
        Q(person_id__in=left, target_person_id__in=right) | Q(person_id__in=right, target_person_id__in=left))
    superseded = covered.update(status=Suggestion.Status.SUPERSEDED, updated_at=timezone.now())
    return {"rejected_pairs": len(pairs - existing), "superseded": superseded}


# --- Undo ------------------------------------------------------------------------------------------


@transaction.atomic
def judgement_undo(*, actor, judgement: Judgement) -> Judgement:
    """Reverse one judgement exactly: the member rows it created go, the profiles it merged come apart,
    the split it made is put back, its rejected pairs are forgotten; a profile left with fewer than two
    people, or whose founding judgement this was, is dissolved. The suggestion is open again and the
    events concerned are re-matched."""
    require_investigator(actor)
    j = Judgement.objects.visible_to(actor, access.CHANGE).select_for_update().filter(pk=judgement.pk).first()
    if j is None:
        raise PermissionDenied("You may not undo that judgement.")
    if j.undone_at is not None:
        raise ValidationError({"judgement": "This judgement was already undone."})
    if j.suggestion_id:
        latest = (Judgement.objects.filter(suggestion_id=j.suggestion_id, undone_at__isnull=True)
                  .order_by("-at", "-id").first())
        if latest is not None and latest.pk != j.pk:
            raise ValidationError({"judgement": "A later judgement on this suggestion must be undone first."})
    entries = list(ProfileHistory.objects.filter(judgement=j).order_by("-id"))
    involved = {e.profile_id for e in entries}
    for e in entries:
        involved |= {v for k, v in e.detail.items() if k in ("source", "new_profile", "target") and v}
    locked = locked_profiles(actor, involved)
    j.undone_at, j.undone_by = timezone.now(), actor
    j.save(update_fields=["undone_at", "undone_by"])

    people: set[int] = {j.person_id} | ({j.target_person_id} if j.target_person_id else set())
    touched: dict[int, Profile] = {}
    unlinked: list[int] = []
    rejected = RejectedPair.objects.filter(judgement=j)
    # Everyone the rejection covered is re-matched: it may have superseded their cards too (_reject).
    people |= {x for pair in rejected.values_list("person_low_id", "person_high_id") for x in pair}
    forgotten = rejected.delete()[0]
    for e in entries:
        if e.detail.get("inherited"):
            RejectedPair.objects.filter(pk__in=e.detail["inherited"]).delete()
        profile = locked.get(e.profile_id)
        if e.action in ("created", "extended"):
            rows = ProfileMember.objects.filter(judgement=j)
            for pid, prof_id in rows.values_list("person_id", "profile_id"):
                unlinked.append(pid)
                touched.setdefault(prof_id, locked.get(prof_id) or Profile.objects.get(pk=prof_id))
            rows.delete()
            if profile is not None:
                touched[profile.pk] = profile
                history_add(profile=profile, action="unlinked", actor=actor, judgement=j, members=unlinked)
        elif e.action == "merged":
            _undo_merge(actor, j, e, locked, touched, people)
        elif e.action == "split":
            _undo_split(actor, j, e, locked, touched, people)
    people |= set(unlinked)

    dissolved, cascaded = [], []
    queue = list(touched.values())
    while queue:
        profile = queue.pop()
        profile.refresh_from_db(fields=["status", "merged_into", "origin"])
        if profile.status != Profile.Status.ACTIVE:
            continue
        size = ProfileMember.objects.filter(profile=profile).count()
        origin_undone = profile.origin_id is not None and Judgement.objects.filter(
            pk=profile.origin_id, undone_at__isnull=False).exists()
        if size >= 2 and not origin_undone:
            continue
        result = dissolve(profile=profile, actor=actor, judgement=j, cascade=True)
        dissolved.append(profile.pk)
        cascaded += result["cascaded"]
        people |= {int(p) for p in result["removed"]}
        for restored in result["restored"]:
            touched[restored.pk] = restored
            queue.append(restored)
    if j.suggestion_id:
        Suggestion.objects.filter(pk=j.suggestion_id).update(status=Suggestion.Status.PENDING, updated_at=timezone.now())
    audit_record(action="judgement.undo", actor=actor, obj=j,
                 detail={"decision": j.decision, "suggestion": j.suggestion_id, "unlinked": sorted(unlinked),
                         "rejected_pairs_forgotten": forgotten, "dissolved": dissolved, "cascaded": cascaded})
    after_change(actor=actor, organisation_id=j.organisation_id, person_ids=people, profiles=touched.values())
    return j


def _undo_merge(actor, j: Judgement, e: ProfileHistory, locked: dict, touched: dict, people: set) -> None:
    source = locked.get(e.detail.get("source")) or Profile.objects.filter(pk=e.detail.get("source")).first()
    now = current_profile(locked.get(e.profile_id) or e.profile)
    if source is None or source.status != Profile.Status.MERGED or now is None:
        return
    back = ProfileMember.objects.filter(profile=now, person_id__in=e.detail.get("moved", []))
    people |= set(back.values_list("person_id", flat=True))
    back.update(profile=source)
    source.status, source.merged_into = Profile.Status.ACTIVE, None
    source.save(update_fields=["status", "merged_into", "updated_at"])
    for group in now.groups.all():  # groups the merge moved stay with both until re-suggested
        group.members.add(source)
    history_add(profile=source, action="unmerged", actor=actor, judgement=j, target=now.pk)
    history_add(profile=now, action="merge_undone", actor=actor, judgement=j, source=source.pk)
    touched[source.pk], touched[now.pk] = source, now


def _undo_split(actor, j: Judgement, e: ProfileHistory, locked: dict, touched: dict, people: set) -> None:
    original = locked.get(e.profile_id) or e.profile
    home = current_profile(original)
    if home is None:
        original.status, original.merged_into = Profile.Status.ACTIVE, None
        original.save(update_fields=["status", "merged_into", "updated_at"])
        home = original
    by_old: dict[int, list[int]] = defaultdict(list)
    for pid, old in e.detail.get("moved", {}).items():
        by_old[old].append(int(pid))
    for old, pids in by_old.items():
        rows = ProfileMember.objects.filter(judgement=j, person_id__in=pids)
        people |= set(pids)
        for prof_id in rows.values_list("profile_id", flat=True).distinct():
            touched.setdefault(prof_id, Profile.objects.get(pk=prof_id))
        rows.update(profile=home, judgement_id=old)
    standing = set(Judgement.objects.filter(pk__in=set(e.detail.get("removed", {}).values()), undone_at__isnull=True)
                   .values_list("pk", flat=True))
    linked = set(ProfileMember.objects.filter(person_id__in=[int(p) for p in e.detail.get("removed", {})])
                 .values_list("person_id", flat=True))
    restore: dict[int, list[int]] = defaultdict(list)
    for pid, old in e.detail.get("removed", {}).items():
        if old in standing and int(pid) not in linked:
            restore[old].append(int(pid))
    for old, pids in restore.items():
        _members_create(profile=home, person_ids=pids, judgement=Judgement.objects.get(pk=old))
        people |= set(pids)
    if e.detail.get("new_profile"):
        new = locked.get(e.detail["new_profile"]) or Profile.objects.filter(pk=e.detail["new_profile"]).first()
        if new is not None:
            touched[new.pk] = new
    history_add(profile=home, action="split_undone", actor=actor, judgement=j)
    touched[home.pk] = home


# --- Settings --------------------------------------------------------------------------------------

THRESHOLD_MIN, THRESHOLD_MAX = 0.05, 0.99


@transaction.atomic
def match_settings_update(*, actor, review_threshold) -> MatchSettings:
    """A retailer admin sets the match probability below which suggestions are not kept."""
    if not (getattr(actor, "is_authenticated", False) and actor.role == Role.RETAILER_ADMIN):
        raise PermissionDenied("Only retailer admins may change matching settings.")
    MatchSettings.objects.get_or_create(organisation_id=actor.organisation_id)
    settings = (MatchSettings.objects.visible_to(actor, access.CHANGE).select_for_update()
                .filter(organisation_id=actor.organisation_id).first())
    if settings is None:
        raise PermissionDenied("Only retailer admins may change matching settings.")
    try:
        value = round(float(review_threshold), 3)
    except (TypeError, ValueError):
        raise ValidationError({"review_threshold": "Enter a number between 0.05 and 0.99."}) from None
    if not THRESHOLD_MIN <= value <= THRESHOLD_MAX:
        raise ValidationError({"review_threshold": "Enter a number between 0.05 and 0.99."})
    before = settings.review_threshold
    settings.review_threshold = value
    settings.save(update_fields=["review_threshold"])
    audit_record(action="match_settings.update", actor=actor, obj=settings,
                 detail={"review_threshold": {"before": before, "after": value}})
    return settings
