"""How far the reader has read one chain: one cursor per chain, whatever contracts it follows.

The cursor remembers the last block read and its hash, the recent checkpoints (to find
the common ancestor after a reorganisation), the genesis hash (to refuse another chain)
and the contracts it follows. A contract that joins later (a new deployment, an upgrade)
is first read on its own from its deployment block up to the cursor (a backfill), then
followed with the rest; nothing already recorded is read again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from engine.ids import derive

# Checkpoints kept for finding the common ancestor after a reorganisation.
KEEP_CHECKPOINTS = 512


class ChainCursor(Aggregate):
    """The reader's position on one chain (see the module docstring)."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Started: ClassVar[type[Any]]
        Followed: ClassVar[type[Any]]
        Adopted: ClassVar[type[Any]]
        Advanced: ClassVar[type[Any]]
        Backfilled: ClassVar[type[Any]]
        RolledBack: ClassVar[type[Any]]

    @staticmethod
    def create_id(chain_id: int) -> UUID:
        return derive("chain-cursor", chain_id)

    @event("Started")
    def __init__(self, chain_id: int, start_block: int, genesis_hash: str | None = None):
        self.chain_id = chain_id
        self.genesis_hash = genesis_hash
        self.start_block = start_block
        self.block = start_block - 1  # last block fully read
        self.block_hash: str | None = None
        self.head: int | None = None  # the node's head when the cursor last advanced
        self.recent: list[list] = []  # [block, hash, [aggregate ids] or None (too deep to matter)]
        # address -> {"name", "from_block", "read_to"}; "read_to" is set while a backfill runs.
        self.contracts: dict[str, dict] = {}

    @property
    def followed(self) -> list[str]:
        """Addresses read with the chain's ranges (their backfill, if any, is done)."""
        return [a for a, c in self.contracts.items() if c.get("read_to") is None]

    @property
    def backfilling(self) -> dict[str, int]:
        """Address -> last block read, for contracts still catching up to the cursor."""
        return {a: c["read_to"] for a, c in self.contracts.items() if c.get("read_to") is not None}

    @event("Followed")
    def follow(self, address: str, name: str, from_block: int) -> None:
        """Starts following a contract deployed at ``from_block``; backfills if the cursor is past it."""
        self.contracts[address] = {
            "name": name,
            "from_block": from_block,
            "read_to": from_block - 1 if from_block <= self.block else None,
        }

    @event("Adopted")
    def adopt(self, block: int, block_hash: str | None, recent: list[list]) -> None:
        """Takes over the position of an earlier layout's cursor (one per set of contracts)."""
        self.block = block
        self.block_hash = block_hash
        self.recent = recent[-KEEP_CHECKPOINTS:]

    @event("Advanced")
    def advance(
        self, to_block: int, block_hash: str, touched: list[str] | None, events: int, head: int | None = None
    ) -> None:
        self.block = to_block
        self.block_hash = block_hash
        self.head = head
        self.recent.append([to_block, block_hash, touched])
        del self.recent[:-KEEP_CHECKPOINTS]

    @event("Backfilled")
    def backfill(self, address: str, to_block: int, touched: list[list], events: int) -> None:
        """A joining contract was read up to ``to_block``. ``touched`` pairs each aggregate it
        wrote near the head with the block of its newest log, so that a later rollback
        below that block retracts it like any other."""
        entry = self.contracts[address]
        entry["read_to"] = None if to_block >= self.block else to_block
        for block, aggregate_id in touched:
            for checkpoint in self.recent:
                if checkpoint[0] >= block:
                    if checkpoint[2] is not None and aggregate_id not in checkpoint[2]:
                        checkpoint[2].append(aggregate_id)
                    break

    @event("RolledBack")
    def roll_back(self, to_block: int, block_hash: str | None, retracted: int) -> None:
        self.recent = [c for c in self.recent if c[0] <= to_block]
        self.block = to_block
        self.block_hash = block_hash
        for entry in self.contracts.values():
            if entry.get("read_to") is not None and entry["read_to"] > to_block:
                entry["read_to"] = to_block

    @staticmethod
    def legacy_id(chain_id: int, addresses: list[str]) -> UUID:
        """The id an earlier layout gave the cursor of one set of contracts."""
        return derive("cursor", chain_id, ",".join(sorted(addresses)))

    def touched_above(self, block: int) -> set[UUID] | None:
        """Aggregates written above ``block``; None if some were written too deep to be listed."""
        above = [c for c in self.recent if c[0] > block]
        if any(c[2] is None for c in above):
            return None
        return {UUID(i) for c in above for i in c[2]}
