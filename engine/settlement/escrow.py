"""C2C settlements as the chain tells them: the engine side of ``contracts/C2CSettlement.sol``.

Each on-chain settlement is one ``Settlement`` aggregate; every log of the contract
about it is one domain event carrying its chain coordinates (the first one,
``SettlementOpened``, rides on the aggregate's ``Discovered`` event). A log's arguments
are kept without the settlement id, which is the aggregate's own key. :data:`SOURCE`
declares all this to the chain reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from engine.chain.source import ChainAggregate, ChainSource
from engine.credits import CreditAccount
from engine.purchases import Purchase, first_step
from engine.signals import DISPUTES, Signal, last_timestamp, split_outcome

# The contract keeps amounts in a uint96.
MAX_AMOUNT = 2**96 - 1

# Log name on chain -> settlement status after it (None: the status stays).
STATUS_AFTER = {
    "SettlementOpened": "paid",
    "SettlementUpdated": "paid",
    "SettlementShipped": "shipped",
    "ClaimOpened": "claimed",
    "DisputeRaised": "disputed",
    "SettlementCompleted": "completed",
    "SettlementReleased": "released",
    "SettlementRejected": "rejected",
    "DisputeResolved": "resolved",
    "PayoutCredited": None,
}
SETTLEMENT_EVENTS = frozenset(STATUS_AFTER)
# Statuses in which the settlement holds the frozen amount; each ends, at the latest, when
# its window passes: the time limit (paid, shipped), the store's response window (claimed),
# the arbitration window (disputed).
OPEN_STATUSES = frozenset({"paid", "shipped", "claimed", "disputed"})
FINAL_STATUSES = frozenset({"completed", "released", "rejected", "resolved"})
# The contract's `Ending`, by its number in a payout event.
ENDINGS = ("confirmed", "claim_accepted", "claim_executed", "agreed", "arbitrated", "arbitration_lapsed")


@dataclass(frozen=True)
class SettlementKey:
    """What identifies a settlement on chain: ``(store, order number, buyer, payer, token)``.

    Addresses lower-case hex, the order number as 0x-hex bytes32.
    """

    store: str
    order_number: str
    buyer: str
    payer: str
    token: str

    def as_tuple(self) -> tuple:
        """The key as the contract's ``SettlementKey`` struct argument."""
        return (self.store, bytes.fromhex(self.order_number[2:]), self.buyer, self.payer, self.token)

    def settlement_id(self) -> str:
        """The id of the key's first settlement: keccak-256 of the ABI-encoded key (a key whose
        settlement closed gets a new id when paid again; the contract's ``settlementId``
        tells the current one)."""
        return "0x" + keccak(abi_encode(["(address,bytes32,address,address,address)"], [self.as_tuple()])).hex()

    @classmethod
    def of(cls, state: dict) -> SettlementKey:
        """The key of a folded settlement state."""
        return cls(state["store"], state["order_number"], state["buyer"], state["payer"], state["token"])


def fold(logs: list[dict]) -> dict:
    """The state of a settlement from its canonical logs, oldest first.

    Each log is ``{"event", "args", "coords"}``; the result is plain data shared by the
    aggregate, the store-order rules and the views.
    """
    state: dict[str, Any] = {"status": "unknown", "steps": []}
    for log in logs:
        name, args, coords = log["event"], log["args"], log["coords"]
        step = {
            "step": name,
            "block_number": coords["block_number"],
            "tx_hash": coords["tx_hash"],
            "log_index": coords["log_index"],
        }
        if coords.get("block_timestamp") is not None:
            step["timestamp"] = coords["block_timestamp"]
        if name == "SettlementOpened":
            state.update(
                store=args["store"],
                order_number=args["orderNumber"],
                buyer=args["buyer"],
                payer=args["payer"],
                token=args["token"],
                amount=args["amount"],
                snapshot_hash=args["snapshotHash"],
                paid_at=args["paidAt"],
                deadline=args["deadline"],
                to_store=0,
                to_payer=0,
            )
        elif name == "SettlementUpdated":
            state.update(amount=args["amount"], snapshot_hash=args["snapshotHash"], deadline=args["deadline"])
            step["previous_amount"] = args["previousAmount"]
        elif name == "SettlementShipped":
            state["waybill_hash"] = args["waybillHash"]
        elif name == "ClaimOpened":
            state["claim"] = {
                "amount_due": args["amountDue"],
                "reason_hash": args["reasonHash"],
                "respond_by": args["respondBy"],
            }
            step["amount_due"] = args["amountDue"]
        elif name == "DisputeRaised":
            state["dispute"] = {
                "by": args["by"],
                "proposed_to_store": args["proposedToStore"],
                "reason_hash": args["reasonHash"],
                "arbiter": args["arbiter"],
                "decide_by": args["decideBy"],
            }
            step["proposed_to_store"] = args["proposedToStore"]
        elif name == "SettlementCompleted" or name == "DisputeResolved":
            state.update(
                to_store=args["toStore"],
                to_payer=args["toPayer"],
                payment_record=args["paymentRecord"],
                ending=ENDINGS[args["ending"]],
            )
            step["ending"] = state["ending"]
        elif name == "PayoutCredited":  # a blocked recipient: its share waits for it in the contract
            state.setdefault("credited", []).append(
                {
                    "recipient": args["recipient"],
                    "token": args["token"],
                    "amount": args["amount"],
                    "block_number": coords["block_number"],
                    "log_index": coords["log_index"],
                }
            )
            step.update(recipient=args["recipient"], amount=args["amount"])
        elif name == "SettlementReleased":
            state.update(to_store=args["toStore"], to_payer=0, payment_record=args["paymentRecord"])
        elif name == "SettlementRejected":
            state.update(to_store=0, to_payer=args["toPayer"], payment_record=args["paymentRecord"])
        if name in ("SettlementOpened", "SettlementUpdated"):
            step["amount"] = args["amount"]
        elif "paymentRecord" in args:
            step.update(payment_record=args["paymentRecord"], to_store=state["to_store"], to_payer=state["to_payer"])
        if STATUS_AFTER[name] is not None:
            state["status"] = STATUS_AFTER[name]
        state["steps"].append(step)
    return state


class Settlement(ChainAggregate):
    """One settlement of ``C2CSettlement`` on one chain, keyed by its settlement id."""

    kind = "settlement"

    class Discovered(ChainAggregate.Discovered):
        """Version 2 names the settlement id ``key``, like every chain aggregate."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["key"] = state.pop("settlement_id")

    fold = staticmethod(fold)

    @property
    def settlement_id(self) -> str:
        return self.key

    @property
    def status(self) -> str:
        return self.state["status"]


class SettlementCredits(CreditAccount):
    """A recipient's claims of what the settlement contract credited to it (``PayoutCredited``
    tells each credit, in the settlement's own logs)."""

    kind = "settlement-credit"


CONTRACT = "C2CSettlement"
SOURCE = ChainSource(
    contract=CONTRACT, aggregate=Settlement, events=SETTLEMENT_EVENTS, key="id", opens="SettlementOpened"
)
SOURCES = (
    SOURCE,
    ChainSource(
        contract="C2CSettlement",
        aggregate=SettlementCredits,
        events=frozenset({"CreditClaimed"}),
        key="recipient",
        opens=None,  # claimed again after every new credit: always looked up
    ),
)


# -- what a settlement's outcome says of its store and its buyer (the reputation view's counters)

REPUTATION = {
    "settlement_completed": "a settlement ended with the goods accepted: confirmed by the buyer, or released "
    "to the store when the time limit passed without a claim",
    "settlement_unconfirmed": "the buyer let the time limit pass without confirming (counted only)",
    "shipped_on_time": "the store marked the order shipped before the settlement's deadline",
    "shipped_late": "the store marked the order shipped after the settlement's deadline",
    "refunded_unshipped": "the payer took the money back: the store had not shipped by the deadline",
    "refund_received": "the buyer was refunded an order the store did not ship (counted only)",
    "claim_upheld": "the buyer's claim was accepted or executed: money went back to the buyer",
    "claim_made": "the buyer made a claim that was upheld (counted only)",
    "dispute_lapsed": "the arbiter let the arbitration window pass (counted only)",
    **DISPUTES,
}


def reputation_signals(state: dict) -> list[Signal]:
    """The counters a settlement adds to for its store and its buyer, once it has ended."""
    status, steps = state.get("status"), state.get("steps", [])
    if status not in FINAL_STATUSES or "store" not in state:
        return []
    store, buyer, at = state["store"], state["buyer"], last_timestamp(steps)
    shipped = next((s for s in steps if s["step"] == "SettlementShipped"), None)
    out: list[Signal] = []
    if shipped is not None and shipped.get("timestamp") is not None:
        late = shipped["timestamp"] > state["deadline"]
        out.append(Signal(store, "shipped_late" if late else "shipped_on_time", not late, shipped["timestamp"]))
    ending = state.get("ending")
    if status == "released" or ending == "confirmed":
        out.append(Signal(store, "settlement_completed", True, at))
        if status == "released":
            out.append(Signal(buyer, "settlement_unconfirmed", None, at))
        else:
            out.append(Signal(buyer, "settlement_completed", True, at))
    elif status == "rejected":
        out += [Signal(store, "refunded_unshipped", False, at), Signal(buyer, "refund_received", None, at)]
    elif ending in ("claim_accepted", "claim_executed"):
        out += [Signal(store, "claim_upheld", False, at), Signal(buyer, "claim_made", None, at)]
    elif ending == "arbitration_lapsed":
        out += [Signal(store, "dispute_lapsed", None, at), Signal(buyer, "dispute_lapsed", None, at)]
    elif ending in ("agreed", "arbitrated"):
        out += split_outcome(store, buyer, state["to_store"], state["to_payer"], at)
    return out


# -- what a settlement records as the buyer's purchase


def purchase_records(key: str, state: dict) -> list[Purchase]:
    """The settlement (keyed by its id) as its payer's purchase: one line, the order's amount."""
    if "buyer" not in state:
        return []
    opened = first_step(state["steps"], "SettlementOpened")
    return [
        Purchase(
            buyer=state["payer"],
            capability="settlement",
            reference=key,
            seller=state["store"],
            item=state["order_number"],
            quantity=1,
            unit_price=state["amount"],
            amount=state["amount"],
            token=state["token"],
            status=state["status"],
            at=opened.get("timestamp"),
            tx_hash=opened.get("tx_hash"),
        )
    ]
