"""Given a mandate's logs, when they are folded, then its shipments, totals and alarms are as
the contract keeps them, and its outcome counts for or against the buyer and the store; a
retracted log is simply absent from the fold."""

from __future__ import annotations

from engine.delivery.mandate import fold_mandate, mandate_id, reputation_signals
from engine.signals import Signal

BUYER, STORE = "0x" + "b" * 40, "0x" + "5" * 40
T0 = 1_800_000_000
H = "0x" + "00" * 32


def log(name: str, args: dict, n: int) -> dict:
    coords = {"block_number": n, "block_hash": f"0x{n:064x}", "tx_hash": f"0x{n:064x}", "log_index": 0}
    return {"event": name, "args": args, "coords": coords | {"block_timestamp": T0 + n}}


REGISTERED = log(
    "MandateRegistered",
    {
        "buyer": BUYER,
        "store": STORE,
        "token": "0x" + "7" * 40,
        "maxAmount": 100,
        "orderHash": H,
        "validUntil": T0 + 10_000,
        "nonce": 1,
    },
    1,
)


def verified(index: int, amount: int, n: int) -> dict:
    args = {"index": index, "shipmentRef": H, "amount": amount, "waybillHash": H, "categoryHash": H}
    return log("ShipmentVerified", args, n)


def test_shipments_collected_and_defaulted_count_for_and_against_the_buyer():
    state = fold_mandate(
        [
            REGISTERED,
            verified(1, 60, 2),
            verified(2, 40, 3),
            log("Collected", {"index": 1, "store": STORE, "amount": 60, "credited": False}, 4),
            log("CollectionDefaulted", {"index": 2, "buyer": BUYER, "amount": 40}, 5),
        ]
    )
    assert (state["status"], state["verified"], state["collected"]) == ("active", 100, 60)
    assert [s["status"] for s in state["shipments"].values()] == ["collected", "defaulted"]
    assert reputation_signals(state) == [
        Signal(BUYER, "collection_paid", True, T0 + 4),
        Signal(BUYER, "collection_defaulted", False, T0 + 5),
    ]


def test_an_alarm_that_cancels_a_shipment_counts_against_the_store_and_frees_its_amount():
    state = fold_mandate(
        [
            REGISTERED,
            verified(1, 60, 2),
            log("AlarmRaised", {"index": 1, "reasonHash": H}, 3),
            log("AlarmCleared", {"index": 1, "proceed": False, "reasonHash": H}, 4),
        ]
    )
    assert state["shipments"][1]["status"] == "cancelled" and state["verified"] == 0 and state["open_alarms"] == 0
    assert reputation_signals(state) == [Signal(STORE, "verification_alarm", False, T0 + 4)]
    proceeded = fold_mandate(
        [
            REGISTERED,
            verified(1, 60, 2),
            log("AlarmRaised", {"index": 1, "reasonHash": H}, 3),
            log("AlarmCleared", {"index": 1, "proceed": True, "reasonHash": H}, 4),
        ]
    )
    assert proceeded["shipments"][1]["status"] == "verified"
    assert reputation_signals(proceeded) == [Signal(STORE, "alarm_cleared", None, T0 + 4)]


def test_an_alarm_on_the_mandate_cleared_without_proceeding_cancels_it():
    state = fold_mandate(
        [
            REGISTERED,
            log("AlarmRaised", {"index": 0, "reasonHash": H}, 2),
            log("AlarmCleared", {"index": 0, "proceed": False, "reasonHash": H}, 3),
        ]
    )
    assert state["status"] == "cancelled" and not state["alarmed"]
    assert reputation_signals(state) == [Signal(STORE, "verification_alarm", False, T0 + 3)]


def test_a_revoked_or_unseen_mandate_says_nothing_and_its_id_depends_on_every_field():
    assert reputation_signals(fold_mandate([log("MandateRevoked", {"buyer": BUYER}, 1)])) == []
    fields = {
        "buyer": BUYER,
        "store": STORE,
        "token": "0x" + "7" * 40,
        "maxAmount": 100,
        "orderHash": H,
        "validUntil": T0,
        "nonce": 1,
    }
    first = mandate_id(31337, "0x" + "c" * 40, fields)
    assert first == mandate_id(31337, "0x" + "c" * 40, dict(fields))
    assert first != mandate_id(31337, "0x" + "c" * 40, fields | {"nonce": 2})
    assert first != mandate_id(1, "0x" + "c" * 40, fields)  # another chain
    assert first != mandate_id(31337, "0x" + "d" * 40, fields)  # another contract
