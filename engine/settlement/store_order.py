"""Store orders: off-chain aggregates that settlements pay for, and the store-device rules.

A store creates an order; the engine fixes its snapshot (canonical JSON of everything
the buyer agrees to) and the snapshot's keccak-256 hash, which the buyer passes to
``C2CSettlement.open``. What happens next is decided by the settlements that name the
order, following the store-device steps of the payment method (S301-S305), in
:func:`follow`:

- paid only while a settlement's token, frozen amount, buyer (when the order names one),
  snapshot hash and time limit match the order's terms; a mismatch is shown with its
  reasons, never taken as payment;
- shipped when the store's shipment is on chain; claimed while the buyer's claim of a
  lower amount due waits for the store's answer; disputed while a dispute is open;
- completed only when the net amount paid to the store covers the amount due; released
  when that happened because the time limit passed; a smaller payout is short-paid,
  none at all refunded.

Anyone can open a settlement under an order's number, so an order may be named by
several; it follows the best current one (:func:`primary`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from engine.credits import credit_claimed
from engine.ids import canonical_json, derive
from engine.settlement.escrow import FINAL_STATUSES

ORDER_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
ORDER_NUMBER = re.compile(ORDER_NUMBER_PATTERN)

ORDER_STATUSES = (
    "awaiting_payment",
    "paid",
    "payment_mismatch",
    "shipped",
    "claimed",
    "disputed",
    "completed",
    "released",
    "short_paid",
    "refunded",
)


class OrderRefused(ValueError):
    """The order cannot be created on these terms (the reason says why)."""


def order_number_bytes32(order_number: str) -> str:
    """The on-chain form of an order number: its ASCII bytes, right-padded to 32."""
    raw = order_number.encode("ascii")
    return "0x" + raw.ljust(32, b"\0").hex()


def order_number_from_bytes32(value: str) -> str | None:
    """The order number a bytes32 spells, or None if it spells none."""
    raw = bytes.fromhex(value[2:]).rstrip(b"\0")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if ORDER_NUMBER.match(text) else None


def snapshot_of(terms: dict) -> tuple[dict, str]:
    """The order snapshot and its 0x-prefixed keccak-256 hash.

    Amounts are decimal strings so the snapshot reads the same in every language.
    """
    snapshot = {
        "version": 1,
        "chain_id": terms["chain_id"],
        "settlement_contract": terms["settlement_contract"],
        "store_id": terms["store_id"],
        "store_address": terms["store_address"],
        "order_number": terms["order_number"],
        "token": terms["token"],
        "amount": str(terms["amount"]),
        "buyer": terms.get("buyer"),
        "time_limit": terms.get("time_limit"),
        "items": [dict(item, unit_price=str(item["unit_price"])) for item in terms.get("items", [])],
    }
    return snapshot, "0x" + keccak(canonical_json(snapshot)).hex()


class StoreOrder(Aggregate):
    """An order a store has published for payment through a settlement."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Created: ClassVar[type[Any]]

    @staticmethod
    def create_id(store_id: str, order_number: str) -> UUID:
        return derive("store-order", store_id, order_number)

    @event("Created")
    def __init__(self, store_id: str, order_number: str, snapshot: dict, snapshot_hash: str):
        self.store_id = store_id
        self.order_number = order_number
        self.snapshot = snapshot
        self.snapshot_hash = snapshot_hash

    @property
    def amount(self) -> int:
        return int(self.snapshot["amount"])

    @property
    def terms(self) -> OrderTerms:
        return OrderTerms.of(self.snapshot, self.snapshot_hash)


@dataclass(frozen=True)
class OrderTerms:
    """What a settlement must match to pay an order."""

    amount_due: int
    token: str
    snapshot_hash: str
    buyer: str | None = None  # only this buyer's settlement pays, when set
    time_limit: int | None = None  # seconds from payment to release, when set

    @classmethod
    def of(cls, snapshot: dict, snapshot_hash: str) -> OrderTerms:
        return cls(
            amount_due=int(snapshot["amount"]),
            token=snapshot["token"],
            snapshot_hash=snapshot_hash,
            buyer=snapshot.get("buyer"),
            time_limit=snapshot.get("time_limit"),
        )


def open_time_limit(terms: OrderTerms | None, snapshot_hash: str) -> int:
    """The time limit a payment opens with when the payer names none: the order's own, when
    the payment is for the order's snapshot, so that it matches the order's terms; else 0
    (the contract's default)."""
    if terms is None or terms.snapshot_hash.lower() != snapshot_hash.lower():
        return 0
    return int(terms.time_limit or 0)


def decide_terms(
    amount: int,
    token: str,
    time_limit: int | None,
    *,
    token_allowed: bool,
    default_time_limit: int,
    min_time_limit: int,
    max_time_limit: int,
) -> int:
    """Checks an order's terms against the settlement contract's rules before it is created;
    returns the order's time limit (the contract's default when the store names none)."""
    if not token_allowed:
        raise OrderRefused(f"token {token} is not allowed by the settlement contract")
    if amount <= 0:
        raise OrderRefused("amount must be positive")
    if time_limit is None:
        return default_time_limit
    if not min_time_limit <= time_limit <= max_time_limit:
        raise OrderRefused(
            f"time_limit {time_limit} is outside the contract's range {min_time_limit}..{max_time_limit} seconds"
        )
    return time_limit


def mismatches(terms: OrderTerms, settlement: dict) -> list[str]:
    """Why a settlement (a folded state) does not pay the order; empty when it does."""
    problems = []
    if settlement.get("token") != terms.token:
        problems.append(f"token {settlement.get('token')} is not the order's {terms.token}")
    if settlement.get("amount") != terms.amount_due:
        problems.append(f"frozen amount {settlement.get('amount')} differs from the order amount {terms.amount_due}")
    if settlement.get("snapshot_hash") != terms.snapshot_hash:
        problems.append("snapshot hash does not match the order snapshot")
    if terms.buyer and settlement.get("buyer") != terms.buyer:
        problems.append(f"buyer {settlement.get('buyer')} is not the order's buyer {terms.buyer}")
    if terms.time_limit is not None and settlement.get("deadline") is not None:
        limit = settlement["deadline"] - settlement["paid_at"]
        if limit != terms.time_limit:
            problems.append(f"time limit {limit}s is not the order's {terms.time_limit}s")
    return problems


def _closed_unpaid(settlement: dict) -> bool:
    """Ended without paying the store anything (rejected, or refunded in full)."""
    return settlement["status"] in FINAL_STATUSES and not settlement.get("to_store")


def primary(terms: OrderTerms, settlements: list[dict]) -> tuple[dict, list[str]] | None:
    """The settlement the order follows, with its mismatches; None while none is live.

    ``settlements`` are folded states in the order they were opened. A matching
    settlement beats a mismatched one, and a live one (holding funds, or having paid the
    store) beats one that ended paying the store nothing: so a rejected or refunded
    settlement never hides a later valid payment, and another account's settlement
    never pays an order that names its buyer. Among equals the earliest opened wins.
    """
    best = None
    for index, s in enumerate(settlements):
        if s.get("status") in (None, "unknown"):
            continue
        problems = mismatches(terms, s)
        rank = (2 if _closed_unpaid(s) else 0) + (1 if problems else 0)
        if best is None or (rank, index) < best[0]:
            best = ((rank, index), s, problems)
    return None if best is None else (best[1], best[2])


AWAITING: dict[str, Any] = {
    "status": "awaiting_payment",
    "settlement_id": None,
    "settlement_status": None,
    "mismatch": [],
    "frozen_amount": None,
    "paid_to_store": 0,
    "refunded_to_payer": 0,
    "payment_record": None,
    "deadline": None,
    "buyer": None,
    "payer": None,
    "claim": None,
    "dispute": None,
    "ending": None,
    "credited": [],
    "steps": [],
    "other_settlements": [],
}


def status_of(terms: OrderTerms, settlement: dict, problems: list[str]) -> str:
    """The order's status while it follows ``settlement`` (S301-S305). A settlement that
    does not match the order's terms never pays it, whatever it did since."""
    state = settlement["status"]
    if _closed_unpaid(settlement):
        return "refunded"
    if problems:
        return "payment_mismatch"
    if state in ("paid", "shipped", "claimed", "disputed"):
        return state
    if settlement.get("to_store", 0) >= terms.amount_due:
        return "released" if state == "released" else "completed"
    return "short_paid"


def follow(
    terms: OrderTerms, settlements: list[dict], claims: dict[tuple[str, str], tuple[int, int]] | None = None
) -> dict:
    """The store order's chain-dependent fields, from its terms and the settlements naming
    it (folded states with their ``id``, in the order they were opened). Every key is
    always present, so a retracted payment leaves nothing behind in a view. ``claims``
    gives each ``(recipient, token)``'s latest claim of its credit in the settlement
    contract (its block and log index): a credit before it shows as claimed, no longer owed."""
    chosen = primary(terms, settlements)
    if chosen is None:
        return dict(AWAITING, mismatch=[], credited=[], steps=[], other_settlements=[])
    settlement, problems = chosen
    return {
        "status": status_of(terms, settlement, problems),
        "settlement_id": settlement["id"],
        "settlement_status": settlement["status"],
        "mismatch": problems,
        "frozen_amount": settlement.get("amount"),
        "paid_to_store": settlement.get("to_store", 0),
        "refunded_to_payer": settlement.get("to_payer", 0),
        "payment_record": settlement.get("payment_record"),
        "deadline": settlement.get("deadline"),
        "buyer": settlement.get("buyer"),
        "payer": settlement.get("payer"),
        "claim": settlement.get("claim"),
        "dispute": settlement.get("dispute"),
        "ending": settlement.get("ending"),
        "credited": [
            dict(c, claimed=credit_claimed(c, (claims or {}).get((c["recipient"], c["token"]))))
            for c in settlement.get("credited", [])
        ],
        "steps": settlement.get("steps", []),
        "other_settlements": [
            s["id"] for s in settlements if s is not settlement and s.get("status") not in (None, "unknown")
        ],
    }


# Logs that can change whether a settlement matches the order's terms.
TERMS_EVENTS = frozenset({"SettlementOpened", "SettlementUpdated"})


def history_entry(
    settlement_id: str,
    log: dict,
    *,
    retracted: bool = False,
    terms: OrderTerms | None = None,
    settlement: dict | None = None,
) -> dict:
    """One step of an order's history: a settlement's log with its chain coordinates, or
    its retraction after a reorganisation. A log that sets the settlement's terms says
    whether they match the order's (given the settlement's state after it)."""
    coords = log["coords"]
    entry = {
        "step": log["event"],
        "settlement_id": settlement_id,
        "block_number": coords["block_number"],
        "block_hash": coords["block_hash"],
        "tx_hash": coords["tx_hash"],
        "log_index": coords["log_index"],
    }
    if retracted:
        entry["retracted"] = True
    elif terms is not None and settlement is not None and log["event"] in TERMS_EVENTS:
        entry["mismatch"] = mismatches(terms, settlement)
    return entry
