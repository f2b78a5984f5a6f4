"""The settlement flow through the API with locally signing wallets, on a real anvil."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from api.app import create_app
from api.service import Service

from .conftest import Wallet, create_order, dev_account, make_settings, register, view


def test_open_ship_confirm_completes_the_store_order(client, service):
    token = service.manifest.contract("TestStablecoin").address
    store, buyer = Wallet(client, dev_account(2)), Wallet(client, dev_account(1))
    headers = register(client, "corner-shop", store.address)
    order = create_order(client, "corner-shop", headers, "A-1001", 25_000_000, token,
                         items=[{"name": "tea", "quantity": 2, "unit_price": "12500000"}])
    assert view(client, service, "corner-shop", headers, "A-1001")["status"] == "awaiting_payment"

    pay = order["payment"]
    key = {"store": pay["store"], "order_number": "A-1001", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "25000000"})
    opened = buyer.send("/settlements/open", {"key": key, "amount": "25000000",
                                              "snapshot_hash": pay["snapshot_hash"]})
    assert opened["status"] == "success"
    assert [e["event"] for e in opened["events"]] == ["SettlementOpened", "Transfer"]
    state = view(client, service, "corner-shop", headers, "A-1001")
    assert state["status"] == "paid" and state["frozen_amount"] == "25000000"

    store.send("/settlements/ship", {"key": key, "waybill": "SF1234567890", "amount": state["frozen_amount"],
                                     "snapshot_hash": pay["snapshot_hash"]})
    assert view(client, service, "corner-shop", headers, "A-1001")["status"] == "shipped"

    done = buyer.send("/settlements/confirm", {"key": key})
    completed = next(e for e in done["events"] if e["event"] == "SettlementCompleted")
    state = view(client, service, "corner-shop", headers, "A-1001")
    assert state["status"] == "completed"
    assert state["paid_to_store"] == "25000000"
    assert state["payment_record"] == completed["args"]["paymentRecord"]
    assert [s["step"] for s in state["steps"]] == ["SettlementOpened", "SettlementShipped", "SettlementCompleted"]
    assert all(s["confirmations"] >= 1 for s in state["steps"])


def test_wrong_amount_is_a_visible_mismatch_not_a_payment(client, service):
    token = service.manifest.contract("TestStablecoin").address
    buyer = Wallet(client, dev_account(3))
    headers = register(client, "tea-house", dev_account(4).address)
    order = create_order(client, "tea-house", headers, "T-1", 10_000_000, token)
    key = {"store": order["payment"]["store"], "order_number": "T-1", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "10000000"})
    buyer.send("/settlements/open", {"key": key, "amount": "9000000",
                                     "snapshot_hash": order["snapshot_hash"]})
    state = view(client, service, "tea-house", headers, "T-1")
    assert state["status"] == "payment_mismatch"
    assert any("differs from the order amount" in m for m in state["mismatch"])
    # S202: paying again for the same order tops the settlement up to the right amount.
    buyer.send("/settlements/open", {"key": key, "amount": "10000000",
                                     "snapshot_hash": order["snapshot_hash"]})
    state = view(client, service, "tea-house", headers, "T-1")
    assert state["status"] == "paid" and state["mismatch"] == []


def test_a_confirmation_depth_holds_back_the_newest_blocks(chain, tmp_path):
    node, deployments, rpc = chain
    service = Service(replace(make_settings(tmp_path, deployments), confirmations=2), node.url)
    with TestClient(create_app(service)) as client:
        token = service.manifest.contract("TestStablecoin").address
        buyer = Wallet(client, dev_account(1))
        headers = register(client, "careful-shop", dev_account(5).address)
        order = create_order(client, "careful-shop", headers, "K-1", 1_000_000, token)
        key = {"store": order["payment"]["store"], "order_number": "K-1", "buyer": buyer.address, "token": token}
        buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "1000000"})
        opened = buyer.send("/settlements/open", {"key": key, "amount": "1000000",
                                                  "snapshot_hash": order["snapshot_hash"]})
        assert view(client, service, "careful-shop", headers, "K-1")["status"] == "awaiting_payment"
        status = client.get("/status").json()
        assert status["indexed_block"] == opened["block_number"] - 2 and status["confirmations"] == 2
        rpc.call("anvil_mine", "0x1")
        assert view(client, service, "careful-shop", headers, "K-1")["status"] == "awaiting_payment"
        rpc.call("anvil_mine", "0x1")
        state = view(client, service, "careful-shop", headers, "K-1")
        assert state["status"] == "paid" and state["steps"][0]["confirmations"] == 3
