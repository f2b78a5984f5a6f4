"""A case's whole life on anvil through the API: every step signed locally, every view checked.

Plan, purchase under a signed custody agreement, outbound with a case code, gift, pledge,
repay, pledge again and seizure after the due date, a loan purchase, an encrypted pickup
the warehouse decrypts, delivery with the door code and the burn; then the views equal a
rebuild.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from api.cli.serve import align_metadata_base
from api.client import ApiError, answer
from api.client.liquor import (
    buy,
    custody_signature,
    loan_offer,
    pledge,
    public_key_of,
    redemption_queue,
    repay,
    request_pickup,
)
from api.service import Service

from .accounts import account_for, attest_account
from .conftest import ADMIN_HEADERS, Wallet, dev_account, make_settings

PRICE = 250_000_000
DAY = 86_400
FACTS = {
    "name": "Old Reserve Single Malt",
    "producer": "Glen Example Distillery",
    "vintage": 2015,
    "volume_ml": 700,
    "abv": "43.5",
    "bottles_per_case": 6,
}
TERMS = {"text": "The warehouse keeps the cases insured at 12-16 C until redeemed.", "storage_fee_per_case_year": "0"}


def ok(result: dict) -> dict:
    assert result["status"] == "success", result
    return result


def event(result: dict, name: str) -> dict:
    return next(e["args"] for e in result["events"] if e["event"] == name)


def advance(rpc, seconds: int) -> None:
    rpc.call("evm_increaseTime", seconds)
    rpc.call("evm_mine")


def listed_plan(client, service, producer: Wallet, warehouse: Wallet, token: str, cases: int = 10) -> int:
    r = client.post(
        "/liquor/listings",
        headers=ADMIN_HEADERS,
        json={
            "producer": producer.address,
            "facts": FACTS,
            "terms": TERMS,
            "sale": {
                "cases": cases,
                "unit_price": str(PRICE),
                "token": token,
                "warehouse": warehouse.address,
                "fulfilment_window": 30 * DAY,
            },
        },
    )
    assert r.status_code == 201, r.text
    listing = r.json()
    created = ok(
        producer.send("/liquor/create-plan", {"sender": producer.address, "facts_hash": listing["facts_hash"]})
    )
    return int(event(created, "PlanCreated")["planId"])


def bought_case(client, service, buyer: Wallet, warehouse: Wallet, plan_id: int, code: str) -> int:
    signed = custody_signature(buyer, plan_id, 1)
    purchase_id = int(event(ok(buy(buyer, plan_id, 1, signed)), "Purchased")["purchaseId"])
    out = ok(
        warehouse.send(
            "/liquor/outbound", {"sender": warehouse.address, "purchase_id": str(purchase_id), "case_code": code}
        )
    )
    return int(event(out, "CaseOutbound")["tokenId"])


def test_a_case_from_plan_to_burn(chain, service, client, tmp_path):
    node, _, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    producer, buyer, friend, warehouse, lender = (Wallet(client, dev_account(i)) for i in (2, 3, 4, 6, 7))
    plan_id = listed_plan(client, service, producer, warehouse, token)
    service.step()
    plan = answer(client.get(f"/liquor/plans/{plan_id}"))
    assert plan["facts"]["name"] == FACTS["name"] and plan["mismatches"] == []
    assert plan["inventory"]["for_sale"] == 10

    # S2-S5: purchase under the signed custody agreement, outbound with the case code.
    token_id = bought_case(client, service, buyer, warehouse, plan_id, "GLN-2015-000001")
    service.step()
    case = answer(client.get(f"/liquor/cases/{token_id}"))
    assert case["owner"] == buyer.address.lower() and case["state"] == "in_custody"
    assert case["case_code_text"] == "GLN-2015-000001" and case["locked"] is False
    inventory = answer(client.get(f"/liquor/plans/{plan_id}"))["inventory"]
    assert (inventory["for_sale"], inventory["awaiting_outbound"], inventory["in_custody"]) == (9, 0, 1)
    metadata = answer(client.get(f"/cases/{token_id}/metadata"))
    traits = {a["trait_type"]: a["value"] for a in metadata["attributes"]}
    assert traits["Case code"] == "GLN-2015-000001" and traits["Vintage"] == 2015 and traits["Locked"] == "no"
    uri = service.transactions.view("LiquorCases", "tokenURI", token_id)[0]
    assert uri == f"http://127.0.0.1:{service.settings.api_port}/cases/{token_id}/metadata"  # where it serves
    # Served later on another port (the chain kept): the dev owner sets the base again, as `make run` does.
    moved = tmp_path / "moved"
    shutil.copytree(service.settings.deployments_dir, moved)
    align_metadata_base(node.url, replace(service.settings, api_port=8124, deployments_dir=str(moved)))
    uri = service.transactions.view("LiquorCases", "tokenURI", token_id)[0]
    assert uri == f"http://127.0.0.1:8124/cases/{token_id}/metadata"
    assert (
        json.loads((moved / "31337.json").read_text())["contracts"]["LiquorCases"]["metadata_base"]
        == "http://127.0.0.1:8124/cases/"
    )

    # A: gift to a friend.
    ok(
        buyer.send(
            "/liquor/gift",
            {"sender": buyer.address, "token_id": str(token_id), "to": friend.address, "message": "Happy birthday"},
        )
    )
    service.step()
    assert [c["token_id"] for c in answer(client.get(f"/liquor/holdings/{friend.address}"))] == [token_id]
    assert answer(client.get(f"/liquor/holdings/{buyer.address}")) == []

    # C: pledge, repay; pledge again, seize after the due date.
    now = service.rpc.chain_time()
    offer = loan_offer(lender, token_id, 100_000_000, 5_000_000, now + 10 * DAY)
    ok(pledge(friend, offer))
    service.step()
    held = answer(client.get(f"/liquor/holdings/{friend.address}"))[0]
    assert held["state"] == "pledged" and held["locked"] and held["loan"]["lender"] == lender.address.lower()
    # A locked case cannot be gifted: the API refuses before anything is signed.
    r = client.post("/liquor/gift", json={"sender": friend.address, "token_id": str(token_id), "to": buyer.address})
    assert r.status_code == 422 and r.json()["revert"]["error"] == "CaseLocked", r.text
    ok(repay(friend, token_id))
    offer = loan_offer(lender, token_id, 80_000_000, 0, service.rpc.chain_time() + 2 * DAY)
    ok(pledge(friend, offer))
    r = client.post("/liquor/seize", json={"sender": lender.address, "token_id": str(token_id)})
    assert r.status_code == 422 and r.json()["revert"]["error"] == "NotDue", r.text
    advance(rpc, 3 * DAY)
    service.step()
    book = answer(client.get(f"/liquor/lenders/{lender.address}/loans"))
    assert [(loan["status"], loan["overdue"]) for loan in book] == [("active", True), ("repaid", False)]
    ok(lender.send("/liquor/seize", {"sender": lender.address, "token_id": str(token_id)}))
    service.step()
    assert answer(client.get(f"/liquor/cases/{token_id}"))["owner"] == lender.address.lower()
    assert [loan["status"] for loan in answer(client.get(f"/liquor/lenders/{lender.address}/loans"))] == [
        "seized",
        "repaid",
    ]

    # B: a loan purchase: the lender pays, the case is minted to the buyer pledged to it. The
    # buyer's wallet needs an account with a complete, verified and attested profile first.
    loan = {"lender": lender.address, "interest_per_case": "1000000", "term": 30 * DAY}
    body = {"plan_id": str(plan_id), "quantity": 1, "buyer": buyer.address, "loan": loan}
    refused = client.post("/liquor/custody-agreement", json=body)
    assert refused.status_code == 422 and refused.json()["missing"] == ["account"]
    account_for(client, service, buyer, tmp_path, "buyer@example.org")
    refused = client.post("/liquor/custody-agreement", json=body)
    assert refused.status_code == 422 and refused.json()["missing"] == ["attested"]
    assert refused.json()["action"] == "loan_purchase"
    account_for(client, service, Wallet(client, dev_account(9)), tmp_path, "spare@example.org", attested=True)
    # Another account's attestation attests nothing of this one.
    assert client.post("/liquor/custody-agreement", json=body).json()["missing"] == ["attested"]
    attest_account(client, service, "buyer@example.org")
    signed = custody_signature(buyer, plan_id, 1, loan=loan)
    bought = ok(buy(lender, plan_id, 1, signed, buyer=buyer.address, loan=loan))
    purchase_id = int(event(bought, "Purchased")["purchaseId"])
    out = ok(
        warehouse.send(
            "/liquor/outbound",
            {"sender": warehouse.address, "purchase_id": str(purchase_id), "case_code": "GLN-2015-000002"},
        )
    )
    loaned = int(event(out, "CaseOutbound")["tokenId"])
    service.step()
    case = answer(client.get(f"/liquor/cases/{loaned}"))
    assert case["owner"] == buyer.address.lower() and case["state"] == "pledged"
    assert case["loan"]["principal"] == str(PRICE) and case["loan"]["interest"] == "1000000"
    outbound_at = service.rpc.call("eth_getBlockByNumber", hex(int(out["block_number"])), False)["timestamp"]
    assert case["loan"]["due_at"] == int(outbound_at, 16) + 30 * DAY  # the term runs from the outbound

    # S6-S7: the lender (now holder of the seized case) redeems it; the warehouse decrypts and delivers.
    ok(
        warehouse.send(
            "/liquor/warehouse-key", {"sender": warehouse.address, "public_key": public_key_of(warehouse.account)}
        )
    )
    service.step()
    with pytest.raises(ApiError) as refused:  # the lender's wallet has no account yet: nothing is signed
        request_pickup(lender, token_id, "7 Harbour Road, Leith")
    assert refused.value.status == 422 and refused.value.problem["missing"] == ["account"]
    account_for(client, service, lender, tmp_path, "lender@example.org")
    asked = request_pickup(lender, token_id, "7 Harbour Road, Leith")
    ok(asked)
    service.step()
    queue = redemption_queue(warehouse)
    assert [(q["token_id"], q["delivery_address"]) for q in queue] == [(token_id, "7 Harbour Road, Leith")]
    assert "Harbour" not in str(answer(client.get(f"/liquor/warehouses/{warehouse.address}/queue")))
    ok(warehouse.send("/liquor/dispatch", {"sender": warehouse.address, "token_id": str(token_id)}))
    r = client.post(
        "/liquor/confirm-delivery",
        json={"sender": warehouse.address, "token_id": str(token_id), "pickup_code": "not-the-code"},
    )
    assert r.status_code == 422 and r.json()["revert"]["error"] == "WrongPickupCode", r.text
    ok(
        warehouse.send(
            "/liquor/confirm-delivery",
            {"sender": warehouse.address, "token_id": str(token_id), "pickup_code": asked["pickup_code"]},
        )
    )
    service.step()
    assert answer(client.get(f"/liquor/cases/{token_id}"))["state"] == "delivered"
    assert client.get(f"/cases/{token_id}/metadata").status_code == 404
    assert redemption_queue(warehouse) == []
    steps = [s["step"] for s in answer(client.get(f"/liquor/cases/{token_id}/provenance"))]
    assert steps == [
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
    inventory = answer(client.get(f"/liquor/plans/{plan_id}"))["inventory"]
    assert inventory == {
        "cases": 10,
        "for_sale": 8,
        "awaiting_outbound": 0,
        "in_custody": 1,
        "pledged": 1,
        "redeeming": 0,
        "delivered": 1,
    }

    live = service.liquor.snapshot()
    service.liquor.rebuild()
    assert service.liquor.snapshot() == live


def test_a_reorg_across_a_gift_and_a_pledge_leaves_the_views_equal_to_a_rebuild(chain, service, client, tmp_path):
    node, deployments, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    producer, buyer, friend, other, warehouse, lender = (Wallet(client, dev_account(i)) for i in (2, 3, 4, 5, 6, 7))
    plan_id = listed_plan(client, service, producer, warehouse, token)
    token_id = bought_case(client, service, buyer, warehouse, plan_id, "GLN-REORG-1")
    offer = loan_offer(lender, token_id, 50_000_000, 1_000_000, service.rpc.chain_time() + 10 * DAY)
    # The fork will carry a gift to another account instead of the gift and the pledge.
    fork_gift = buyer.sign_only(
        "/liquor/gift", {"sender": buyer.address, "token_id": str(token_id), "to": other.address}
    )
    ok(buyer.send("/liquor/gift", {"sender": buyer.address, "token_id": str(token_id), "to": friend.address}))
    ok(pledge(friend, offer))
    service.step()
    assert answer(client.get(f"/liquor/holdings/{friend.address}"))[0]["state"] == "pledged"
    assert [loan["status"] for loan in answer(client.get(f"/liquor/lenders/{lender.address}/loans"))] == ["active"]

    head = rpc.block_number()
    rpc.call("anvil_reorg", 2, [[fork_gift, 0]])
    assert rpc.block_number() == head
    service.step()
    assert service.reader.reorgs == 1
    assert answer(client.get(f"/liquor/holdings/{friend.address}")) == []
    held = answer(client.get(f"/liquor/holdings/{other.address}"))
    assert [(c["token_id"], c["state"], c["locked"], c["loan"]) for c in held] == [
        (token_id, "in_custody", False, None)
    ]
    assert answer(client.get(f"/liquor/lenders/{lender.address}/loans")) == []
    steps = [s["step"] for s in answer(client.get(f"/liquor/cases/{token_id}/provenance"))]
    assert steps == ["PlanCreated", "Purchased", "CaseOutbound", "CaseGifted"]

    live = service.liquor.snapshot()
    service.liquor.rebuild()
    assert service.liquor.snapshot() == live
    # A reader that never saw the orphaned blocks tells the same case.
    fresh = Service(make_settings(tmp_path / "fresh", deployments), node.url)
    try:
        fresh.step()
        assert {k: v for k, v in fresh.liquor.case(token_id).items() if k != "seq"} == {
            k: v for k, v in service.liquor.case(token_id).items() if k != "seq"
        }
    finally:
        fresh.stop()


def test_liquor_mistakes_get_clear_problems(chain, service, client):
    token = service.manifest.contract("TestStablecoin").address
    producer, buyer, warehouse = (Wallet(client, dev_account(i)) for i in (2, 3, 6))
    body = {"producer": producer.address, "facts": FACTS, "terms": TERMS}
    assert client.post("/liquor/listings", json=body).status_code == 401
    r = client.post("/liquor/listings", headers=ADMIN_HEADERS, json=dict(body, facts=dict(FACTS, abv="strong")))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    first = client.post("/liquor/listings", headers=ADMIN_HEADERS, json=body)
    assert first.status_code == 201
    assert client.post("/liquor/listings", headers=ADMIN_HEADERS, json=body).json() == first.json()  # idempotent
    r = client.post("/liquor/listings", headers=ADMIN_HEADERS, json=dict(body, terms={"text": "other terms"}))
    assert r.status_code == 409 and "already listed" in r.json()["detail"]
    r = client.post("/liquor/create-plan", json={"sender": buyer.address, "facts_hash": first.json()["facts_hash"]})
    assert r.status_code == 404 and "no listing" in r.json()["detail"]
    r = client.post("/liquor/create-plan", json={"sender": producer.address, "facts_hash": first.json()["facts_hash"]})
    assert r.status_code == 422 and "cases" in r.json()["detail"]  # the listing names no sale
    assert client.get("/liquor/plans/7").status_code == 404
    assert (
        client.post(
            "/liquor/custody-agreement", json={"plan_id": "7", "quantity": 1, "buyer": buyer.address}
        ).status_code
        == 404
    )
    plan_id = listed_plan(client, service, Wallet(client, dev_account(5)), warehouse, token)
    signed = custody_signature(buyer, plan_id, 1)
    purchase_id = int(event(ok(buy(buyer, plan_id, 1, signed)), "Purchased")["purchaseId"])
    # Only the plan's warehouse records an outbound; a case code is never used twice.
    r = client.post(
        "/liquor/outbound", json={"sender": buyer.address, "purchase_id": str(purchase_id), "case_code": "GLN-X-1"}
    )
    assert r.status_code == 422 and r.json()["revert"]["error"] == "NotWarehouse"
    ok(
        warehouse.send(
            "/liquor/outbound", {"sender": warehouse.address, "purchase_id": str(purchase_id), "case_code": "GLN-X-1"}
        )
    )
    signed = custody_signature(buyer, plan_id, 1)
    purchase_id = int(event(ok(buy(buyer, plan_id, 1, signed)), "Purchased")["purchaseId"])
    r = client.post(
        "/liquor/outbound", json={"sender": warehouse.address, "purchase_id": str(purchase_id), "case_code": "GLN-X-1"}
    )
    assert r.status_code == 422 and r.json()["revert"]["error"] == "CaseCodeUsed"
    r = client.post(
        "/liquor/outbound",
        json={"sender": warehouse.address, "purchase_id": str(purchase_id), "case_code": "no spaces allowed"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "case_code"
    # A custody signature over other terms than the plan's is refused by the contract.
    r = client.post(
        "/liquor/buy",
        json={
            "sender": buyer.address,
            "plan_id": str(plan_id),
            "quantity": 1,
            "buyer": buyer.address,
            "deadline": str(2**39),
            "buyer_signature": "0x" + "11" * 65,
        },
    )
    assert r.status_code == 422 and r.json()["revert"]["error"] in ("BadSignature", "ECDSAInvalidSignature")


def test_a_refund_credited_on_cancellation_is_owed_until_claimed(chain, service, client):
    """The liquor contract credits the refund of units the warehouse never assigned: the
    credits view shows it owed, then claimed once the payer claims it; a rebuild agrees."""
    _, _, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    producer, buyer, warehouse = (Wallet(client, dev_account(i)) for i in (2, 3, 6))
    plan_id = listed_plan(client, service, producer, warehouse, token)
    purchase = ok(buy(buyer, plan_id, 2, custody_signature(buyer, plan_id, 2)))
    purchase_id = int(event(purchase, "Purchased")["purchaseId"])
    advance(rpc, 31 * DAY)  # the fulfilment window passes with nothing assigned
    ok(buyer.send("/liquor/cancel-unassigned", {"sender": buyer.address, "purchase_id": str(purchase_id)}))
    service.step()
    (ledger,) = answer(client.get(f"/credits/{buyer.address}"))
    assert (ledger["contract"], ledger["token"], ledger["owed"], ledger["claim_route"]) == (
        "LiquorCases",
        token.lower(),
        str(2 * PRICE),
        "/liquor/claim-credit",
    )
    ok(buyer.send("/liquor/claim-credit", {"owner": buyer.address, "token": token, "to": buyer.address}))
    service.step()
    (ledger,) = answer(client.get(f"/credits/{buyer.address}"))
    assert (ledger["credited"], ledger["claimed"], ledger["owed"]) == (str(2 * PRICE), str(2 * PRICE), "0")
    assert [(e["kind"], e.get("claimed")) for e in ledger["entries"]] == [("credited", True), ("claimed", None)]
    live = service.credits.snapshot()
    service.credits.rebuild()
    assert service.credits.snapshot() == live
