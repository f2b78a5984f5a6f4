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

A quote for an order is a :class:`CrossBorderQuote`: the order snapshot (the goods, the
shipment, the freight estimate, the rate with its time and its signature's hash, the
amounts in the settlement token, the return policy, and until when the rate holds),
keyed by the snapshot's hash, which ``pay`` carries on chain. :func:`quote_problems` says
where a paid order differs from its quote; :func:`completed_history_order` turns a
completed order and its snapshot into a freight-history order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from engine.chain.source import ChainAggregate, ChainSource, step_of
from engine.credits import CREDIT_EVENTS, CreditAccount
from engine.ids import canonical_json, derive
from engine.purchases import Purchase, first_step
from engine.signals import DISPUTES, Signal, last_timestamp, split_outcome

CONTRACT = "CrossBorderEscrow"
STATUS_AFTER = {
    "OrderPaid": "paid",
    "LegPaid": None,
    "FinalBill": None,
    "ToppedUp": "billed",
    "ReturnRequested": "return_requested",
    "ReturnRefused": "return_refused",
    "Returned": "returned",
    "Escalated": "disputed",
    "Released": None,
}
STATUSES = (
    "paid",
    "in_transit",
    "top_up_requested",
    "billed",
    "return_requested",
    "return_refused",
    "disputed",
    "settled",
    "returned",
    "cancelled",
)
ENDINGS = ("released", "arbitrated", "arbitration_lapsed", "cancelled")
POLICIES = ("seller_pays_return", "buyer_pays_return")
ENDED = ("settled", "returned")
# The contract's bounds of every window, the billing window included (MIN_WINDOW, MAX_WINDOW).
MIN_WINDOW, MAX_WINDOW = 86_400, 180 * 86_400
DEFAULT_BILLING_WINDOW = 30 * 86_400
# ISO 4217 minor-unit exponents that are not 2.
MINOR_EXPONENTS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


class RateError(ValueError):
    """A rate or a conversion that cannot be made (the reason says why)."""


def fold_order(logs: list[dict]) -> dict:
    """An order's escrow state from its canonical logs, oldest first."""
    state: dict = {"status": None, "legs": [], "steps": [], "freight_paid": 0, "refunded_freight": 0}
    for log in logs:
        name, a, coords = log["event"], log["args"], log["coords"]
        step = step_of(log)
        if name == "OrderPaid":
            state.update(
                buyer=a["buyer"],
                seller=a["seller"],
                token=a["token"],
                price=a["price"],
                freight_held=a["freightHeld"],
                target_freight=a["freightHeld"],
                snapshot_hash=a["snapshotHash"],
                policy=POLICIES[a["policy"]],
                bill_by=a["billBy"],
            )
            if coords.get("block_timestamp") is not None:
                state["billing_window"] = a["billBy"] - coords["block_timestamp"]
        elif name == "LegPaid":
            state["freight_paid"] = a["freightPaid"]
            state["legs"].append(
                {
                    "carrier": a["carrier"],
                    "amount": a["amount"],
                    "waybill_hash": a["waybillHash"],
                    "tx_hash": coords["tx_hash"],
                }
            )
            step.update(carrier=a["carrier"], amount=a["amount"])
            if state["status"] == "paid":  # legs paid, not billed yet: the goods are on their way
                state["status"] = "in_transit"
        elif name == "FinalBill":
            state["final_bill"] = {
                "freight": a["freight"],
                "refunded": a["refunded"],
                "top_up": a["topUp"],
                "until": a["releaseAt"],
            }
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
            state["return"]["answer"] = {
                "accepted": False,
                "reason_hash": a["reasonHash"],
                "contest_by": a["contestBy"],
            }
        elif name == "Returned":
            state["return"]["answer"] = {"accepted": True, "to_buyer": a["toBuyer"], "to_seller": a["toSeller"]}
            state["ending"] = {"to_seller": a["toSeller"], "to_buyer": a["toBuyer"], "how": "returned"}
            step.update(to_buyer=a["toBuyer"], to_seller=a["toSeller"])
        elif name == "Escalated":
            state["dispute"] = {
                "arbiter": a["arbiter"],
                "lapse_to_seller": a["lapseToSeller"],
                "decide_by": a["decideBy"],
                "raised_from": state["status"],
            }
        elif name == "Released":
            how = ENDINGS[a["ending"]]
            state["ending"] = {"to_seller": a["toSeller"], "to_buyer": a["toBuyer"], "how": how}
            state["status"] = "cancelled" if how == "cancelled" else "settled"
            step.update(to_seller=a["toSeller"], to_buyer=a["toBuyer"])
        if STATUS_AFTER.get(name):
            state["status"] = STATUS_AFTER[name]
        state["steps"].append(step)
    return state


class CrossBorderOrder(ChainAggregate):
    """An order of ``CrossBorderEscrow`` on one chain, keyed by its order id."""

    kind = "cross-border-order"
    fold = staticmethod(fold_order)


class CrossBorderCredits(CreditAccount):
    """A recipient's credits (payouts and refunds a token refused) and claims in the escrow."""

    kind = "cross-border-credit"


SOURCES = (
    ChainSource(
        contract=CONTRACT, aggregate=CrossBorderOrder, events=frozenset(STATUS_AFTER), key="orderId", opens="OrderPaid"
    ),
    ChainSource(contract=CONTRACT, aggregate=CrossBorderCredits, events=CREDIT_EVENTS, key="recipient", opens=None),
)


# -- exchange rates (off chain, signed by the operator)


class RateSignatureRefused(RateError):
    """A rate whose signature is not the operator's on this document; :attr:`document` is the
    document the signature was checked against (its canonical JSON is what must be signed)."""

    def __init__(self, message: str, document: dict):
        super().__init__(message)
        self.document = document


def rate_document(base: str, quote: str, rate: str, source: str, at: str) -> dict:
    """A rate as the operator signs it: ``1 base = rate quote``.

    The document is ``{"version": 1, "base", "quote", "rate", "source", "at"}``: currency
    codes upper-case, the rate a normalised decimal string (``1.0800`` becomes ``1.08``), the
    time in UTC ISO-8601 (``2026-06-30T14:15:00+00:00``). What is signed is its canonical JSON
    (keys sorted, no spaces, UTF-8) as an EIP-191 personal message (``personal_sign``)."""
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
        moment = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise RateError(f"time {at!r} is not ISO-8601") from None
    return {
        "version": 1,
        "base": base.upper(),
        "quote": quote.upper(),
        "rate": str(value.normalize()),
        "source": source,
        "at": moment.isoformat(),
    }


def sign_rate(document: dict, operator) -> str:
    return "0x" + bytes(operator.sign_message(encode_defunct(canonical_json(document))).signature).hex()


def rate_signer(document: dict, signature: str) -> str | None:
    try:
        return Account.recover_message(encode_defunct(canonical_json(document)), signature=signature).lower()
    except Exception:
        return None


def convert(amount_minor: int, rate: str, shift: int = 0) -> int:
    """An amount in minor units converted at a rate (times ``10**shift``: the difference of the
    two sides' minor-unit exponents), rounded half-even once."""
    return int((Decimal(amount_minor) * Decimal(rate) * Decimal(10) ** shift).quantize(Decimal(1), ROUND_HALF_EVEN))


def minor_exponent(currency: str) -> int:
    """Digits after the point of a currency's minor unit (ISO 4217; 2 unless listed)."""
    return MINOR_EXPONENTS.get(currency.upper(), 2)


class RateRecord(Aggregate):
    """A rate the operator recorded and signed, keyed by the hash of its signature."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Recorded: ClassVar[type[Any]]

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


# -- quotes: the order snapshot a payment carries the hash of


class QuoteError(ValueError):
    """A quote that cannot be made (the reason says why)."""


def order_snapshot(
    *,
    buyer: str,
    seller: str,
    goods: str,
    shipment: dict,
    quoted_at: str,
    freight: dict,
    rate: dict | None,
    token: str,
    decimals: int,
    settlement_currency: str,
    policy: str,
    valid_until: int,
    billing_window: int = DEFAULT_BILLING_WINDOW,
) -> dict:
    """The order snapshot: what the buyer saw and confirmed by paying.

    ``shipment`` is the quote request (the price in the buyer's currency), ``freight`` the
    estimate's answer; ``rate`` the signed rate record from the shipment's currency into the
    settlement currency (None when they are the same). The price and the target freight are
    converted each once, half-even, into the token's base units. Amounts are decimal strings.
    ``billing_window`` is the seconds from payment by which the seller bills the freight; past
    it the buyer may cancel."""
    if policy not in POLICIES:
        raise QuoteError(f"return policy {policy!r} is not one of {', '.join(POLICIES)}")
    if not MIN_WINDOW <= billing_window <= MAX_WINDOW:
        raise QuoteError(
            f"a billing window is {MIN_WINDOW} to {MAX_WINDOW} seconds (1 to 180 days), not {billing_window}"
        )
    currency = shipment["currency"].upper()
    shift = decimals - minor_exponent(currency)
    if rate is None:
        if currency != settlement_currency.upper():
            raise QuoteError(f"no rate from {currency} into {settlement_currency.upper()}")
        value, rate_part = "1", None
    else:
        doc = rate["document"]
        value = doc["rate"]
        rate_part = {
            "base": doc["base"],
            "quote": doc["quote"],
            "rate": value,
            "source": doc["source"],
            "at": doc["at"],
            "signature_hash": rate["signature_hash"],
        }
    price = convert(int(shipment["price_minor"]), value, shift)
    target = convert(int(freight["target_freight_minor"]), value, shift)
    if price <= 0:
        raise QuoteError("the price converts to nothing in the settlement token")
    if price + target >= 2**96:
        raise QuoteError("the amount to hold is beyond what the escrow holds per order")
    money = ("estimate_minor", "target_freight_minor", "hold_minor")
    return {
        "version": 1,
        "kind": "cross-border-order",
        "buyer": buyer.lower(),
        "seller": seller.lower(),
        "goods": goods,
        "shipment": dict(shipment, currency=currency, price_minor=str(shipment["price_minor"])),
        "quoted_at": quoted_at,
        "freight": {**{k: str(freight[k]) for k in money}, **{k: freight[k] for k in ("groups", "orders", "factor")}},
        "rate": rate_part,
        "settlement": {
            "currency": settlement_currency.upper(),
            "token": token.lower(),
            "decimals": decimals,
            "price": str(price),
            "target_freight": str(target),
            "hold": str(price + target),
        },
        "return_policy": policy,
        "billing_window": billing_window,
        "rate_valid_until": valid_until,
    }


def snapshot_hash(snapshot: dict) -> str:
    return "0x" + keccak(canonical_json(snapshot)).hex()


class CrossBorderQuote(Aggregate):
    """A quote the engine made: the order snapshot, keyed by its hash (the same snapshot is one quote)."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Recorded: ClassVar[type[Any]]

    @staticmethod
    def create_id(chain_id: int, snapshot_hash: str) -> UUID:
        return derive("cross-border-quote", chain_id, snapshot_hash)

    @event("Recorded")
    def __init__(self, chain_id: int, snapshot: dict, snapshot_hash: str):
        self.chain_id = chain_id
        self.snapshot = snapshot
        self.snapshot_hash = snapshot_hash

    def pay_args(self) -> tuple:
        """``pay``'s arguments (the buyer sends it)."""
        s = self.snapshot
        return (
            s["seller"],
            s["settlement"]["token"],
            int(s["settlement"]["price"]),
            int(s["settlement"]["target_freight"]),
            bytes.fromhex(self.snapshot_hash[2:]),
            POLICIES.index(s["return_policy"]),
            s.get("billing_window", DEFAULT_BILLING_WINDOW),
        )


def quote_problems(order: dict, snapshot: dict | None, also_paid_by: Sequence[int] = ()) -> list[str]:
    """Where a paid order differs from the quote its snapshot hash names (empty: it matches).
    ``also_paid_by`` are the buyer's other orders under the same snapshot hash: one quote pays
    one order, so each of them is a duplicate."""
    problems = (
        [f"the buyer paid this quote again as order {', '.join(map(str, also_paid_by))}: one quote, one order"]
        if also_paid_by
        else []
    )
    if snapshot is None:
        return problems + ["no quote of this system has the order's snapshot hash"]
    s = snapshot["settlement"]
    for field, want in (
        ("buyer", snapshot["buyer"]),
        ("seller", snapshot["seller"]),
        ("token", s["token"]),
        ("price", int(s["price"])),
        ("target_freight", int(s["target_freight"])),
        ("policy", snapshot["return_policy"]),
        ("billing_window", snapshot.get("billing_window", order.get("billing_window"))),
    ):
        if order.get(field) != want:
            problems.append(f"{field} {order.get(field)} differs from the quote's {want}")
    paid_at = (order.get("steps") or [{}])[0].get("timestamp")
    if paid_at is not None and paid_at > snapshot["rate_valid_until"]:
        problems.append(f"paid at {paid_at}, after the quote's rate expired at {snapshot['rate_valid_until']}")
    return problems


def top_up_notice(order: dict, chain_id: int, contract: str) -> tuple[str, str, dict]:
    """The notice telling the seller's store that a final bill asks its buyer for a top-up:
    (subject, one per final bill; the seller's address; the body)."""
    bill_tx = next(s["tx_hash"] for s in reversed(order["steps"]) if s["step"] == "FinalBill")
    subject = f"top-up of cross-border order {order['order_id']} ({bill_tx})"
    return (
        subject,
        order["seller"],
        {
            "notice": "top_up_requested",
            "chain_id": chain_id,
            "contract": contract,
            "order_id": order["order_id"],
            "buyer": order["buyer"],
            "seller": order["seller"],
            "token": order["token"],
            "amount": str(order["final_bill"]["top_up"]),
            "deadline": order["final_bill"]["until"],
            "final_bill_tx": bill_tx,
            "snapshot_hash": order["snapshot_hash"],
        },
    )


def completed_history_order(order_id: str, order: dict, snapshot: dict) -> dict | None:
    """A freight-history order (:data:`engine.cross_border.freight.CSV_COLUMNS`) of an order that ended with
    its freight billed, in the snapshot's currency: the actual freight is converted back at
    the snapshot's rate, half-even. None while the order has not ended so."""
    bill, ending = order.get("final_bill"), order.get("ending")
    if order.get("status") not in ENDED or not bill or not ending:
        return None
    shipment, s = snapshot["shipment"], snapshot["settlement"]
    rate = Decimal(snapshot["rate"]["rate"]) if snapshot.get("rate") else Decimal(1)
    shift = s["decimals"] - minor_exponent(shipment["currency"])
    freight = (Decimal(bill["freight"]) / (rate * Decimal(10) ** shift)).quantize(Decimal(1), ROUND_HALF_EVEN)
    ended_at = order["steps"][-1].get("timestamp")
    if ended_at is None:
        return None
    return {
        "order_id": order_id,
        **{k: str(shipment[k]) for k in ("origin", "destination", "length_cm", "width_cm", "height_cm", "weight_kg")},
        "price_minor": int(shipment["price_minor"]),
        "currency": shipment["currency"],
        "freight_minor": int(freight),
        "completed_at": datetime.fromtimestamp(ended_at, UTC).isoformat(),
    }


# -- what an order's ending says of its seller and its buyer (the reputation view's counters)

REPUTATION = {
    "order_settled": "a cross-border order was released to the seller: delivered and accepted",
    "order_returned": "the goods of a cross-border order went back: the buyer's return was accepted",
    "return_made": "the buyer returned the goods of a cross-border order (counted only)",
    "order_cancelled": "a cross-border order was cancelled (counted only)",
    "dispute_lapsed": "the arbiter let the arbitration window pass (counted only)",
    **DISPUTES,
}


def reputation_signals(state: dict) -> list[Signal]:
    """The counters a cross-border order adds to for its seller and its buyer, once it ended."""
    ending = state.get("ending")
    if ending is None or "seller" not in state:
        return []
    seller, buyer, at, how = state["seller"], state["buyer"], last_timestamp(state["steps"]), ending["how"]
    if how == "released":
        return [Signal(seller, "order_settled", True, at), Signal(buyer, "order_settled", True, at)]
    if how == "returned":
        return [Signal(seller, "order_returned", False, at), Signal(buyer, "return_made", None, at)]
    if how == "cancelled":
        return [Signal(seller, "order_cancelled", None, at), Signal(buyer, "order_cancelled", None, at)]
    if how == "arbitration_lapsed":
        return [Signal(seller, "dispute_lapsed", None, at), Signal(buyer, "dispute_lapsed", None, at)]
    return split_outcome(seller, buyer, ending["to_seller"], ending["to_buyer"], at)


# -- what an order records as its buyer's purchase


def purchase_records(key: str, state: dict) -> list[Purchase]:
    """A cross-border order (keyed by its id) as its buyer's: the goods at their price, paid
    with the freight held beside them."""
    if "buyer" not in state:
        return []
    paid = first_step(state["steps"], "OrderPaid")
    return [
        Purchase(
            buyer=state["buyer"],
            capability="cross_border",
            reference=key,
            seller=state["seller"],
            item=f"order {key}",
            quantity=1,
            unit_price=state["price"],
            amount=state["price"] + state["freight_held"],
            token=state["token"],
            status=state["status"],
            at=paid.get("timestamp"),
            tx_hash=paid.get("tx_hash"),
        )
    ]
