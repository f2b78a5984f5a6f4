"""Cross-border orders as the chain tells them, and signed exchange rates, as stories."""

from __future__ import annotations

import pytest
from eth_account import Account

from engine.cross_border.orders import (
    QuoteError,
    RateError,
    completed_history_order,
    convert,
    fold_order,
    order_snapshot,
    quote_problems,
    rate_document,
    rate_signer,
    sign_rate,
    signature_hash,
    snapshot_hash,
    top_up_notice,
)

BUYER, SELLER, CARRIER = "0x" + "b1" * 20, "0x" + "5e" * 20, "0x" + "ca" * 20


def log(name: str, tx: int, **args) -> dict:
    return {
        "event": name,
        "args": args,
        "coords": {
            "block_number": tx,
            "block_hash": "0x" + f"{tx:064x}",
            "tx_hash": "0x" + f"{tx:064x}",
            "log_index": 0,
            "block_timestamp": 1_000 + tx,
        },
    }


WINDOW = 30 * 86_400  # the default billing window
PAID = log(
    "OrderPaid",
    1,
    buyer=BUYER,
    seller=SELLER,
    token="0x" + "70" * 20,
    price=100_000,
    freightHeld=30_000,
    snapshotHash="0x5a",
    policy=1,
    billBy=1_001 + WINDOW,
)


def leg(tx: int, amount: int, total: int) -> dict:
    return log("LegPaid", tx, carrier=CARRIER, amount=amount, waybillHash="0xb1", freightPaid=total)


def test_legs_and_a_refunding_final_bill():
    state = fold_order(
        [
            PAID,
            leg(2, 12_000, 12_000),
            log("FinalBill", 3, freight=20_000, refunded=10_000, topUp=0, releaseAt=9_999),
            leg(3, 8_000, 20_000),
        ]
    )
    assert (state["status"], state["freight_paid"], state["refunded_freight"]) == ("billed", 20_000, 10_000)
    assert [lg["amount"] for lg in state["legs"]] == [12_000, 8_000]
    assert state["policy"] == "buyer_pays_return"


def test_a_top_up_then_a_return_accepted():
    state = fold_order([PAID, log("FinalBill", 2, freight=34_000, refunded=0, topUp=4_000, releaseAt=9_000)])
    assert (state["status"], state["final_bill"]["top_up"]) == ("top_up_requested", 4_000)
    state = fold_order(
        [
            PAID,
            log("FinalBill", 2, freight=34_000, refunded=0, topUp=4_000, releaseAt=9_000),
            log("ToppedUp", 3, amount=4_000, releaseAt=20_000),
            leg(3, 34_000, 34_000),
            log("ReturnRequested", 4, reasonHash="0x01", respondBy=30_000),
            log("Returned", 5, toBuyer=94_000, toSeller=6_000),
        ]
    )
    assert (state["status"], state["freight_held"], state["ending"]) == (
        "returned",
        34_000,
        {"to_seller": 6_000, "to_buyer": 94_000, "how": "returned"},
    )


def test_a_dispute_and_its_ending():
    state = fold_order(
        [
            PAID,
            log("FinalBill", 2, freight=40_000, refunded=0, topUp=10_000, releaseAt=9_000),
            log("Escalated", 3, arbiter="0x" + "a0" * 20, lapseToSeller=130_000, decideBy=50_000),
            log("Released", 4, toSeller=130_000, toBuyer=0, ending=2),
        ]
    )
    assert state["status"] == "settled" and state["ending"]["how"] == "arbitration_lapsed"
    assert state["dispute"]["lapse_to_seller"] == 130_000 and state["dispute"]["raised_from"] == "top_up_requested"


def test_an_unbilled_order_is_cancelled_by_its_buyer_after_the_billing_deadline():
    # Given an order paid at 1,001 with a billing window of 30 days, one leg paid, never billed
    state = fold_order([PAID, leg(2, 12_000, 12_000)])
    assert (state["status"], state["bill_by"], state["billing_window"]) == ("in_transit", 1_001 + WINDOW, WINDOW)
    assert fold_order([PAID])["status"] == "paid"
    # When the buyer cancels after the deadline, Then the order ends cancelled with the hold less the leg back
    state = fold_order([PAID, leg(2, 12_000, 12_000), log("Released", 3, toSeller=0, toBuyer=118_000, ending=3)])
    assert state["status"] == "cancelled" and state["ending"] == {
        "to_seller": 0,
        "to_buyer": 118_000,
        "how": "cancelled",
    }


def test_a_refused_return_waits_for_the_buyers_contest_then_the_arbiter():
    billed = [
        PAID,
        log("FinalBill", 2, freight=30_000, refunded=0, topUp=0, releaseAt=9_000),
        log("ReturnRequested", 3, reasonHash="0x01", respondBy=10_000),
    ]
    refused = fold_order(billed + [log("ReturnRefused", 4, reasonHash="0x02", contestBy=12_000)])
    assert refused["status"] == "return_refused"
    assert refused["return"]["answer"] == {"accepted": False, "reason_hash": "0x02", "contest_by": 12_000}
    contested = fold_order(
        billed
        + [
            log("ReturnRefused", 4, reasonHash="0x02", contestBy=12_000),
            log("Escalated", 5, arbiter="0x" + "a0" * 20, lapseToSeller=50_000, decideBy=60_000),
        ]
    )
    assert (contested["status"], contested["dispute"]["raised_from"]) == ("disputed", "return_refused")


def test_a_rate_is_signed_by_the_operator_and_converts_half_even_once():
    operator, other = Account.create(), Account.create()
    doc = rate_document("USD", "EUR", "0.92500", "ECB reference", "2026-06-30T14:15:00Z")
    assert doc["rate"] == "0.925" and doc["at"] == "2026-06-30T14:15:00+00:00"
    signature = sign_rate(doc, operator)
    assert rate_signer(doc, signature) == operator.address.lower()
    assert rate_signer(dict(doc, rate="0.93"), signature) != operator.address.lower()
    assert rate_signer(doc, sign_rate(doc, other)) != operator.address.lower()
    assert signature_hash(signature).startswith("0x") and len(signature_hash(signature)) == 66
    assert convert(1_001, "0.5") == 500  # 500.5 -> the even 500
    assert convert(1_003, "0.5") == 502  # 501.5 -> the even 502
    assert convert(135_410, "0.925") == 125_254  # 125,254.25


@pytest.mark.parametrize(
    "args, reason",
    [
        (("USD", "EUR", "-1", "x", "2026-06-30T00:00:00Z"), "positive"),
        (("USD", "EUR", "abc", "x", "2026-06-30T00:00:00Z"), "not a decimal"),
        (("USDT", "EUR", "1", "x", "2026-06-30T00:00:00Z"), "three-letter"),
        (("USD", "EUR", "1", "x", "yesterday"), "ISO-8601"),
    ],
)
def test_bad_rates_are_refused(args, reason):
    with pytest.raises(RateError, match=reason):
        rate_document(*args)


# -- quotes: the order snapshot, and what a paid order is checked against

SHIPMENT = {
    "origin": "CN-SZX",
    "destination": "JP-TYO",
    "length_cm": "50",
    "width_cm": "40",
    "height_cm": "30",
    "weight_kg": "10",
    "price_minor": 100_000,
    "currency": "eur",
}
FREIGHT = {
    "estimate_minor": 20_000,
    "target_freight_minor": 30_001,
    "hold_minor": 130_001,
    "groups": [1, 0, 0],
    "orders": {"S": ["h1"], "C": [], "F": []},
    "factor": "1.5",
}
RATE = {
    "document": {"base": "EUR", "quote": "JPY", "rate": "161.25", "source": "ECB", "at": "2026-06-30T00:00:00+00:00"},
    "signature_hash": "0x" + "ab" * 32,
}


def snapshot(**changes):
    args = {
        "buyer": BUYER.upper().replace("0X", "0x"),
        "seller": SELLER,
        "goods": "plates",
        "shipment": SHIPMENT,
        "quoted_at": "2026-06-30T00:00:00+00:00",
        "freight": FREIGHT,
        "rate": RATE,
        "token": "0x" + "70" * 20,
        "decimals": 0,
        "settlement_currency": "jpy",
        "policy": "buyer_pays_return",
        "valid_until": 1_500,
    }
    return order_snapshot(**dict(args, **changes))


def test_a_snapshot_converts_price_and_target_freight_once_each_into_the_tokens_units():
    s = snapshot()
    # A token with 0 decimals standing for JPY (exponent 0) from EUR cents (exponent 2): x 161.25 / 100.
    # price 100,000 x 1.6125 = 161,250; freight 30,001 x 1.6125 = 48,376.6125 -> 48,377
    assert s["settlement"] == {
        "currency": "JPY",
        "token": "0x" + "70" * 20,
        "decimals": 0,
        "price": "161250",
        "target_freight": "48377",
        "hold": "209627",
    }
    assert (
        s["buyer"] == BUYER
        and s["shipment"]["currency"] == "EUR"
        and s["rate"]["signature_hash"] == RATE["signature_hash"]
    )
    # Six decimals (a dollar stablecoin) from cents: x rate x 10^4, exact.
    usd = snapshot(
        rate=dict(RATE, document=dict(RATE["document"], quote="USD", rate="1.08")),
        decimals=6,
        settlement_currency="USD",
    )
    assert (usd["settlement"]["price"], usd["settlement"]["target_freight"]) == ("1080000000", "324010800")
    assert snapshot_hash(s) == snapshot_hash(snapshot()) != snapshot_hash(snapshot(goods="cups"))
    with pytest.raises(QuoteError, match="no rate"):
        snapshot(rate=None)
    assert snapshot(rate=None, settlement_currency="EUR", decimals=2)["settlement"]["price"] == "100000"
    with pytest.raises(QuoteError, match="return policy"):
        snapshot(policy="nobody_pays")
    assert snapshot()["billing_window"] == 30 * 86_400 and snapshot(billing_window=86_400)["billing_window"] == 86_400
    for window in (86_399, 180 * 86_400 + 1):
        with pytest.raises(QuoteError, match="billing window"):
            snapshot(billing_window=window)


def test_a_paid_order_is_checked_against_its_quote():
    s = snapshot()
    paid = log(
        "OrderPaid",
        1,
        buyer=BUYER,
        seller=SELLER,
        token="0x" + "70" * 20,
        price=161_250,
        freightHeld=48_377,
        snapshotHash="0x5a",
        policy=1,
        billBy=1_001 + WINDOW,
    )
    assert quote_problems(fold_order([paid]), s) == []  # paid at 1,001, the rate held until 1,500
    assert quote_problems(fold_order([paid]), s, [8]) == [
        "the buyer paid this quote again as order 8: one quote, one order"
    ]
    hurried = dict(paid, args=dict(paid["args"], billBy=1_001 + 86_400))
    assert quote_problems(fold_order([hurried]), s) == [f"billing_window 86400 differs from the quote's {WINDOW}"]
    late = dict(
        paid, coords=dict(paid["coords"], block_timestamp=1_501), args=dict(paid["args"], billBy=1_501 + WINDOW)
    )
    assert quote_problems(fold_order([late]), s) == ["paid at 1501, after the quote's rate expired at 1500"]
    cheaper = dict(paid, args=dict(paid["args"], freightHeld=1, policy=0))
    assert quote_problems(fold_order([cheaper]), s) == [
        "target_freight 1 differs from the quote's 48377",
        "policy seller_pays_return differs from the quote's buyer_pays_return",
    ]
    assert quote_problems(fold_order([paid]), None) == ["no quote of this system has the order's snapshot hash"]


def test_a_completed_order_joins_the_freight_history_in_the_quotes_currency():
    s = snapshot()
    paid = log(
        "OrderPaid",
        1,
        buyer=BUYER,
        seller=SELLER,
        token="0x" + "70" * 20,
        price=161_250,
        freightHeld=48_377,
        snapshotHash="0x5a",
        policy=1,
        billBy=1_001 + WINDOW,
    )
    billed = [paid, log("FinalBill", 2, freight=40_000, refunded=8_377, topUp=0, releaseAt=5_000)]
    assert completed_history_order("cb-1", fold_order(billed), s) is None  # not ended yet
    ended = fold_order(billed + [log("Released", 3, toSeller=161_250, toBuyer=0, ending=0)])
    # 40,000 yen back into cents at 161.25 / 100: 24,806.20... -> 24,806
    assert completed_history_order("cb-1", ended, s) == {
        "order_id": "cb-1",
        "origin": "CN-SZX",
        "destination": "JP-TYO",
        "length_cm": "50",
        "width_cm": "40",
        "height_cm": "30",
        "weight_kg": "10",
        "price_minor": 100_000,
        "currency": "EUR",
        "freight_minor": 24_806,
        "completed_at": "1970-01-01T00:16:43+00:00",
    }


def test_a_final_bill_asking_for_a_top_up_makes_one_notice_for_the_sellers_store():
    # Given an order whose final bill asks for 4,000 more by time 9,000
    order = dict(
        fold_order([PAID, log("FinalBill", 2, freight=34_000, refunded=0, topUp=4_000, releaseAt=9_000)]), order_id=7
    )
    # When the notice is made
    subject, seller, body = top_up_notice(order, 31337, "0x" + "e5" * 20)
    # Then it goes to the seller, names the bill's transaction, and carries the amount as a decimal string
    assert seller == SELLER and subject == f"top-up of cross-border order 7 (0x{2:064x})"
    assert (body["notice"], body["amount"], body["deadline"], body["buyer"]) == (
        "top_up_requested",
        "4000",
        9_000,
        BUYER,
    )
    # And a later final bill (another transaction) is another subject: one notice per bill
    again = dict(order, steps=order["steps"] + [dict(order["steps"][-1], tx_hash="0x" + "ff" * 32)])
    assert top_up_notice(again, 31337, "0x" + "e5" * 20)[0] != subject
