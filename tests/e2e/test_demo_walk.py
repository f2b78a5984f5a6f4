"""Every flow of `orderchain demo` (settlements, a liquor case), walked through the API on a real anvil."""

from __future__ import annotations

import os
from pathlib import Path

from api.client import answer
from api.demo.run import LENDER, STORE_ID, UNIT, Walk, dev_account
from api.examples import Recorder
from engine.account_desk import outbox_path
from engine.accounts.sms import Outbox

from .conftest import ADMIN, landed


def test_demo_walks_every_flow_to_its_expected_end(client, service):
    lines: list[str] = []

    def anchor(_bundle_hash):
        service.step()
        landed(service.rpc, service.anchorer.run_once())
        service.step()

    recorder = Recorder(client, client.app)  # `make examples` keeps what it records
    codes = Outbox(outbox_path(service.settings)).latest_code

    def until(check, what):
        for _ in range(6):  # keeper rounds, each followed by reading the chain (the engine loop does both)
            service.step()
            landed(service.rpc, service.payment_keeper.run_once())
            service.step()
            if check():
                return
        raise AssertionError(f"{what}: not after 6 keeper rounds")

    walk = Walk(
        recorder,
        service.rpc,
        ADMIN,
        settle=lambda block: service.step(),
        out=lines.append,
        anchor=anchor,
        codes=codes,
        until=until,
    )
    results = walk.run()
    if os.environ.get("ORDERCHAIN_RECORD_EXAMPLES"):
        recorder.save(Path(os.environ["ORDERCHAIN_RECORD_EXAMPLES"]))
    assert len(recorder.examples) >= 60, sorted(recorder.examples)  # the walk drives most of the API
    assert results == {
        "D-1": "completed",  # pay, ship, confirm
        "D-2": "short_paid",  # buyer claimed 30 of 40 due, the store accepted
        "D-3": "refunded",  # store rejected
        "D-4": "short_paid",  # dispute with a proposal; arbiter split 36 / 24
        "D-5": "released",  # time limit passed, released by anyone
        "D-6": "completed",  # opened with a permit
        "D-7": "short_paid",  # lender paid, buyer claimed 25 of 30, the store accepted
        "D-8": "paid",  # mismatch, then topped up
        "D-9": "short_paid",  # claim left unanswered, executed by anyone after the window
        "D-10": "short_paid",  # the store signed 28 of 30, the buyer settled with it
        "D-11": "completed",  # claim contested; the arbiter gave the store everything
    }

    # Accounts: a verified phone, both factors, a profile completed, an identity attested on chain.
    assert walk.accounts.results["attested"] is True

    # Paid after verified delivery: a mistyped waybill held the payment until the operator cleared it.
    assert walk.delivery["collected"] == "collected"
    assert any("bad_waybill), an alarm raised" in line for line in lines)
    assert any("the keeper records the alarm on chain" in line for line in lines)
    assert any(line.startswith("  SMS to Bob: orderchain: 4750000 was collected for your order P-1") for line in lines)
    assert any("a wrong code: 422" in line for line in lines)
    assert any("signed in with password + sms code" in line for line in lines)
    assert any(line.startswith("  store score 0.") for line in lines)

    def get(n):
        return answer(client.get(f"/stores/{STORE_ID}/orders/{n}", headers=walk.store_headers))

    d2, d4, d7, d8 = get("D-2"), get("D-4"), get("D-7"), get("D-8")
    assert [get(n)["ending"] for n in ("D-2", "D-9", "D-10", "D-11")] == [
        "claim_accepted",
        "claim_executed",
        "agreed",
        "arbitrated",
    ]
    assert (d2["paid_to_store"], d2["refunded_to_payer"]) == (str(30 * UNIT), str(10 * UNIT))
    assert (d4["paid_to_store"], d4["refunded_to_payer"]) == (str(36 * UNIT), str(24 * UNIT))
    assert d4["settlement_status"] == "resolved"
    assert d7["payer"] == dev_account(LENDER).address.lower() and d7["refunded_to_payer"] == str(5 * UNIT)
    assert d8["frozen_amount"] == str(50 * UNIT) and d8["mismatch"] == []
    assert [s["step"] for s in d8["steps"]] == ["SettlementOpened", "SettlementUpdated"]
    assert any("release before the limit is refused: TimeLimitNotReached" in line for line in lines)
    # The order's history is printed: the mismatched payment, then the top-up that matches.
    assert any("SettlementOpened" in line and "mismatch: frozen amount" in line for line in lines)
    assert any("SettlementUpdated" in line and "matches the order" in line for line in lines)
    # The printed view follows each step.
    assert sum(line.strip().startswith("view: D-1 ") for line in lines) == 4
    # The liquor case's life, with the views printed after each step.
    liquor = walk.liquor
    assert liquor["provenance"] == [
        "PlanCreated",
        "Purchased",
        "CaseOutbound",
        "CaseGifted",
        "Pledged",
        "Repaid",
        "Pledged",
        "Seized",
        "PickupRequested",
        "PickupDispatched",
        "Delivered",
    ]
    assert liquor["locked_gift"] == "CaseLocked"
    assert liquor["decrypted"] == "7 Harbour Road, Leith EH6 6LX"
    assert liquor["inventory"] == {
        "cases": 12,
        "for_sale": 9,
        "awaiting_outbound": 0,
        "in_custody": 2,
        "pledged": 1,
        "redeeming": 0,
        "delivered": 1,
    }
    assert any("lender book: #1 active overdue" in line for line in lines)
    assert any(line.strip().startswith("holdings of lender: #1 in_custody") for line in lines)
    # The group-buy campaign: MOQ 22 from the department costs, reached by three orders with evidence.
    assert walk.group_buy == {
        "moq": 22,
        "status": "succeeded",
        "verified": (True, True, True, True),
        "tampered": (False, False),
    }
    assert any("ProductionTriggered" in line for line in lines)
    # Three cross-border orders: legs and a refunding final bill, then released; a top-up, then a return.
    # Refund: target 1.5 x E at 1.0825, less 150 + 60 + 40 tUSD of freight; top-up: 420 tUSD less the target.
    crossed = walk.cross_border
    assert (crossed["first"], crossed["second"], crossed["joined_history"]) == ("settled", "returned", True)
    assert crossed["refunded"] > 0 and crossed["top_up"] > 0
    assert crossed["refunded"] + 250_000_000 == 420_000_000 - crossed["top_up"]  # the same target freight twice
    assert any("release before the return window ends is refused: TooEarly" in line for line in lines)
    # A third order its seller never bills: paying the quote again is refused, the buyer cancels.
    assert (crossed["paid_twice"], crossed["third"]) == (409, "cancelled")
