"""The keeper releases expired settlements; the whole path also runs on PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import replace

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import Service

from .conftest import Wallet, create_order, dev_account, make_settings, register, view

KEEPER = dev_account(9)


def _paid_order(client, service, store_id, number, amount, buyer, store_address, **extra):
    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, store_id, store_address)
    order = create_order(client, store_id, headers, number, amount, token, **extra)
    key = {"store": order["payment"]["store"], "order_number": number, "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": str(amount)})
    # No time limit named: the route takes the order's own (a wallet that follows only the
    # OpenAPI document pays what the order's terms require).
    buyer.send("/settlements/open", {"key": key, "amount": str(amount), "snapshot_hash": order["snapshot_hash"]})
    return headers, key


def _wait_for(client, headers, number, status) -> dict:
    deadline = time.monotonic() + 15
    while (state := client.get(f"/stores/quiet-shop/orders/{number}", headers=headers).json())["status"] != status:
        assert time.monotonic() < deadline, f"the keeper did not end {number}: {state}"
        time.sleep(0.1)
    return state


def test_keeper_ends_what_a_silent_party_left_once_its_window_has_passed(chain, tmp_path):
    node, deployments, rpc = chain
    settings = make_settings(tmp_path, deployments, keeper_key=KEEPER.key.hex(), keeper_interval=0.2)
    service = Service(settings, node.url)
    with TestClient(create_app(service)) as client:
        buyer, store = Wallet(client, dev_account(1)), dev_account(5)
        headers, key = _paid_order(
            client, service, "quiet-shop", "Q-1", 7_000_000, buyer, store.address, time_limit=3600
        )
        token = service.manifest.contract("TestStablecoin").address
        claimed = create_order(client, "quiet-shop", headers, "Q-2", 4_000_000, token)
        claim_key = dict(key, order_number="Q-2")
        buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "4000000"})
        buyer.send(
            "/settlements/open",
            {
                "key": claim_key,
                "amount": "4000000",
                "snapshot_hash": claimed["snapshot_hash"],
                "time_limit": 10 * 86_400,
            },
        )
        buyer.send("/settlements/claim", {"key": claim_key, "amount_due": "1000000", "reason": "half broken"})
        assert view(client, service, "quiet-shop", headers, "Q-1")["status"] == "paid"
        assert view(client, service, "quiet-shop", headers, "Q-2")["status"] == "claimed"
        service.start()
        try:
            time.sleep(0.6)  # a few keeper rounds before any window passed: nothing is sent
            assert client.get("/stores/quiet-shop/orders/Q-1", headers=headers).json()["status"] == "paid"
            rpc.call("evm_increaseTime", 3601)  # the silent buyer's time limit
            rpc.call("evm_mine")
            released = _wait_for(client, headers, "Q-1", "released")
            assert client.get("/stores/quiet-shop/orders/Q-2", headers=headers).json()["status"] == "claimed"
            rpc.call("evm_increaseTime", 7 * 86_400)  # the silent store's response window
            rpc.call("evm_mine")
            executed = _wait_for(client, headers, "Q-2", "short_paid")
        finally:
            service.stop()
    assert released["paid_to_store"] == "7000000" and released["settlement_status"] == "released"
    assert (executed["ending"], executed["paid_to_store"], executed["refunded_to_payer"]) == (
        "claim_executed",
        "1000000",
        "3000000",
    )
    for state in (released, executed):
        tx = rpc.call("eth_getTransactionByHash", state["steps"][-1]["tx_hash"])
        assert tx["from"].lower() == KEEPER.address.lower()


def test_the_settlement_flow_on_postgresql(chain, tmp_path, postgres_db):
    node, deployments, _ = chain
    settings = replace(make_settings(tmp_path, deployments), db=postgres_db)
    service = Service(settings, node.url)
    with TestClient(create_app(service)) as client:
        buyer, store = Wallet(client, dev_account(1)), Wallet(client, dev_account(6))
        headers, key = _paid_order(client, service, "pg-shop", "P-1", 9_000_000, buyer, store.address)
        assert view(client, service, "pg-shop", headers, "P-1")["status"] == "paid"
        snapshot = client.get("/stores/pg-shop/orders/P-1", headers=headers).json()["snapshot_hash"]
        store.send("/settlements/ship", {"key": key, "waybill": "PG-1", "amount": "9000000", "snapshot_hash": snapshot})
        confirmed = buyer.send("/settlements/confirm", {"key": key})["block_number"]
        # Read your writes on PostgreSQL: the wait answers only once every view shows the block.
        late = client.get("/views/wait", params={"block": confirmed, "timeout": 0.2}).json()
        assert late["reached"] is False
        state = view(client, service, "pg-shop", headers, "P-1")
        assert state["status"] == "completed" and state["paid_to_store"] == "9000000"
        waited = client.get("/views/wait", params={"block": confirmed, "timeout": 5}).json()
        assert waited["reached"] is True
        assert {v["block"] for v in client.get("/status").json()["views"].values()} == {confirmed}
        live = service.view.snapshot()
    # Everything is in PostgreSQL: a second engine on the same database sees the same view,
    # and its rebuild from the event log gives it back.
    again = Service(settings, node.url)
    assert again.view.snapshot() == live
    assert again.app.recorder.max_notification_id() == service.app.recorder.max_notification_id()
    assert again.reader.cursor.block == service.reader.cursor.block
    again.view.rebuild()
    assert again.view.snapshot() == live
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute("SELECT count(*) FROM view_orders").fetchone()[0] == 1


def test_a_liquor_case_on_postgresql(chain, tmp_path, postgres_db):
    from api.client.liquor import loan_offer, pledge

    from .test_liquor_flow import bought_case, listed_plan, ok

    node, deployments, _ = chain
    settings = replace(make_settings(tmp_path, deployments), db=postgres_db)
    service = Service(settings, node.url)
    with TestClient(create_app(service)) as client:
        producer, buyer, warehouse, lender = (Wallet(client, dev_account(i)) for i in (2, 3, 6, 7))
        token = service.manifest.contract("TestStablecoin").address
        plan_id = listed_plan(client, service, producer, warehouse, token)
        token_id = bought_case(client, service, buyer, warehouse, plan_id, "PG-CASE-1")
        ok(pledge(buyer, loan_offer(lender, token_id, 1_000_000, 0, service.rpc.chain_time() + 86_400)))
        service.step()
        held = client.get(f"/liquor/holdings/{buyer.address}").json()
        assert [(c["token_id"], c["state"]) for c in held] == [(token_id, "pledged")]
        assert client.get(f"/liquor/plans/{plan_id}").json()["inventory"]["pledged"] == 1
        live = service.liquor.snapshot()
    again = Service(settings, node.url)
    assert again.liquor.snapshot() == live
    again.liquor.rebuild()
    assert again.liquor.snapshot() == live
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute("SELECT count(*) FROM view_liquor_loans").fetchone()[0] == 1
