"""Cross-border orders as the chain tells them, and signed exchange rates, as stories."""

from __future__ import annotations

import pytest
from eth_account import Account

from engine.cross_border import (RateError, convert, fold_order, rate_document, rate_signer, sign_rate,
                                 signature_hash)

BUYER, SELLER, CARRIER = "0x" + "b1" * 20, "0x" + "5e" * 20, "0x" + "ca" * 20


def log(name: str, tx: int, **args) -> dict:
    return {"event": name, "args": args, "coords": {"block_number": tx, "block_hash": "0x" + f"{tx:064x}",
                                                    "tx_hash": "0x" + f"{tx:064x}", "log_index": 0,
                                                    "block_timestamp": 1_000 + tx}}


PAID = log("OrderPaid", 1, buyer=BUYER, seller=SELLER, token="0x" + "70" * 20, price=100_000, freightHeld=30_000,
           snapshotHash="0x5a", policy=1)


def leg(tx: int, amount: int, total: int) -> dict:
    return log("LegPaid", tx, carrier=CARRIER, amount=amount, waybillHash="0xb1", freightPaid=total)


def test_legs_and_a_refunding_final_bill():
    state = fold_order([PAID, leg(2, 12_000, 12_000), log("FinalBill", 3, freight=20_000, refunded=10_000, topUp=0,
                                                            releaseAt=9_999), leg(3, 8_000, 20_000)])
    assert (state["status"], state["freight_paid"], state["refunded_freight"]) == ("billed", 20_000, 10_000)
    assert [lg["amount"] for lg in state["legs"]] == [12_000, 8_000]
    assert state["policy"] == "buyer_pays_return"


def test_a_top_up_then_a_return_accepted():
    state = fold_order([PAID, log("FinalBill", 2, freight=34_000, refunded=0, topUp=4_000, releaseAt=9_000)])
    assert (state["status"], state["final_bill"]["top_up"]) == ("top_up_requested", 4_000)
    state = fold_order([PAID, log("FinalBill", 2, freight=34_000, refunded=0, topUp=4_000, releaseAt=9_000),
                        log("ToppedUp", 3, amount=4_000, releaseAt=20_000), leg(3, 34_000, 34_000),
                        log("ReturnRequested", 4, reasonHash="0x01", respondBy=30_000),
                        log("Returned", 5, toBuyer=94_000, toSeller=6_000)])
    assert (state["status"], state["freight_held"], state["ending"]) == (
        "returned", 34_000, {"to_seller": 6_000, "to_buyer": 94_000, "how": "returned"})


def test_a_dispute_and_its_ending():
    state = fold_order([PAID, log("FinalBill", 2, freight=40_000, refunded=0, topUp=10_000, releaseAt=9_000),
                        log("Escalated", 3, arbiter="0x" + "a0" * 20, lapseToSeller=130_000, decideBy=50_000),
                        log("Released", 4, toSeller=130_000, toBuyer=0, ending=2)])
    assert state["status"] == "settled" and state["ending"]["how"] == "arbitration_lapsed"
    assert state["dispute"]["lapse_to_seller"] == 130_000


def test_a_rate_is_signed_by_the_operator_and_converts_half_even_once():
    operator, other = Account.create(), Account.create()
    doc = rate_document("USD", "EUR", "0.92500", "ECB reference", "2026-06-30T14:15:00Z")
    assert doc["rate"] == "0.925" and doc["at"] == "2026-06-30T14:15:00+00:00"
    signature = sign_rate(doc, operator)
    assert rate_signer(doc, signature) == operator.address.lower()
    assert rate_signer(dict(doc, rate="0.93"), signature) != operator.address.lower()
    assert rate_signer(doc, sign_rate(doc, other)) != operator.address.lower()
    assert signature_hash(signature).startswith("0x") and len(signature_hash(signature)) == 66
    assert convert(1_001, "0.5") == 500    # 500.5 -> the even 500
    assert convert(1_003, "0.5") == 502    # 501.5 -> the even 502
    assert convert(135_410, "0.925") == 125_254   # 125,254.25


@pytest.mark.parametrize("args, reason", [(("USD", "EUR", "-1", "x", "2026-06-30T00:00:00Z"), "positive"),
                                          (("USD", "EUR", "abc", "x", "2026-06-30T00:00:00Z"), "not a decimal"),
                                          (("USDT", "EUR", "1", "x", "2026-06-30T00:00:00Z"), "three-letter"),
                                          (("USD", "EUR", "1", "x", "yesterday"), "ISO-8601")])
def test_bad_rates_are_refused(args, reason):
    with pytest.raises(RateError, match=reason):
        rate_document(*args)
