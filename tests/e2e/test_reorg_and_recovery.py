"""Reorgs and crashes on a real anvil: the view always equals a rebuild from the log."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from api.service import Service
from engine.chain.node import AnvilNode, deploy
from engine.chain.reader import OtherChain
from engine.settlement.escrow import SETTLEMENT_EVENTS, Settlement
from tests.load import DEV_ADDRESSES, Load

from .conftest import Wallet, comparable, create_order, dev_account, make_settings, register, view


def test_anvil_reorg_leaves_the_view_equal_to_a_rebuild_and_to_a_fresh_ingestion(client, service, chain, tmp_path):
    node, deployments, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    store, buyer = Wallet(client, dev_account(2)), Wallet(client, dev_account(1))
    headers = register(client, "reorg-shop", store.address)
    orders = {
        n: create_order(client, "reorg-shop", headers, n, amount, token)
        for n, amount in (("R-1", 20_000_000), ("R-2", 10_000_000))
    }
    keys = {
        n: {"store": o["payment"]["store"], "order_number": n, "buyer": buyer.address, "token": token}
        for n, o in orders.items()
    }
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "30000000"})
    for n in ("R-1",):
        buyer.send(
            "/settlements/open",
            {"key": keys[n], "amount": orders[n]["payment"]["amount"], "snapshot_hash": orders[n]["snapshot_hash"]},
        )
    assert view(client, service, "reorg-shop", headers, "R-1")["status"] == "paid"
    # The store signs a rejection now; the fork will carry it instead of the shipment.
    reject_raw = store.sign_only("/settlements/reject", {"key": keys["R-1"]})
    buyer.send(
        "/settlements/open", {"key": keys["R-2"], "amount": "10000000", "snapshot_hash": orders["R-2"]["snapshot_hash"]}
    )
    store.send(
        "/settlements/ship",
        {
            "key": keys["R-1"],
            "waybill": "SF-REORG-1",
            "amount": "20000000",
            "snapshot_hash": orders["R-1"]["snapshot_hash"],
        },
    )
    assert view(client, service, "reorg-shop", headers, "R-1")["status"] == "shipped"
    assert view(client, service, "reorg-shop", headers, "R-2")["status"] == "paid"
    head = rpc.block_number()

    # Replace the last two blocks (R-2's payment and R-1's shipment) by a fork holding the rejection.
    rpc.call("anvil_reorg", 2, [[reject_raw, 0]])
    assert rpc.block_number() == head
    r1 = view(client, service, "reorg-shop", headers, "R-1")
    r2 = view(client, service, "reorg-shop", headers, "R-2")
    assert service.reader.reorgs == 1
    assert r1["status"] == "refunded" and r1["refunded_to_payer"] == "20000000"
    assert [s["step"] for s in r1["steps"]] == ["SettlementOpened", "SettlementRejected"]
    assert r2["status"] == "awaiting_payment" and r2["settlement_id"] is None

    # The compensating events are in the log, and the view equals a rebuild from it ...
    kinds = [
        type(service.app.mapper.to_domain_event(n)).__name__
        for n in service.app.recorder.select_notifications(start=1, limit=1000)
    ]
    assert kinds.count("Retracted") == 2
    live = service.view.snapshot()
    history = {n: service.view.history("reorg-shop", n) for n in orders}
    assert [(h["step"], h.get("retracted", False)) for h in history["R-2"]] == [
        ("OrderCreated", False),
        ("SettlementOpened", False),
        ("SettlementOpened", True),
    ]
    service.view.rebuild()
    assert service.view.snapshot() == live
    assert {n: service.view.history("reorg-shop", n) for n in orders} == history
    # ... and equals what a reader that never saw the orphaned blocks builds in a new store.
    fresh = Service(replace(make_settings(tmp_path, deployments), db=str(tmp_path / "fresh.sqlite")), node.url)
    fresh.app.register_store("reorg-shop", "Reorg-Shop", store.address.lower())
    stored = service.app.repository
    for n in orders:
        o = stored.get(service.app.get_store_order("reorg-shop", n).id)
        fresh.app.create_store_order(
            fresh.app.get_store("reorg-shop"),
            n,
            o.amount,
            o.snapshot["token"],
            o.snapshot["buyer"],
            [],
            o.snapshot["time_limit"],
            fresh.transactions.settlement_rules(),
        )
    fresh.step()
    assert fresh.reader.reorgs == 0
    assert comparable(fresh.view.snapshot()) == comparable(live)


def _logged(app) -> list[tuple]:
    out = []
    for n in app.recorder.select_notifications(start=1, limit=1_000_000):
        event = app.mapper.to_domain_event(n)
        log = None
        if isinstance(event, Settlement.LogRecorded):
            log = {"event": event.event_name, "coords": event.coords}
        elif isinstance(event, Settlement.Discovered):
            log = event.first_log
        if log:
            out.append((log["coords"]["block_hash"], log["coords"]["log_index"], log["event"]))
    return out


def test_killing_the_engine_mid_ingestion_loses_and_duplicates_nothing(chain, tmp_path):
    node, deployments, rpc = chain
    settings = make_settings(tmp_path, deployments)
    probe = Service(settings, node.url)
    load = Load(rpc, probe.manifest)
    made = load.settlements(300, DEV_ADDRESSES[3:9], per_block=2, prefix="K")
    decoder = probe.manifest.contract("C2CSettlement").events
    chain_logs = [
        (lg["blockHash"], int(lg["logIndex"], 16), decoder.decode(lg)[0])
        for lg in rpc.get_logs([probe.manifest.contract("C2CSettlement").address], 0, rpc.block_number())
    ]
    chain_logs = [lg for lg in chain_logs if lg[2] in SETTLEMENT_EVENTS]
    assert len(chain_logs) == made["events"] == 600

    env = dict(
        os.environ,
        ORDERCHAIN_RPC_URL=node.url,
        ORDERCHAIN_DB=settings.db,
        ORDERCHAIN_VAR=str(tmp_path),
        ORDERCHAIN_DEPLOYMENTS=str(deployments),
        ORDERCHAIN_BLOCK_RANGE="1",
    )
    engine = [sys.executable, "-m", "api.cli", "engine"]

    def stored() -> int:
        try:
            with sqlite3.connect(f"file:{settings.db}?mode=ro", uri=True, timeout=5) as db:
                return db.execute(
                    "SELECT count(*) FROM stored_events WHERE topic LIKE '%Settlement.LogRecorded' "
                    "OR topic LIKE '%Settlement.Discovered'"
                ).fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0

    first = subprocess.Popen(engine, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while stored() < 150:
        assert first.poll() is None, first.stderr.read().decode()
        assert time.monotonic() < deadline, "the engine wrote nothing within a minute"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = stored()
    assert 150 <= at_kill < 600, f"the kill was not mid-ingestion ({at_kill} of 600 events stored)"

    second = subprocess.Popen(engine, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while stored() < 600:
            assert second.poll() is None, second.stderr.read().decode()
            assert time.monotonic() < deadline, f"restarted engine stalled at {stored()} events"
            time.sleep(0.05)
        time.sleep(0.5)  # one more poll round: nothing beyond the chain's logs appears
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    assert second.returncode in (0, 143, -15), second.stderr.read().decode()

    check = Service(settings, node.url)
    logged = _logged(check.app)
    assert len(logged) == len(set(logged)) == 600
    assert sorted(logged) == sorted(chain_logs)
    assert check.reader.cursor.block == rpc.block_number()
    live = check.view.snapshot()
    settlements = check.db.fetchall("SELECT count(*) FROM view_settlements")[0][0]
    assert settlements == 300
    check.view.rebuild()
    assert check.view.snapshot() == live


def test_a_settlement_reopened_after_a_reorg_is_recorded_by_a_restarted_reader(client, service, chain, tmp_path):
    node, _deployments, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    store, buyer = dev_account(2), Wallet(client, dev_account(1))
    headers = register(client, "again-shop", store.address)
    order = create_order(client, "again-shop", headers, "A-1", 4_000_000, token)
    key = {"store": store.address, "order_number": "A-1", "buyer": buyer.address, "token": token}
    buyer.send("/settlements/approve", {"owner": buyer.address, "token": token, "amount": "4000000"})
    body = {"key": key, "amount": "4000000", "snapshot_hash": order["snapshot_hash"]}
    buyer.send("/settlements/open", body)
    assert view(client, service, "again-shop", headers, "A-1")["status"] == "paid"
    rpc.call("anvil_reorg", 1, [])  # the payment's block is gone
    assert view(client, service, "again-shop", headers, "A-1")["status"] == "awaiting_payment"
    # A new engine process (nothing cached) sees the payment made again: the settlement's
    # aggregate exists (opened, then retracted), so its first log is appended, not re-created.
    buyer.send("/settlements/open", body)
    restarted = Service(service.settings, node.url)
    restarted.step()
    state = restarted.view.order("again-shop", "A-1")[1]
    assert state["status"] == "paid" and len(state["steps"]) == 1
    contract = restarted.manifest.contract("C2CSettlement").address
    aggregate = restarted.app.repository.get(Settlement.create_id(restarted.chain_id, contract, state["settlement_id"]))
    assert [type(e).__name__ for e in restarted.app.events.get(aggregate.id)] == [
        "Discovered",
        "Retracted",
        "LogRecorded",
    ]
    live = restarted.view.snapshot()
    restarted.view.rebuild()
    assert restarted.view.snapshot() == live


def test_an_event_store_of_another_chain_is_refused(chain, tmp_path):
    node, deployments, _ = chain
    settings = make_settings(tmp_path, deployments)
    Service(settings, node.url).step()
    with AnvilNode() as other:
        other_deployments = tmp_path / "other"
        deploy(other.url, str(other_deployments))
        with pytest.raises(OtherChain, match="another chain"):
            Service(replace(settings, deployments_dir=str(other_deployments)), other.url).step()
