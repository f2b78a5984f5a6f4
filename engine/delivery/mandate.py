"""Mandates to pay after verified delivery as the chain tells them: the engine side of
``contracts/OfflinePayment.sol``.

A mandate is what the buyer signs at checkout (EIP-712, no transaction): buyer, store, token,
the most it may collect, the order's hash, valid-until and a nonce. Its id is the typed data's
digest under the contract's domain, so the engine knows it before anything is on chain
(:func:`mandate_id`, the same as the contract's ``mandateId``). Its logs fold into one
aggregate per mandate: registered at the first verification, shipments verified (numbered 1,
2 ... by the contract, each with the engine's reference), collected or defaulted, alarms
raised and cleared, revoked.
"""

from __future__ import annotations

from typing import Any

from engine.chain.source import ChainAggregate, ChainSource, step_of
from engine.chain.typed_data import digest
from engine.signals import Signal, last_timestamp

CONTRACT = "OfflinePayment"
DOMAIN_NAME, DOMAIN_VERSION = "OfflinePayment", "1"
FIELDS = (
    ("buyer", "address"),
    ("store", "address"),
    ("token", "address"),
    ("maxAmount", "uint256"),
    ("orderHash", "bytes32"),
    ("validUntil", "uint256"),
    ("nonce", "uint256"),
)
MANDATE_EVENTS = frozenset(
    {
        "MandateRegistered",
        "MandateRevoked",
        "ShipmentVerified",
        "Collected",
        "CollectionDefaulted",
        "AlarmRaised",
        "AlarmCleared",
    }
)


def typed_data(chain_id: int, contract: str, mandate: dict) -> dict:
    """The EIP-712 typed data a buyer's wallet signs (``mandate`` keyed by the contract's field names)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Mandate": [{"name": n, "type": t} for n, t in FIELDS],
        },
        "primaryType": "Mandate",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": contract},
        "message": {n: mandate[n] for n, _ in FIELDS},
    }


def _word(value: Any, kind: str) -> Any:
    if kind == "bytes32":
        return bytes.fromhex(value[2:]) if isinstance(value, str) else value
    return int(value) if kind == "uint256" else value


def mandate_id(chain_id: int, contract: str, mandate: dict) -> str:
    """The mandate's id: its EIP-712 digest (what the contract's ``mandateId`` answers)."""
    return digest(typed_data(chain_id, contract, mandate))


def as_tuple(mandate: dict) -> tuple:
    """The mandate as the contract's ``Mandate`` struct argument."""
    return tuple(_word(mandate[n], t) for n, t in FIELDS)


def fold_mandate(logs: list[dict]) -> dict:
    """A mandate's state from its canonical logs, oldest first."""
    state: dict[str, Any] = {
        "status": "unseen",
        "verified": 0,
        "collected": 0,
        "shipments": {},
        "alarmed": False,
        "alarm_reason": None,
        "open_alarms": 0,
        "steps": [],
    }
    for log in logs:
        name, a, coords = log["event"], log["args"], log["coords"]
        step = step_of(log)
        shipments = state["shipments"]
        index = a.get("index")
        if name == "MandateRegistered":
            state.update(
                status="active",
                buyer=a["buyer"],
                store=a["store"],
                token=a["token"],
                max_amount=a["maxAmount"],
                order_hash=a["orderHash"],
                valid_until=a["validUntil"],
                nonce=a["nonce"],
            )
        elif name == "MandateRevoked":
            state.update(status="revoked", buyer=a["buyer"])
        elif name == "ShipmentVerified":
            shipments[index] = {
                "index": index,
                "ref": a["shipmentRef"],
                "amount": a["amount"],
                "waybill_hash": a["waybillHash"],
                "category_hash": a["categoryHash"],
                "status": "verified",
                "alarmed": False,
                "verified_at": coords.get("block_timestamp"),
                "verified_tx": coords["tx_hash"],
            }
            state["verified"] += a["amount"]
            step.update(index=index, amount=a["amount"])
        elif name == "Collected":
            shipments[index].update(
                status="collected",
                credited=a["credited"],
                collected_at=coords.get("block_timestamp"),
                collected_tx=coords["tx_hash"],
            )
            state["collected"] += a["amount"]
            step.update(index=index, amount=a["amount"], credited=a["credited"])
        elif name == "CollectionDefaulted":
            shipments[index].update(
                status="defaulted", defaulted_at=coords.get("block_timestamp"), defaulted_tx=coords["tx_hash"]
            )
            step.update(index=index, amount=a["amount"])
        elif name == "AlarmRaised":
            state["open_alarms"] += 1
            if index == 0:
                state["alarmed"] = True
                state["alarm_reason"] = a["reasonHash"]
            else:
                shipments[index]["alarmed"] = True
            step.update(index=index, reason_hash=a["reasonHash"])
        elif name == "AlarmCleared":
            state["open_alarms"] -= 1
            if index == 0:
                state["alarmed"] = False
                state["alarm_reason"] = None
                if not a["proceed"]:
                    state["status"] = "cancelled"
            else:
                shipments[index]["alarmed"] = False
                if not a["proceed"]:
                    shipments[index]["status"] = "cancelled"
                    state["verified"] -= shipments[index]["amount"]
            step.update(index=index, proceed=a["proceed"], reason_hash=a["reasonHash"])
        state["steps"].append(step)
    return state


class PaymentMandate(ChainAggregate):
    """One mandate of ``OfflinePayment``, keyed by its id."""

    kind = "payment-mandate"
    fold = staticmethod(fold_mandate)


SOURCES = (
    ChainSource(contract=CONTRACT, aggregate=PaymentMandate, events=MANDATE_EVENTS, key="mandateId", opens=None),
)


# -- what a mandate's shipments say of the buyer and the store (the reputation view's counters)

REPUTATION = {
    "collection_paid": "a shipment paid after verified delivery was collected from the buyer",
    "collection_defaulted": "a collection failed: the buyer's allowance or balance no longer covered it",
    "verification_alarm": "an alarm on the store's shipment was cleared by cancelling it (wrong goods, "
    "a wrong waybill or category)",
    "alarm_cleared": "an alarm on the store's shipment was cleared and the payment went ahead (counted only)",
}


def reputation_signals(state: dict) -> list[Signal]:
    """The counters a mandate's shipments add to: collections for or against the buyer, and
    alarms that cancelled a shipment against the store."""
    if "buyer" not in state or "store" not in state:
        return []
    out = []
    buyer, store = state["buyer"], state["store"]
    for shipment in state["shipments"].values():
        if shipment["status"] == "collected":
            out.append(Signal(buyer, "collection_paid", True, shipment.get("collected_at")))
        elif shipment["status"] == "defaulted":
            out.append(Signal(buyer, "collection_defaulted", False, shipment.get("defaulted_at")))
    for step in state["steps"]:
        if step["step"] == "AlarmCleared" and step["index"] != 0:
            cancelled = not step["proceed"]
            name = "verification_alarm" if cancelled else "alarm_cleared"
            out.append(Signal(store, name, False if cancelled else None, step.get("timestamp")))
    if state["status"] == "cancelled":
        out.append(Signal(store, "verification_alarm", False, last_timestamp(state["steps"])))
    return out
