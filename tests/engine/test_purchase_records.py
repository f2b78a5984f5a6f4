"""Given a folded settlement, liquor purchase, campaign or cross-border order, when its domain
reads it, then the buyer's purchase record says what was bought, at what unit price, from whom,
when and in which transaction; a thing with no buyer yet records nothing."""

from __future__ import annotations

from engine import liquor
from engine.cross_border import orders as cross_border
from engine.group_buy import campaign as group_buy
from engine.purchases import Purchase
from engine.settlement import escrow
from projections.purchases import delivery_records

from .test_reputation_signals import BUYER, LENDER, STORE, T0, settlement

TOKEN = "0x" + "7" * 40


def test_a_settlement_is_its_payers_purchase_of_the_order_at_its_amount():
    [record] = escrow.purchase_records("0xs1", settlement())
    assert record == Purchase(
        buyer=BUYER, capability="settlement", reference="0xs1", seller=STORE, item="0x" + "00" * 32, quantity=1,
        unit_price=100, amount=100, token=TOKEN, status="paid", at=T0, tx_hash=f"0x{1:064x}",
    )  # fmt: skip
    assert escrow.purchase_records("0xs2", {"steps": []}) == []


def test_a_liquor_purchase_is_its_payers_cases_at_the_price_paid_less_what_was_refunded():
    state = {
        "plan_id": 3, "buyer": BUYER, "payer": LENDER, "quantity": 4, "amount": 400, "cancelled": 1, "refunded": 100,
        "paid_at": T0, "steps": [{"step": "Purchased", "tx_hash": "0xaa"}],
    }  # fmt: skip
    [record] = liquor.purchase_records("9", state)
    assert (record.buyer, record.item, record.quantity, record.unit_price, record.amount, record.status) == (
        LENDER,
        "plan 3",
        4,
        100,
        300,
        "partly cancelled",
    )
    assert record.tx_hash == "0xaa" and record.at == T0


def test_each_backer_of_a_campaign_bought_its_pledged_units_at_the_unit_price():
    state = {
        "enterprise": STORE, "scheme_hash": "0x5c", "token": TOKEN, "unit_price": 50, "succeeded": True,
        "cancelled": False,
        "backers": {BUYER: {"quantity": 2, "refunded": False}, LENDER: {"quantity": 1, "refunded": True}},
        "pledges": [
            {"backer": LENDER, "timestamp": T0, "tx_hash": "0x01"},
            {"backer": BUYER, "timestamp": T0 + 1, "tx_hash": "0x02"},
        ],
    }  # fmt: skip
    records = group_buy.purchase_records("7", state)
    assert [(r.buyer, r.quantity, r.amount, r.status, r.tx_hash) for r in records] == [
        (LENDER, 1, 50, "refunded", "0x01"),
        (BUYER, 2, 100, "produced", "0x02"),
    ]


def test_a_cross_border_order_is_the_goods_at_their_price_paid_with_the_freight_held():
    state = {
        "buyer": BUYER, "seller": STORE, "token": TOKEN, "price": 1000, "freight_held": 200, "status": "in_transit",
        "steps": [{"step": "OrderPaid", "timestamp": T0, "tx_hash": "0xbb"}],
    }  # fmt: skip
    [record] = cross_border.purchase_records("12", state)
    assert (record.item, record.unit_price, record.amount, record.at, record.tx_hash) == (
        "order 12",
        1000,
        1200,
        T0,
        "0xbb",
    )
    assert cross_border.purchase_records("13", {"status": None, "steps": []}) == []


def test_a_shipment_paid_after_delivery_is_one_record_per_line_once_signed():
    row = {
        "checkout_id": "c-1",
        "store_id": "brew",
        "status": "verified",
        "data": {
            "lines": [
                {"store_id": "brew", "sku": "tea", "quantity": 2, "unit_price": 125},
                {"store_id": "brew", "sku": "cake", "quantity": 1, "unit_price": 300},
            ],
            "mandate": {"token": TOKEN.upper().replace("0X", "0x")},
            "shipment": {"status": "collected", "collected_at": T0, "collected_tx": "0xcc"},
        },
    }
    records = delivery_records([row, {**row, "status": "awaiting_mandate", "data": {**row["data"], "shipment": None}}],
                               BUYER)  # fmt: skip
    assert [(r["item"], r["quantity"], r["amount"], r["status"], r["tx_hash"], r["token"]) for r in records] == [
        ("tea", 2, 250, "collected", "0xcc", TOKEN),
        ("cake", 1, 300, "collected", "0xcc", TOKEN),
    ]
