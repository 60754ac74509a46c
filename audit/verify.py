"""Walks every audit hash chain and names every break in it: each edited row, each gap of deleted
rows (the end of a chain included, against its head), each row whose link was rewritten."""

from __future__ import annotations

from dataclasses import dataclass

from audit.models import GENESIS_HASH, AuditChainHead, AuditEntry


@dataclass
class Break:
    chain: int
    seq: int
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        row = f"row id {self.entry_id}" if self.entry_id is not None else "a missing row"
        return f"chain {self.chain}, seq {self.seq} ({row}): {self.reason}"


def _gap(chain: int, first: int, last: int, after: str) -> Break:
    seqs = f"seq {first}" if first == last else f"seq {first} to {last}"
    return Break(chain, first, None, f"row {seqs} is missing ({after})")


def verify_chains(batch: int = 5000) -> tuple[int, list[Break]]:
    """(rows checked, every break of every chain, in chain and seq order).

    The walk goes on past a break. After an edited row the next row is checked against the hash the
    edited row carries (its hash as written, which the next row's link still matches), so one edit
    is one finding; after a gap the row that follows it is not also blamed for a link that pointed
    at a row no longer there."""
    checked = 0
    breaks: list[Break] = []
    heads = dict(AuditChainHead.objects.values_list("chain", "seq"))
    chains = sorted(set(AuditEntry.objects.unscoped().values_list("chain", flat=True).distinct()) | set(heads))
    for chain in chains:
        expected_seq, prev_hash, after_gap = 1, GENESIS_HASH, False
        while True:
            rows = list(AuditEntry.objects.unscoped().filter(chain=chain, seq__gte=expected_seq).order_by("seq")[:batch])
            if not rows:
                break
            for e in rows:
                checked += 1
                if e.seq != expected_seq:
                    breaks.append(_gap(chain, expected_seq, e.seq - 1, f"the next row is seq {e.seq}"))
                    after_gap = True
                relinked = e.prev_hash != prev_hash and not after_gap
                if e.compute_hash() != e.hash:  # one finding per row, however much of it changed
                    breaks.append(Break(chain, e.seq, e.pk, "contents do not match the row's hash (edited)"
                                        + ("; its prev_hash was changed too" if relinked else "")))
                elif relinked:  # rehashed to hide an edit, or written into the chain from elsewhere
                    breaks.append(Break(chain, e.seq, e.pk, "prev_hash does not match the previous row's hash"))
                expected_seq, prev_hash, after_gap = e.seq + 1, e.hash, False
        head = heads.get(chain, 0)
        if head >= expected_seq:  # the chain's head says rows were written past the last one left
            breaks.append(_gap(chain, expected_seq, head, f"the chain's head is at seq {head}"))
    return checked, breaks
