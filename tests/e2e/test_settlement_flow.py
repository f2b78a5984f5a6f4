"""The settlement flow through the API with locally signing wallets, on a real anvil."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from api.app import create_app
from api.client import answer
from api.service import Service

from .conftest import Wallet, create_order, dev_account, make_settings, register, view


def test_open_ship_confirm_completes_the_store_order(client, service):
    token = service.manifest.contract("TestStablecoin").address
    store, buyer = Wallet(client, dev_account(2)), Wallet(client, dev_account(1))
    headers = register(client, "corner-shop", store.address)
    order = create_order(
        client,
        "corner-shop",
        headers,
        "A-1001",
        25_000_000,
        token,
        items=[{"name": "tea", "quantity": 2, "unit_price": "12500000"}],
    )
    assert view(client, service, "corner-shop", headers, "A-1001")["status"] == "awaiting_payment"

    pay = order["payment"]
    key = {"store": pay["store"], "order_number": "A-1001", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "25000000"})
    opened = buyer.send("/settlements/open", {"key": key, "amount": "25000000", "snapshot_hash": pay["snapshot_hash"]})
    assert opened["status"] == "success"
    assert [e["event"] for e in opened["events"]] == ["SettlementOpened", "Transfer"]
    state = view(client, service, "corner-shop", headers, "A-1001")
    assert state["status"] == "paid" and state["frozen_amount"] == "25000000"

    store.send(
        "/settlements/ship",
        {
            "key": key,
            "waybill": "SF1234567890",
            "amount": state["frozen_amount"],
            "snapshot_hash": pay["snapshot_hash"],
        },
    )
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
    buyer.send("/settlements/open", {"key": key, "amount": "9000000", "snapshot_hash": order["snapshot_hash"]})
    state = view(client, service, "tea-house", headers, "T-1")
    assert state["status"] == "payment_mismatch"
    assert any("differs from the order amount" in m for m in state["mismatch"])
    # S202: paying again for the same order tops the settlement up to the right amount.
    buyer.send("/settlements/open", {"key": key, "amount": "10000000", "snapshot_hash": order["snapshot_hash"]})
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
        opened = buyer.send(
            "/settlements/open", {"key": key, "amount": "1000000", "snapshot_hash": order["snapshot_hash"]}
        )
        assert view(client, service, "careful-shop", headers, "K-1")["status"] == "awaiting_payment"
        status = client.get("/status").json()
        assert status["indexed_block"] == opened["block_number"] - 2 and status["confirmations"] == 2
        rpc.call("anvil_mine", "0x1")
        assert view(client, service, "careful-shop", headers, "K-1")["status"] == "awaiting_payment"
        rpc.call("anvil_mine", "0x1")
        state = view(client, service, "careful-shop", headers, "K-1")
        assert state["status"] == "paid" and state["steps"][0]["confirmations"] == 3


def test_a_key_paid_again_after_its_settlement_closed_opens_a_new_one_the_order_follows(client, service):
    token = service.manifest.contract("TestStablecoin").address
    store, buyer = Wallet(client, dev_account(2)), Wallet(client, dev_account(1))
    headers = register(client, "again-shop", store.address)
    order = create_order(client, "again-shop", headers, "N-1", 3_000_000, token)
    key = {"store": store.address, "order_number": "N-1", "buyer": buyer.address, "token": token}
    pay = {"key": key, "amount": "3000000", "snapshot_hash": order["snapshot_hash"]}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "6000000"})
    first = buyer.send("/settlements/open", pay)
    store.send("/settlements/reject", {"key": key})  # out of stock today
    assert view(client, service, "again-shop", headers, "N-1")["status"] == "refunded"
    built = client.post("/settlements/open", json=pay).json()
    again = buyer.send("/settlements/open", pay)  # in stock again: the same key pays again
    opened = [next(e for e in r["events"] if e["event"] == "SettlementOpened") for r in (first, again)]
    assert opened[0]["args"]["id"] != opened[1]["args"]["id"] == built["settlement_id"]
    state = view(client, service, "again-shop", headers, "N-1")
    assert (state["status"], state["settlement_id"], state["other_settlements"]) == (
        "paid",
        opened[1]["args"]["id"],
        [opened[0]["args"]["id"]],
    )


def test_a_blocklisted_store_is_credited_and_claims_to_another_address(client, service, chain, cli, tmp_path):
    from engine.chain.abi import FunctionEncoder

    from .conftest import deploy_artifact

    _, _, rpc = chain
    owner = dev_account(0).address
    token, _, abi = deploy_artifact(rpc, "TestBlocklistToken", ["address"], [owner])
    erc = FunctionEncoder(abi)
    settlement = service.manifest.contract("C2CSettlement")
    buyer, store, elsewhere = Wallet(client, dev_account(1)), Wallet(client, dev_account(2)), dev_account(8)
    for to, data in (
        (token, erc.encode("mint", buyer.address, 5_000_000)),
        (settlement.address, settlement.functions.encode("setTokenAllowed", token, True)),
    ):
        rpc.call("eth_sendTransaction", {"from": owner, "to": to, "data": data})
    headers = register(client, "blocked-shop", store.address)
    order = create_order(client, "blocked-shop", headers, "X-1", 5_000_000, token)
    key = {"store": store.address, "order_number": "X-1", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "5000000"})
    buyer.send("/settlements/open", {"key": key, "amount": "5000000", "snapshot_hash": order["snapshot_hash"]})
    rpc.call("eth_sendTransaction", {"from": owner, "to": token, "data": erc.encode("setBlocked", store.address, True)})
    done = buyer.send("/settlements/confirm", {"key": key})
    assert [e["event"] for e in done["events"] if e["event"] in ("SettlementCompleted", "PayoutCredited")] == [
        "SettlementCompleted",
        "PayoutCredited",
    ]
    state = view(client, service, "blocked-shop", headers, "X-1")
    assert state["status"] == "completed"
    credited = next(e for e in done["events"] if e["event"] == "PayoutCredited")
    assert state["credited"] == [
        {
            "recipient": store.address.lower(),
            "token": token.lower(),
            "amount": "5000000",
            "block_number": done["block_number"],
            "log_index": credited["log_index"],
            "claimed": False,
        }
    ]
    owed = answer(client.get(f"/credits/{store.address}"))
    assert [(c["contract"], c["address"], c["token"], c["credited"], c["claimed"], c["owed"]) for c in owed] == [
        ("C2CSettlement", settlement.address, token.lower(), "5000000", "0", "5000000")
    ]
    assert owed[0]["claim_route"] == "/settlements/claim-credit" and owed[0]["entries"][0]["claimed"] is False
    assert answer(client.get(f"/credits/{buyer.address}")) == []
    keystore = str(tmp_path / "store.json")
    cli("wallet", "import", "--keystore", keystore, env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(2).key.hex()})
    out = cli("wallet", "credits", "--keystore", keystore)
    assert "C2CSettlement" in out and "owed 5000000" in out and "--contract settlement" in out
    before = state["cursor"]
    claim = store.send("/settlements/claim-credit", {"owner": store.address, "token": token, "to": elsewhere.address})
    balance = erc.decode_output(
        "balanceOf", rpc.call("eth_call", {"to": token, "data": erc.encode("balanceOf", elsewhere.address)}, "latest")
    )[0]
    assert balance == 5_000_000
    # The claim is read: the order's credit is no longer owed (and the order moved, so a poller sees it) ...
    state = view(client, service, "blocked-shop", headers, "X-1")
    assert state["credited"][0]["claimed"] is True and state["cursor"] != before
    # ... and the ledger shows it claimed, to where it went.
    owed = answer(client.get(f"/credits/{store.address}"))[0]
    assert (owed["credited"], owed["claimed"], owed["owed"]) == ("5000000", "5000000", "0")
    assert [(e["kind"], e.get("claimed"), e.get("to")) for e in owed["entries"]] == [
        ("credited", True, None),
        ("claimed", None, elsewhere.address.lower()),
    ]
    assert owed["entries"][1]["tx_hash"] == claim["tx_hash"]
    out = cli("wallet", "credits", "--keystore", keystore)
    assert "owed 0" in out and "claim it" not in out
    assert client.get("/credits/nobody").status_code == 422
    live = service.view.snapshot(), service.credits.snapshot()
    service.view.rebuild()
    service.credits.rebuild()
    assert (service.view.snapshot(), service.credits.snapshot()) == live
