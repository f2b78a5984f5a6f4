"""Store orders: off-chain aggregates that settlements pay for.

A store creates an order; the engine fixes its snapshot (canonical JSON of everything
the buyer agrees to) and the snapshot's keccak-256 hash, which the buyer passes to
``C2CSettlement.open``. What happens next is decided by the settlements that name the
order, following the store-device steps of the payment method (S301-S305):

- paid only while a settlement's frozen amount, token, buyer and snapshot hash match the
  order (a mismatch is recorded and shown, never taken as payment);
- shipped when the store's shipment is on chain;
- completed only when the net amount paid to the store's address covers the amount due;
  a smaller payout shows as short-paid, none at all as refunded.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from .ids import derive

ORDER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MAX_AMOUNT = 2**96 - 1


def order_number_bytes32(order_number: str) -> str:
    """The on-chain form of an order number: its ASCII bytes, right-padded to 32."""
    raw = order_number.encode("ascii")
    return "0x" + raw.ljust(32, b"\0").hex()


def order_number_from_bytes32(value: str) -> str | None:
    raw = bytes.fromhex(value[2:]).rstrip(b"\0")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if ORDER_NUMBER.match(text) else None


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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


def _mismatches(order: dict, settlement: dict) -> list[str]:
    problems = []
    if settlement.get("token") != order["token"]:
        problems.append(f"token {settlement.get('token')} is not the order's {order['token']}")
    if settlement.get("amount") != order["amount"]:
        problems.append(f"frozen amount {settlement.get('amount')} differs from the order amount "
                        f"{order['amount']}")
    if settlement.get("snapshot_hash") != order["snapshot_hash"]:
        problems.append("snapshot hash does not match the order snapshot")
    if order.get("buyer") and settlement.get("buyer") != order["buyer"]:
        problems.append(f"buyer {settlement.get('buyer')} is not the order's buyer {order['buyer']}")
    return problems


def progress(order: dict, settlements: list[dict]) -> dict:
    """The store order's state from its terms and the settlements naming it (S301-S305).

    ``order`` has ``amount``, ``amount_due``, ``token``, ``buyer`` and ``snapshot_hash``;
    each settlement is a folded settlement state with its ``id``, in the order they
    were opened. Returns the fields of the store-order view that depend on the chain.
    """
    live = [s for s in settlements if s.get("status") not in (None, "unknown")]
    if not live:   # every key, so a retracted payment leaves nothing behind in the view
        return {"status": "awaiting_payment", "settlement_id": None, "settlement_status": None, "mismatch": [],
                "frozen_amount": None, "paid_to_store": 0, "refunded_to_payer": 0, "payment_record": None,
                "deadline": None, "buyer": None, "payer": None, "steps": [], "other_settlements": []}
    checked = [(s, _mismatches(order, s)) for s in live]
    primary, problems = next(((s, p) for s, p in checked if not p), checked[-1])
    paid_to_store = sum(s.get("to_store", 0) for s in live)
    refunded = sum(s.get("to_payer", 0) for s in live)
    state = primary["status"]
    if state == "paid":
        status = "paid" if not problems else "payment_mismatch"
    elif state in ("shipped", "disputed"):
        status = state
    elif paid_to_store >= order["amount_due"]:
        status = "released" if state == "released" else "completed"
    elif paid_to_store == 0:
        status = "refunded"
    else:
        status = "short_paid"
    return {
        "status": status,
        "settlement_id": primary["id"],
        "settlement_status": state,
        "mismatch": problems,
        "frozen_amount": primary.get("amount"),
        "paid_to_store": paid_to_store,
        "refunded_to_payer": refunded,
        "payment_record": primary.get("payment_record"),
        "deadline": primary.get("deadline"),
        "buyer": primary.get("buyer"),
        "payer": primary.get("payer"),
        "steps": primary.get("steps", []),
        "other_settlements": [s["id"] for s in live if s is not primary],
    }
