"""Walks every audit hash chain and names the first broken row of each."""

from __future__ import annotations

from dataclasses import dataclass

from audit.models import GENESIS_HASH, AuditEntry


@dataclass
class Break:
    chain: int
    seq: int
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        row = f"row id {self.entry_id}" if self.entry_id is not None else "a missing row"
        return f"chain {self.chain}, seq {self.seq} ({row}): {self.reason}"


def verify_chains(batch: int = 5000) -> tuple[int, list[Break]]:
    """(rows checked, first break of each broken chain)."""
    checked = 0
    breaks: list[Break] = []
    chains = AuditEntry.objects.unscoped().values_list("chain", flat=True).distinct().order_by("chain")
    for chain in chains:
        expected_seq, prev_hash = 1, GENESIS_HASH
        broken = None
        last_seq = 0
        while broken is None:
            rows = list(AuditEntry.objects.unscoped().filter(chain=chain, seq__gt=last_seq).order_by("seq")[:batch])
            if not rows:
                break
            for e in rows:
                checked += 1
                if e.seq != expected_seq:
                    broken = Break(chain, expected_seq, None, f"row seq {expected_seq} is missing (next is {e.seq})")
                elif e.prev_hash != prev_hash:
                    broken = Break(chain, e.seq, e.pk, "prev_hash does not match the previous row's hash")
                elif e.compute_hash() != e.hash:
                    broken = Break(chain, e.seq, e.pk, "contents do not match the row's hash (edited)")
                if broken:
                    break
                expected_seq, prev_hash, last_seq = e.seq + 1, e.hash, e.seq
        if broken:
            breaks.append(broken)
    return checked, breaks
