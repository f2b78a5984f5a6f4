"""What every contract module declares to the chain reader, and the aggregate its logs fold into.

A contract's engine side is one module (``engine/settlement/escrow.py`` is the first) that
declares a :class:`ChainSource` per kind of thing the contract keeps: the contract's name
in the deployment manifest, the :class:`ChainAggregate` subclass its logs fold into, the
events it reads, the log argument that keys the aggregate and the event that opens one.
A contract may declare several (the liquor contract keeps plans, purchases and cases),
each reading its own events. The reader routes each log by its address and event name
to its source and builds the aggregate's next event; it never needs to know which
contract it is reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from engine.ids import derive


def log_key(coords: dict) -> tuple:
    """What identifies a log on one chain: its block's hash and its index in the block."""
    return coords["block_hash"], coords["log_index"]


class ChainAggregate(Aggregate):
    """One thing a contract keeps (a settlement, a case token, a campaign) as its logs tell it.

    Every log about it is a domain event carrying its chain coordinates; the first rides
    on ``Discovered``. A reorganisation is answered with a compensating ``Retracted``
    event for each log that left the canonical chain, so the aggregate's state, the
    :meth:`fold` of its canonical logs, never keeps a trace of an orphaned block.
    Subclasses name their kind (part of every id) and override :meth:`fold`.
    """

    kind = "chain"  # part of every id: settlement, case, campaign ...

    @classmethod
    def create_id(cls, chain_id: int, contract: str, key: str) -> UUID:
        return derive(cls.kind, chain_id, contract, key)

    class Discovered(Aggregate.Created):
        """First seen, usually with its first log: one stored event for both."""

        chain_id: int
        contract: str
        key: str
        first_log: dict | None

    def __init__(self, chain_id: int, contract: str, key: str, first_log: dict | None = None):
        self.chain_id = chain_id
        self.contract = contract
        self.key = key
        self.logs: list[dict] = [first_log] if first_log else []

    class LogRecorded(Aggregate.Event):
        """A canonical log about this aggregate."""

        event_name: str
        args: dict
        coords: dict

        def apply(self, aggregate: ChainAggregate) -> None:
            aggregate.logs.append({"event": self.event_name, "args": self.args, "coords": self.coords})

    class Retracted(Aggregate.Event):
        """A recorded log left the canonical chain (a reorganisation)."""

        coords: dict

        def apply(self, aggregate: ChainAggregate) -> None:
            key = log_key(self.coords)
            aggregate.logs = [log for log in aggregate.logs if log_key(log["coords"]) != key]

    def record(self, name: str, args: dict, coords: dict) -> None:
        """Records a canonical log (ignoring one already recorded)."""
        key = log_key(coords)
        if any(log_key(log["coords"]) == key for log in self.logs):
            return
        self.trigger_event(self.LogRecorded, event_name=name, args=args, coords=coords)

    def retract_after(self, block_number: int) -> list[dict]:
        """Retracts every log above ``block_number``; returns the retracted logs."""
        gone = [log for log in self.logs if log["coords"]["block_number"] > block_number]
        for log in gone:
            self.trigger_event(self.Retracted, coords=log["coords"])
        return gone

    @staticmethod
    def fold(logs: list[dict]) -> dict:
        """The state its canonical logs (oldest first) describe, as plain data."""
        return {"logs": len(logs)}

    @property
    def state(self) -> dict:
        return self.fold(self.logs)


def step_of(log: dict) -> dict:
    """A log as a step of its thing's history: its name and chain coordinates (and time)."""
    coords = log["coords"]
    return {
        "step": log["event"],
        "block_number": coords["block_number"],
        "tx_hash": coords["tx_hash"],
        "log_index": coords["log_index"],
        "timestamp": coords.get("block_timestamp"),
    }


def log_of(event: Any) -> dict | None:
    """The chain log a chain aggregate's event records, if it records one."""
    if isinstance(event, ChainAggregate.LogRecorded):
        return {"event": event.event_name, "args": event.args, "coords": event.coords}
    if isinstance(event, ChainAggregate.Discovered):
        return event.first_log
    return None


@dataclass(frozen=True)
class ChainSource:
    """A contract's declaration to the reader (see the module docstring)."""

    contract: str  # its name in the deployment manifest
    aggregate: type[ChainAggregate]  # what its logs fold into
    events: frozenset[str]  # the log names it reads; others are ignored
    key: str  # the log argument naming the aggregate
    opens: str | None  # the log that opens an aggregate (None: any log may come again)
    # For a contract whose logs carry too little: (rpc, deployed contract, raw log, decoded
    # arguments) -> the arguments to record, read from the node at the log's block, or None
    # to skip the log. The reader records what it returns, so views never call the node.
    enrich: Callable[[Any, Any, dict, dict], dict | None] | None = None
