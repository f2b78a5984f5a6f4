"""Reputation on a real anvil: a settled order counts for its store and its buyer, the
buyer's feedback (proof of purchase: only that order's buyer, once, after it ended) counts
for or against the store, the account sees its score and credit limit, and a
reorganisation that drops the outcome drops its signals."""

from __future__ import annotations

from decimal import Decimal

from api.client.group_buy import sign_in_message
from tests.e2e.accounts import HOME, bearer, new_account, sign_in
from tests.e2e.conftest import Wallet, create_order, dev_account, register, view
from tests.e2e.exact import assert_exact


def settle(client, service, store_id="corner-shop", number="A-1", shipped=True) -> tuple[dict, str, dict]:
    token = service.manifest.contract("TestStablecoin").address
    store, buyer = Wallet(client, dev_account(2)), Wallet(client, dev_account(1))
    headers = register(client, store_id, store.address)
    order = create_order(client, store_id, headers, number, 25_000_000, token)
    pay = order["payment"]
    key = {"store": pay["store"], "order_number": number, "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "25000000"})
    opened = buyer.send("/settlements/open", {"key": key, "amount": "25000000", "snapshot_hash": pay["snapshot_hash"]})
    settlement_id = next(e for e in opened["events"] if e["event"] == "SettlementOpened")["args"]["id"]
    if shipped:
        store.send(
            "/settlements/ship",
            {"key": key, "waybill": "SF1234567890", "amount": "25000000", "snapshot_hash": pay["snapshot_hash"]},
        )
    service.step()
    return key, settlement_id, headers


def counters(reputation: dict) -> dict:
    return {(c["name"], c["counts"]): c["last_365_days"] for c in reputation["counters"]}


def test_a_settled_order_and_its_feedback_build_both_parties_reputation(client, service, chain, tmp_path):
    key, settlement_id, headers = settle(client, service)
    buyer = Wallet(client, dev_account(1))
    store = key["store"]
    new_account(client, tmp_path)
    session = bearer(sign_in(client, tmp_path))
    early = client.post(f"/settlements/{settlement_id}/feedback", json={"rating": "positive"}, headers=session)
    assert early.status_code == 422  # not the buyer's account yet, and not ended
    client.post("/accounts/me/wallet", json=sign_in_message(buyer), headers=session)
    early = client.post(f"/settlements/{settlement_id}/feedback", json={"rating": "positive"}, headers=session)
    assert early.status_code == 422 and "has not ended" in early.json()["detail"]

    # The store sees its buyer with the phone masked and the delivery address: its own orders only.
    client.put("/accounts/me/addresses/home", json=HOME, headers=session)
    seen = client.get("/stores/corner-shop/orders/A-1/buyer", headers=headers).json()
    assert seen["phone"] == "+44 ********56" and seen["delivery_address"]["lines"] == HOME["lines"]
    assert seen["wallet"] == buyer.address.lower() and "447911123456" not in str(seen)
    other = register(client, "other-shop", dev_account(5).address)
    assert client.get("/stores/other-shop/orders/A-1/buyer", headers=other).status_code == 404
    assert client.get("/stores/corner-shop/orders/A-1/buyer", headers=other).status_code == 404

    buyer.send("/settlements/confirm", {"key": key})
    view(client, service, "corner-shop", headers, "A-1")
    of_store = client.get(f"/reputation/{store}").json()
    assert counters(of_store) == {("settlement_completed", "for"): 1, ("shipped_on_time", "for"): 1}
    assert of_store["positive"] == 2 and of_store["negative"] == 0
    # Wilson's lower bound of 2 out of 2 at 95 %: 1 / (1 + z^2 / 2) = 1 / 2.920729 = 0.342380.
    assert of_store["score"] == "0.342380"

    # Feedback: by the order's buyer, once; a stranger's account cannot.
    bad = client.post(f"/settlements/{settlement_id}/feedback", json={"rating": "terrible"}, headers=session)
    assert bad.status_code == 422
    given = client.post(
        f"/settlements/{settlement_id}/feedback", json={"rating": "negative", "comment": "late"}, headers=session
    )
    assert given.status_code == 201, given.text
    again = client.post(f"/settlements/{settlement_id}/feedback", json={"rating": "positive"}, headers=session)
    assert again.status_code == 409
    to = new_account(client, tmp_path, "mallory", "+44 7911 123459")
    mallory = bearer(sign_in(client, tmp_path, "mallory", to))
    client.post("/accounts/me/wallet", json=sign_in_message(Wallet(client, dev_account(7))), headers=mallory)
    stranger = client.post(f"/settlements/{settlement_id}/feedback", json={"rating": "negative"}, headers=mallory)
    assert stranger.status_code == 422 and "only the order's buyer" in stranger.json()["detail"]
    unknown = client.post(f"/settlements/0x{'ab' * 32}/feedback", json={"rating": "negative"}, headers=mallory)
    assert unknown.status_code == 404

    service.step()
    of_store = client.get(f"/reputation/{store}").json()
    assert counters(of_store)[("feedback", "against")] == 1
    assert of_store["positive"] == 2 and of_store["negative"] == 1
    mine = client.get("/accounts/me/reputation", headers=session).json()
    assert counters(mine) == {("settlement_completed", "for"): 1}
    assert mine["identity_level"] == 0 and mine["credit_limit"] == "0"  # no attestation: no credit

    node, deployments, _ = chain
    assert_exact(service, node, deployments, tmp_path)


def test_a_reorganisation_that_drops_the_outcome_drops_its_signals(client, service, chain, tmp_path):
    key, _, headers = settle(client, service, "tea-house", "T-1")
    _, _, rpc = chain
    before = rpc.call("evm_snapshot")
    Wallet(client, dev_account(1)).send("/settlements/confirm", {"key": key})
    view(client, service, "tea-house", headers, "T-1")
    assert client.get(f"/reputation/{key['store']}").json()["positive"] == 2
    rpc.call("evm_revert", before)
    for _ in range(3):
        rpc.call("evm_mine")
    service.step()
    of_store = client.get(f"/reputation/{key['store']}").json()
    assert of_store["counters"] == [] and Decimal(of_store["score"]) == 0
    node, deployments, _ = chain
    assert_exact(service, node, deployments, tmp_path)
