"""Scoring a matcher against a synthetic world's truth (matching.synthetic): cards, precision and
recall of linkable repeats, the gate subset, and cards from scored pairs as a queue holds them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matching.synthetic import Truth

@dataclass
class Quality:
    suggestions: int  # cards a reviewer would see
    correct: int
    people: int  # event people matched (offenders and accomplices)
    linkable: int  # of them, those with another record of the same person
    found: int  # of those, the ones with a correct suggestion about them
    gate_suggestions: int
    gate_correct: int
    gate_linkable: int
    gate_found: int

    @property
    def precision(self) -> float:
        return self.correct / self.suggestions if self.suggestions else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.linkable if self.linkable else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def gate_precision(self) -> float:
        return self.gate_correct / self.gate_suggestions if self.gate_suggestions else 0.0

    @property
    def gate_recall(self) -> float:
        return self.gate_found / self.gate_linkable if self.gate_linkable else 0.0

    @property
    def gate_f1(self) -> float:
        p, r = self.gate_precision, self.gate_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def per_person(self) -> float:
        return self.suggestions / self.people if self.people else 0.0


def shares_evidence(a: Truth, b: Truth) -> bool:
    """The pair shares a name, a mark or a vehicle (as the records show them): the gate's subset,
    true matches and hard negatives ("John Smith", brothers in the family car) alike."""
    return bool((a.name and a.name == b.name) or (set(a.marks) & set(b.marks)) or (a.vehicle and a.vehicle == b.vehicle))


def evaluate(pairs: list[tuple[int, int]], truth_of: dict[int, Truth], event_of: dict[int, int]) -> Quality:
    """Score suggestions (pairs of event-person ids, one per card) against the truth.

    Precision: the share of cards that are the same person. Recall: of the event people that have
    another record of the same person (in another event), the share with at least one correct card
    about them — accepting it links them, and the profile grows from there. The gate subset keeps
    the cards whose two sides share a name, mark or vehicle, and the people that have a record of
    themselves sharing one."""
    people = list(truth_of)
    by_true: dict[int, list[int]] = {}
    for pid in people:
        by_true.setdefault(truth_of[pid].person, []).append(pid)
    linkable, gate_linkable = set(), set()
    for members in by_true.values():
        if len(members) < 2:
            continue
        for a, b in itertools.combinations(members, 2):
            if event_of[a] == event_of[b]:
                continue
            linkable.update((a, b))
            if shares_evidence(truth_of[a], truth_of[b]):
                gate_linkable.update((a, b))
    found: set[int] = set()
    correct = gate_n = gate_correct = 0
    for a, b in pairs:
        ta, tb = truth_of.get(a), truth_of.get(b)
        if ta is None or tb is None:
            continue
        ok = ta.person == tb.person
        gate = shares_evidence(ta, tb)
        correct += ok
        gate_n += gate
        gate_correct += ok and gate
        if ok:
            found.update((a, b))
    return Quality(
        suggestions=len(pairs), correct=correct, people=len(people), linkable=len(linkable),
        found=len(found & linkable), gate_suggestions=gate_n, gate_correct=gate_correct,
        gate_linkable=len(gate_linkable), gate_found=len(found & gate_linkable),
    )


def top_per_person(scored_pairs: list[tuple[int, int, float]], *, threshold: float, top: int = 5) -> list[tuple[int, int]]:
    """Cards from undirected scored pairs as a queue would hold them: for each person the `top` best
    pairs at or above the threshold; a pair kept for both sides is one card."""
    by_person: dict[int, list[tuple[float, int]]] = {}
    for a, b, p in scored_pairs:
        if p >= threshold:
            by_person.setdefault(a, []).append((p, b))
            by_person.setdefault(b, []).append((p, a))
    cards: set[tuple[int, int]] = set()
    for a, lst in by_person.items():
        lst.sort(key=lambda t: (-t[0], t[1]))
        for _, b in lst[:top]:
            cards.add((min(a, b), max(a, b)))
    return sorted(cards)
