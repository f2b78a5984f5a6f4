"""Given an ended settlement, case loan, campaign or cross-border order, when its domain reads
the outcome, then each party gets the counters the outcome says, for, against or counted
only; nothing is said before the end."""

from __future__ import annotations

from engine import liquor
from engine.accounts.feedback import feedback_signal
from engine.cross_border import orders as cross_border
from engine.group_buy import campaign as group_buy
from engine.settlement import escrow
from engine.signals import Signal

STORE, BUYER, LENDER = "0x" + "5" * 40, "0x" + "b" * 40, "0x" + "1" * 40
T0 = 1_800_000_000


def log(name: str, args: dict, at: int, n: int) -> dict:
    coords = {"block_number": n, "block_hash": f"0x{n:064x}", "tx_hash": f"0x{n:064x}", "log_index": 0}
    return {"event": name, "args": args, "coords": coords | {"block_timestamp": at}}


OPENED = {
    "store": STORE,
    "orderNumber": "0x" + "00" * 32,
    "buyer": BUYER,
    "payer": BUYER,
    "token": "0x" + "7" * 40,
    "amount": 100,
    "snapshotHash": "0x" + "00" * 32,
    "paidAt": T0,
    "deadline": T0 + 1000,
}


def settlement(*steps: tuple[str, dict, int]) -> dict:
    logs = [log("SettlementOpened", OPENED, T0, 1)]
    logs += [log(name, args, at, n) for n, (name, args, at) in enumerate(steps, start=2)]
    return escrow.fold(logs)


def completed(ending: int, to_store: int, to_payer: int) -> dict:
    return {"paymentRecord": 1, "toStore": to_store, "toPayer": to_payer, "ending": ending}


def test_a_confirmed_settlement_shipped_in_time_counts_for_both_and_an_open_one_says_nothing():
    assert escrow.reputation_signals(settlement()) == []
    state = settlement(
        ("SettlementShipped", {"waybillHash": "0x" + "00" * 32}, T0 + 500),
        ("SettlementCompleted", completed(0, 100, 0), T0 + 900),
    )
    assert escrow.reputation_signals(state) == [
        Signal(STORE, "shipped_on_time", True, T0 + 500),
        Signal(STORE, "settlement_completed", True, T0 + 900),
        Signal(BUYER, "settlement_completed", True, T0 + 900),
    ]


def test_shipping_late_a_refund_for_an_unshipped_order_and_an_upheld_claim_count_against_the_store():
    late = settlement(
        ("SettlementShipped", {"waybillHash": "0x" + "00" * 32}, T0 + 1500),
        ("SettlementReleased", {"paymentRecord": 1, "toStore": 100}, T0 + 9000),
    )
    assert escrow.reputation_signals(late) == [
        Signal(STORE, "shipped_late", False, T0 + 1500),
        Signal(STORE, "settlement_completed", True, T0 + 9000),
        Signal(BUYER, "settlement_unconfirmed", None, T0 + 9000),
    ]
    refunded = settlement(("SettlementRejected", {"paymentRecord": 1, "toPayer": 100}, T0 + 1200))
    assert escrow.reputation_signals(refunded) == [
        Signal(STORE, "refunded_unshipped", False, T0 + 1200),
        Signal(BUYER, "refund_received", None, T0 + 1200),
    ]
    claimed = settlement(("SettlementCompleted", completed(1, 60, 40), T0 + 700))
    assert escrow.reputation_signals(claimed) == [
        Signal(STORE, "claim_upheld", False, T0 + 700),
        Signal(BUYER, "claim_made", None, T0 + 700),
    ]


def test_a_dispute_is_won_by_whoever_gets_all_the_money_and_a_split_counts_for_neither():
    def resolved(to_store: int, to_payer: int, ending: int = 4) -> list[Signal]:
        return escrow.reputation_signals(
            settlement(("DisputeResolved", completed(ending, to_store, to_payer), T0 + 5000))
        )

    assert resolved(100, 0) == [
        Signal(STORE, "dispute_won", True, T0 + 5000),
        Signal(BUYER, "dispute_lost", False, T0 + 5000),
    ]
    assert resolved(0, 100) == [
        Signal(STORE, "dispute_lost", False, T0 + 5000),
        Signal(BUYER, "dispute_won", True, T0 + 5000),
    ]
    assert {s.positive for s in resolved(50, 50)} == {None}
    assert {(s.name, s.positive) for s in resolved(100, 0, ending=5)} == {("dispute_lapsed", None)}


def test_a_loan_repaid_counts_for_the_holder_and_a_seized_one_against():
    state = {
        "loans": [
            {"holder": BUYER, "lender": LENDER, "status": "repaid", "ended": {"timestamp": T0 + 10}},
            {"holder": BUYER, "lender": LENDER, "status": "seized", "ended": {"timestamp": T0 + 20}},
            {"holder": BUYER, "lender": LENDER, "status": "active"},
        ]
    }
    assert liquor.reputation_signals(state) == [
        Signal(BUYER, "loan_repaid", True, T0 + 10),
        Signal(BUYER, "loan_seized", False, T0 + 20),
    ]


def test_a_campaign_in_production_honours_every_pledge_and_a_cancelled_one_counts_against_the_enterprise():
    backers = {BUYER: {"quantity": 2}, LENDER: {"quantity": 1}}
    produced = {"enterprise": STORE, "succeeded": True, "triggered": {"timestamp": T0}, "backers": backers}
    assert group_buy.reputation_signals(produced) == [
        Signal(STORE, "campaign_produced", True, T0),
        Signal(BUYER, "pledge_honoured", True, T0),
        Signal(LENDER, "pledge_honoured", True, T0),
    ]
    cancelled = {"enterprise": STORE, "cancelled": True, "backers": backers, "steps": [{"timestamp": T0 + 5}]}
    assert group_buy.reputation_signals(cancelled) == [Signal(STORE, "campaign_cancelled", False, T0 + 5)]
    nobody = {"enterprise": STORE, "cancelled": True, "backers": {}, "steps": []}
    assert group_buy.reputation_signals(nobody) == []


def test_a_cross_border_order_released_counts_for_both_and_a_return_against_the_seller():
    def ended(how: str, to_seller: int, to_buyer: int) -> list[Signal]:
        state = {"seller": STORE, "buyer": BUYER, "steps": [{"timestamp": T0}]}
        return cross_border.reputation_signals(
            state | {"ending": {"how": how, "to_seller": to_seller, "to_buyer": to_buyer}}
        )

    assert ended("released", 100, 0) == [
        Signal(STORE, "order_settled", True, T0),
        Signal(BUYER, "order_settled", True, T0),
    ]
    assert ended("returned", 10, 90)[0] == Signal(STORE, "order_returned", False, T0)
    assert ended("arbitrated", 0, 100) == [
        Signal(STORE, "dispute_lost", False, T0),
        Signal(BUYER, "dispute_won", True, T0),
    ]
    assert {s.positive for s in ended("cancelled", 0, 100)} == {None}
    assert cross_border.reputation_signals({"seller": STORE, "buyer": BUYER, "steps": []}) == []


def test_feedback_counts_for_or_against_the_store():
    assert feedback_signal(STORE, "positive", T0) == Signal(STORE, "feedback", True, T0)
    assert feedback_signal(STORE, "negative", T0) == Signal(STORE, "feedback", False, T0)
