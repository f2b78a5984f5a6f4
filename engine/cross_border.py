"""Cross-border orders as the chain tells them: the engine side of ``contracts/CrossBorderEscrow.sol``,
and the exchange rates the operator records.

Each order is one :class:`CrossBorderOrder` chain aggregate keyed by its order id; its
fold gives the escrow state (paid, waiting for a top-up, billed, return requested,
disputed, settled), the legs paid with their waybill hashes, the final bill, the return and
the ending. :data:`SOURCES` declares it to the reader.

An exchange rate is recorded by the operator as a :class:`RateRecord`: the decimal rate
from one currency into another, its source and time, signed with the operator's key over
its canonical JSON; the rate, its time and the signature's hash go into the order snapshot.
An amount is converted once, half-even, to whole minor units.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from uuid import UUID

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from .chain_source import ChainAggregate, ChainSource
from .ids import canonical_json, derive

CONTRACT = "CrossBorderEscrow"
STATUS_AFTER = {"OrderPaid": "paid", "LegPaid": None, "FinalBill": None, "ToppedUp": "billed",
                "ReturnRequested": "return_requested", "ReturnRefused": "billed", "Returned": "returned",
                "Escalated": "disputed", "Released": "settled"}
ENDINGS = ("released", "arbitrated", "arbitration_lapsed")
POLICIES = ("seller_pays_return", "buyer_pays_return")


class RateError(ValueError):
    """A rate or a conversion that cannot be made (the reason says why)."""


def fold_order(logs: list[dict]) -> dict:
    """An order's escrow state from its canonical logs, oldest first."""
    state: dict = {"status": None, "legs": [], "steps": [], "freight_paid": 0, "refunded_freight": 0}
    for log in logs:
        name, a, coords = log["event"], log["args"], log["coords"]
        step = {"step": name, "block_number": coords["block_number"], "tx_hash": coords["tx_hash"],
                "log_index": coords["log_index"], "timestamp": coords.get("block_timestamp")}
        if name == "OrderPaid":
            state.update(buyer=a["buyer"], seller=a["seller"], token=a["token"], price=a["price"],
                         freight_held=a["freightHeld"], target_freight=a["freightHeld"],
                         snapshot_hash=a["snapshotHash"], policy=POLICIES[a["policy"]])
        elif name == "LegPaid":
            state["freight_paid"] = a["freightPaid"]
            state["legs"].append({"carrier": a["carrier"], "amount": a["amount"], "waybill_hash": a["waybillHash"],
                                  "tx_hash": coords["tx_hash"]})
            step.update(carrier=a["carrier"], amount=a["amount"])
        elif name == "FinalBill":
            state["final_bill"] = {"freight": a["freight"], "refunded": a["refunded"], "top_up": a["topUp"],
                                   "until": a["releaseAt"]}
            state["refunded_freight"] = a["refunded"]
            state["status"] = "top_up_requested" if a["topUp"] else "billed"
            step.update(freight=a["freight"], refunded=a["refunded"], top_up=a["topUp"])
        elif name == "ToppedUp":
            state["freight_held"] += a["amount"]
            state["final_bill"]["until"] = a["releaseAt"]
            step["amount"] = a["amount"]
        elif name == "ReturnRequested":
            state["return"] = {"reason_hash": a["reasonHash"], "respond_by": a["respondBy"], "answer": None}
        elif name == "ReturnRefused":
            state["return"]["answer"] = {"accepted": False, "reason_hash": a["reasonHash"]}
        elif name == "Returned":
            state["return"]["answer"] = {"accepted": True, "to_buyer": a["toBuyer"], "to_seller": a["toSeller"]}
            state["ending"] = {"to_seller": a["toSeller"], "to_buyer": a["toBuyer"], "how": "returned"}
            step.update(to_buyer=a["toBuyer"], to_seller=a["toSeller"])
        elif name == "Escalated":
            state["dispute"] = {"arbiter": a["arbiter"], "lapse_to_seller": a["lapseToSeller"],
                                "decide_by": a["decideBy"]}
        elif name == "Released":
            state["ending"] = {"to_seller": a["toSeller"], "to_buyer": a["toBuyer"], "how": ENDINGS[a["ending"]]}
            step.update(to_seller=a["toSeller"], to_buyer=a["toBuyer"])
        if STATUS_AFTER.get(name):
            state["status"] = STATUS_AFTER[name]
        state["steps"].append(step)
    return state


class CrossBorderOrder(ChainAggregate):
    """An order of ``CrossBorderEscrow`` on one chain, keyed by its order id."""

    kind = "cross-border-order"
    fold = staticmethod(fold_order)


SOURCES = (ChainSource(contract=CONTRACT, aggregate=CrossBorderOrder, events=frozenset(STATUS_AFTER), key="orderId",
                       opens="OrderPaid"),)


# -- exchange rates (off chain, signed by the operator)


def rate_document(base: str, quote: str, rate: str, source: str, at: str) -> dict:
    """A rate as the operator signs it: ``1 base = rate quote``."""
    try:
        value = Decimal(rate)
    except InvalidOperation:
        raise RateError(f"rate {rate!r} is not a decimal number") from None
    if not value.is_finite() or value <= 0:
        raise RateError("a rate is a positive decimal")
    for code in (base, quote):
        if len(code) != 3 or not code.isalpha():
            raise RateError(f"currency {code!r} is not a three-letter code")
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise RateError(f"time {at!r} is not ISO-8601") from None
    return {"version": 1, "base": base.upper(), "quote": quote.upper(), "rate": str(value.normalize()),
            "source": source, "at": moment.isoformat()}


def sign_rate(document: dict, operator) -> str:
    return "0x" + bytes(operator.sign_message(encode_defunct(canonical_json(document))).signature).hex()


def rate_signer(document: dict, signature: str) -> str | None:
    try:
        return Account.recover_message(encode_defunct(canonical_json(document)), signature=signature).lower()
    except Exception:
        return None


def convert(amount_minor: int, rate: str) -> int:
    """An amount in minor units converted at a rate, rounded half-even once."""
    return int((Decimal(amount_minor) * Decimal(rate)).quantize(Decimal(1), ROUND_HALF_EVEN))


class RateRecord(Aggregate):
    """A rate the operator recorded and signed, keyed by the hash of its signature."""

    @staticmethod
    def create_id(signature_hash: str) -> UUID:
        return derive("rate", signature_hash)

    @event("Recorded")
    def __init__(self, document: dict, signature: str, signature_hash: str, signer: str):
        self.document = document
        self.signature = signature
        self.signature_hash = signature_hash
        self.signer = signer


def signature_hash(signature: str) -> str:
    return "0x" + keccak(bytes.fromhex(signature[2:])).hex()
