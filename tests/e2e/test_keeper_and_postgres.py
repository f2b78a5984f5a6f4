"""The keeper releases expired settlements; the whole path also runs on PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import Service

from .conftest import Wallet, create_order, dev_account, make_settings, register, view

KEEPER = dev_account(9)
POSTGRES = os.environ.get("ORDERCHAIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _paid_order(client, service, store_id, number, amount, buyer, store_address, **extra):
    token = service.manifest.contract("TestStablecoin").address
    headers = register(client, store_id, store_address)
    order = create_order(client, store_id, headers, number, amount, token, **extra)
    key = {"store": order["payment"]["store"], "order_number": number, "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": str(amount)})
    buyer.send("/settlements/open", {"key": key, "amount": str(amount), "snapshot_hash": order["snapshot_hash"],
                                     "time_limit": extra.get("time_limit", 0)})
    return headers, key


def test_keeper_releases_a_settlement_once_its_time_limit_has_passed(chain, tmp_path):
    node, deployments, rpc = chain
    settings = make_settings(tmp_path, deployments, keeper_key=KEEPER.key.hex(), keeper_interval=0.2)
    service = Service(settings, node.url)
    with TestClient(create_app(service)) as client:
        buyer = Wallet(client, dev_account(1))
        headers, key = _paid_order(client, service, "quiet-shop", "Q-1", 7_000_000, buyer,
                                   dev_account(5).address, time_limit=3600)
        assert view(client, service, "quiet-shop", headers, "Q-1")["status"] == "paid"
        service.start()
        try:
            time.sleep(0.6)   # a few keeper rounds before the deadline: nothing is sent
            assert client.get("/stores/quiet-shop/orders/Q-1", headers=headers).json()["status"] == "paid"
            rpc.call("evm_increaseTime", 3601)
            rpc.call("evm_mine")
            deadline = time.monotonic() + 15
            while (state := client.get("/stores/quiet-shop/orders/Q-1", headers=headers).json())["status"] != "released":
                assert time.monotonic() < deadline, f"keeper did not release: {state}"
                time.sleep(0.1)
        finally:
            service.stop()
    assert state["paid_to_store"] == "7000000" and state["settlement_status"] == "released"
    release = state["steps"][-1]
    tx = rpc.call("eth_getTransactionByHash", release["tx_hash"])
    assert tx["from"].lower() == KEEPER.address.lower()


@pytest.fixture
def postgres_db():
    """A database of its own on the PostgreSQL server, dropped afterwards."""
    name = f"orderchain_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
        buyer.send("/settlements/confirm", {"key": key})
        state = view(client, service, "pg-shop", headers, "P-1")
        assert state["status"] == "completed" and state["paid_to_store"] == "9000000"
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
