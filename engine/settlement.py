"""C2C settlements as the chain tells them.

Each on-chain settlement is one ``Settlement`` aggregate; every log of
``C2CSettlement.sol`` about it is one domain event carrying its chain coordinates (the
first one, ``SettlementOpened``, rides on the aggregate's ``Discovered`` event). A log's
arguments are kept without the settlement id, which is the aggregate's own. A
chain reorganisation is answered with a compensating ``Retracted`` event for each log
that left the canonical chain; the settlement's state is always the fold of its logs
that are still canonical, so a retracted log leaves no trace in it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .ids import derive

# Log name on chain -> settlement status after it.
STATUS_AFTER = {
    "SettlementOpened": "paid",
    "SettlementUpdated": "paid",
    "SettlementShipped": "shipped",
    "DisputeRaised": "disputed",
    "SettlementCompleted": "completed",
    "SettlementReleased": "released",
    "SettlementRejected": "rejected",
    "DisputeResolved": "resolved",
}
SETTLEMENT_EVENTS = frozenset(STATUS_AFTER)
FINAL_STATUSES = frozenset({"completed", "released", "rejected", "resolved"})


def log_key(coords: dict) -> tuple:
    return coords["block_hash"], coords["log_index"]


def fold(logs: list[dict]) -> dict:
    """The state of a settlement from its canonical logs, oldest first.

    Each log is ``{"event", "args", "coords"}``; the result is plain data shared by the
    aggregate and the store-order view.
    """
    state: dict[str, Any] = {"status": "unknown", "steps": []}
    for log in logs:
        name, args, coords = log["event"], log["args"], log["coords"]
        step = {"step": name, "block_number": coords["block_number"], "tx_hash": coords["tx_hash"],
                "log_index": coords["log_index"]}
        if coords.get("block_timestamp") is not None:
            step["timestamp"] = coords["block_timestamp"]
        if name == "SettlementOpened":
            state.update(
                store=args["store"], order_number=args["orderNumber"], buyer=args["buyer"],
                payer=args["payer"], token=args["token"], amount=args["amount"],
                snapshot_hash=args["snapshotHash"], paid_at=args["paidAt"], deadline=args["deadline"],
                to_store=0, to_payer=0,
            )
        elif name == "SettlementUpdated":
            state.update(amount=args["amount"], snapshot_hash=args["snapshotHash"],
                         deadline=args["deadline"])
            step["previous_amount"] = args["previousAmount"]
        elif name == "SettlementShipped":
            state["waybill_hash"] = args["waybillHash"]
        elif name == "DisputeRaised":
            state["dispute_reason_hash"] = args["reasonHash"]
        elif name == "SettlementCompleted" or name == "DisputeResolved":
            state.update(to_store=args["toStore"], to_payer=args["toPayer"],
                         payment_record=args["paymentRecord"])
        elif name == "SettlementReleased":
            state.update(to_store=args["toStore"], to_payer=0, payment_record=args["paymentRecord"])
        elif name == "SettlementRejected":
            state.update(to_store=0, to_payer=args["toPayer"], payment_record=args["paymentRecord"])
        if name in ("SettlementOpened", "SettlementUpdated"):
            step["amount"] = args["amount"]
        elif "paymentRecord" in args:
            step.update(payment_record=args["paymentRecord"], to_store=state["to_store"],
                        to_payer=state["to_payer"])
        state["status"] = STATUS_AFTER[name]
        state["steps"].append(step)
    return state


class Settlement(Aggregate):
    """One settlement of ``C2CSettlement`` on one chain."""

    @staticmethod
    def create_id(chain_id: int, contract: str, settlement_id: str) -> UUID:
        return derive("settlement", chain_id, contract, settlement_id)

    @event("Discovered")
    def __init__(self, chain_id: int, contract: str, settlement_id: str, first_log: dict | None = None):
        """A settlement seen for the first time, usually with its first log (``SettlementOpened``):
        one stored event for both, since every settlement starts that way."""
        self.chain_id = chain_id
        self.contract = contract
        self.settlement_id = settlement_id
        self.logs: list[dict] = [first_log] if first_log else []

    def record(self, name: str, args: dict, coords: dict) -> None:
        """Records a canonical log about this settlement (ignoring one already recorded)."""
        if name not in SETTLEMENT_EVENTS:
            raise ValueError(f"{name} is not a settlement event")
        key = log_key(coords)
        if any(log_key(log["coords"]) == key for log in self.logs):
            return
        self.trigger_event(self.LogRecorded, event_name=name, args=args, coords=coords)

    @event("LogRecorded")
    def _recorded(self, event_name: str, args: dict, coords: dict) -> None:
        self.logs.append({"event": event_name, "args": args, "coords": coords})

    def retract_after(self, block_number: int) -> list[dict]:
        """Retracts every log above ``block_number``; returns the retracted logs."""
        gone = [log for log in self.logs if log["coords"]["block_number"] > block_number]
        for log in gone:
            self._retracted(coords=log["coords"])
        return gone

    @event("Retracted")
    def _retracted(self, coords: dict) -> None:
        key = log_key(coords)
        self.logs = [log for log in self.logs if log_key(log["coords"]) != key]

    @property
    def state(self) -> dict:
        """The settlement as its canonical logs tell it (computed on demand)."""
        return fold(self.logs)

    @property
    def status(self) -> str:
        return self.state["status"]
