"""One cursor per chain: a contract that joins later is backfilled without duplicates or
gaps; range reads are linked to the checkpoint; a node that comes back as another chain
halts the engine until a person acts."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from dataclasses import replace

from fastapi.testclient import TestClient

from api.app import create_app
from api.service import Service
from engine.chain.abi import FunctionEncoder
from engine.chain.cursor import ChainCursor
from engine.chain.node import AnvilNode, deploy
from engine.chain.rpc import Rpc
from engine.chain.source import log_of
from engine.registry import SOURCES
from engine.settlement.escrow import SOURCE as SETTLEMENT_SOURCE
from engine.settlement.escrow import Settlement
from tests.load import DEV_ADDRESSES, Load

from .conftest import Wallet, create_order, deploy_artifact, dev_account, make_settings, register, view

DAY = 86_400
SECOND = "C2CSettlementB"


def _mined(rpc: Rpc, tx_hash: str) -> dict:
    deadline = time.monotonic() + 10
    while (receipt := rpc.call("eth_getTransactionReceipt", tx_hash)) is None:
        assert time.monotonic() < deadline, "transaction not mined"
        time.sleep(0.02)
    assert receipt["status"] == "0x1", receipt
    return receipt


def deploy_second_settlement(rpc: Rpc, manifest_path, token: str) -> str:
    """Deploys another C2CSettlement from the compiled artifact and adds it to the manifest."""
    owner = DEV_ADDRESSES[0]
    address, block, abi = deploy_artifact(
        rpc,
        "C2CSettlement",
        ["address", "address"] + ["uint32"] * 6,
        [owner, owner, 10 * DAY, 3600, 90 * DAY, 7 * DAY, 30 * DAY, 3 * DAY],
    )
    _mined(
        rpc,
        rpc.call(
            "eth_sendTransaction",
            {"from": owner, "to": address, "data": FunctionEncoder(abi).encode("setTokenAllowed", token, True)},
        ),
    )
    manifest = json.loads(manifest_path.read_text())
    manifest["contracts"][SECOND] = {"address": address, "block": block, "abi": abi}
    manifest_path.write_text(json.dumps(manifest))
    return address


def recorded_logs(app) -> Counter:
    """How many times each chain log was recorded: (contract, block hash, log index) -> count."""
    seen: Counter = Counter()
    for n in app.recorder.select_notifications(start=1, limit=1_000_000):
        event = app.mapper.to_domain_event(n)
        log = log_of(event)
        if log is not None:
            contract = event.contract if isinstance(event, Settlement.Discovered) else None
            seen[(contract, log["coords"]["block_hash"], log["coords"]["log_index"])] += 1
    return seen


def test_a_contract_that_joins_a_running_event_store_is_backfilled_once(chain, tmp_path):
    node, deployments, rpc = chain
    settings = make_settings(tmp_path, deployments)
    first = Service(settings, node.url)
    token = first.manifest.contract("TestStablecoin").address
    store = first.app.register_store("two-shop", "Two Shop", DEV_ADDRESSES[2])[0]
    rules = first.transactions.settlement_rules()
    hashes = {}
    for number in [f"A-{i}" for i in range(6)] + [f"B-{i}" for i in range(8)]:
        hashes[number] = first.app.create_store_order(
            store, number, 1_000_000, token, None, [], None, rules
        ).snapshot_hash
    Load(rpc, first.manifest).settlements(3, DEV_ADDRESSES[3:5], snapshot_hashes=hashes, prefix="A", per_block=2)
    first.step()
    before = recorded_logs(first.app)
    assert sum(before.values()) == 6

    # A second settlement contract is deployed; it takes payments before the engine knows it,
    # while the first one goes on too.
    manifest_path = deployments / f"{first.chain_id}.json"
    original = manifest_path.read_text()
    try:
        second = deploy_second_settlement(rpc, manifest_path, token)
        joined = Service(settings, node.url, sources=SOURCES + (replace(SETTLEMENT_SOURCE, contract=SECOND),))
        load_b = Load(rpc, joined.manifest, contract=SECOND)
        load_b.settlements(4, DEV_ADDRESSES[5:7], snapshot_hashes=hashes, prefix="B", per_block=3)
        Load(rpc, first.manifest).settlements(
            3, DEV_ADDRESSES[3:5], snapshot_hashes=hashes, prefix="A", per_block=2, start=3
        )
        first.step()  # the running engine, which does not follow the second contract yet
        assert joined.reader.cursor.backfilling == {second: joined.manifest.contract(SECOND).block - 1}

        joined.step()  # backfills the second contract up to the cursor, then follows both
        assert joined.reader.cursor.backfilling == {}
        load_b.settlements(4, DEV_ADDRESSES[5:7], snapshot_hashes=hashes, prefix="B", per_block=3, start=4)
        joined.step()
    finally:
        manifest_path.write_text(original)

    seen = recorded_logs(joined.app)
    assert max(seen.values()) == 1, "a log was recorded twice"
    chain_logs = rpc.get_logs([first.manifest.contract("C2CSettlement").address, second], 0, rpc.block_number())
    assert {
        (lg["blockHash"], int(lg["logIndex"], 16)) for lg in chain_logs if lg["topics"][0] in _settlement_topics(joined)
    } == {(h, i) for _, h, i in seen}
    assert sum(seen.values()) == 12 + 16
    cursors = {
        n.originator_id
        for n in joined.app.recorder.select_notifications(start=1, limit=1_000_000)
        if ":ChainCursor." in n.topic
    }
    assert cursors == {ChainCursor.create_id(joined.chain_id)}  # one cursor, before and after the join
    statuses = Counter(status for status, _ in joined.view.snapshot().values())
    assert statuses == {"completed": 14}
    live = joined.view.snapshot()
    joined.view.rebuild()
    assert joined.view.snapshot() == live


def _settlement_topics(service: Service) -> set[str]:
    decoder = service.manifest.contract("C2CSettlement").events
    return {topic for topic, spec in decoder.events.items() if spec.name in SETTLEMENT_SOURCE.events}


class ReorgAfterCheck(Rpc):
    """A node that reorganises right after the reader's continuity check, once: before the
    new block's logs are read (asked for by the block's hash, or over a range)."""

    def __init__(self, url: str, fork: list):
        super().__init__(url)
        self.fork = fork
        self.armed = False

    def call(self, method, *params):
        if self.armed and method == "eth_getLogs":
            self.armed = False
            super().call("anvil_reorg", 2, self.fork)
        return super().call(method, *params)


def test_a_reorg_between_the_continuity_check_and_the_range_read_is_seen(client, service, chain):
    node, _, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    alice, bob = Wallet(client, dev_account(1)), Wallet(client, dev_account(3))
    headers = register(client, "race-shop", dev_account(2).address)
    orders = {n: create_order(client, "race-shop", headers, n, 1_000_000, token) for n in ("R-1", "R-2")}
    keys = {
        "R-1": {"store": dev_account(2).address, "order_number": "R-1", "buyer": alice.address, "token": token},
        "R-2": {"store": dev_account(2).address, "order_number": "R-2", "buyer": bob.address, "token": token},
    }
    alice.send("/settlements/approve", {"owner": alice.address, "token": token, "amount": "1000000"})
    bob.send("/settlements/approve", {"owner": bob.address, "token": token, "amount": "1000000"})
    fork_payment = bob.sign_only(
        "/settlements/open", {"key": keys["R-2"], "amount": "1000000", "snapshot_hash": orders["R-2"]["snapshot_hash"]}
    )
    alice.send(
        "/settlements/open", {"key": keys["R-1"], "amount": "1000000", "snapshot_hash": orders["R-1"]["snapshot_hash"]}
    )
    assert view(client, service, "race-shop", headers, "R-1")["status"] == "paid"

    rpc.call("anvil_mine", "0x1")
    racing = ReorgAfterCheck(node.url, [[fork_payment, 0]])
    service.reader.rpc = racing
    racing.armed = True  # the continuity check passes; then blocks N (Alice's payment) and N+1 are replaced
    service.step()
    assert not racing.armed, "the reorg was not injected"
    service.step()
    r1 = view(client, service, "race-shop", headers, "R-1")
    r2 = view(client, service, "race-shop", headers, "R-2")
    assert (r1["status"], r2["status"]) == ("awaiting_payment", "paid")
    history = client.get("/stores/race-shop/orders/R-1/history", headers=headers).json()["history"]
    assert [(h["step"], h["retracted"]) for h in history] == [
        ("OrderCreated", False),
        ("SettlementOpened", False),
        ("SettlementOpened", True),
    ]
    live = service.view.snapshot()
    service.view.rebuild()
    assert service.view.snapshot() == live


def test_a_node_that_comes_back_as_another_chain_halts_the_engine(tmp_path):
    node = AnvilNode()
    port = node.port
    deployments = tmp_path / "deployments"
    deploy(node.url, str(deployments))
    service = Service(make_settings(tmp_path, deployments, poll_interval=0.05), node.url)
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        register(client, "lost-shop", dev_account(2).address)
        service.start()
        assert client.get("/ready").status_code == 200
        node.stop()  # the node's state is lost: it comes back as a new chain on the same address
        other = AnvilNode(port=port)
        try:
            deadline = time.monotonic() + 15
            while service.halted is None:
                assert time.monotonic() < deadline, f"the engine did not halt: {client.get('/status').json()}"
                time.sleep(0.05)
            status = client.get("/status").json()
            assert status["ready"] is False and "another chain" in status["halted"]
            ready = client.get("/ready")
            assert ready.status_code == 503 and "another chain" in ready.json()["detail"]
            token = service.manifest.contract("TestStablecoin").address
            built = client.post(
                "/settlements/approve", json={"owner": dev_account(1).address, "token": token, "amount": "1"}
            )
            assert built.status_code == 503 and built.json()["title"] == "Engine halted"
            assert service.reader.cursor.block > 0  # what was indexed stays as it was
            assert not service._thread.is_alive()  # it stopped following; a person must act
        finally:
            service.stop()
            other.stop()


def test_an_event_store_of_the_earlier_cursor_layout_is_taken_over_without_reading_again(chain, tmp_path):
    node, deployments, rpc = chain
    settings = make_settings(tmp_path, deployments)
    earlier = Service(settings, node.url)
    store = earlier.app.register_store("old-shop", "Old Shop", DEV_ADDRESSES[2])[0]
    token = earlier.manifest.contract("TestStablecoin").address
    rules = earlier.transactions.settlement_rules()
    hashes = {
        f"O-{i}": earlier.app.create_store_order(store, f"O-{i}", 1_000_000, token, None, [], None, rules).snapshot_hash
        for i in range(5)
    }
    load = Load(rpc, earlier.manifest)
    load.settlements(3, DEV_ADDRESSES[3:5], snapshot_hashes=hashes, prefix="O", per_block=2)
    earlier.step()
    block = earlier.reader.cursor.block
    # What the earlier layout wrote: a cursor per set of contracts (its own id and topic) and
    # settlements discovered under `settlement_id` (class version 1).
    settlement = earlier.manifest.contract("C2CSettlement").address
    legacy = ChainCursor.legacy_id(earlier.chain_id, [settlement])
    with sqlite3.connect(settings.db) as db:
        db.execute(
            "UPDATE stored_events SET originator_id = ?, topic = replace(topic, 'engine.chain.cursor:', "
            "'engine.chain.reader:') WHERE originator_id = ?",
            (legacy.hex, ChainCursor.create_id(earlier.chain_id).hex),
        )
        assert db.execute("SELECT changes()").fetchone()[0] > 0
        db.execute("DELETE FROM stored_snapshots")
        rows = db.execute("SELECT rowid, state FROM stored_events WHERE topic LIKE '%Settlement.Discovered'").fetchall()
        for rowid, state in rows:
            old = json.loads(state)
            old["settlement_id"] = old.pop("key")
            old.pop("class_version")
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (json.dumps(old).encode(), rowid))
    assert len(rows) == 3

    load.settlements(2, DEV_ADDRESSES[3:5], snapshot_hashes=hashes, prefix="O", per_block=2, start=3)
    upgraded = Service(settings, node.url)
    assert upgraded.reader.cursor.block == block  # taken over, not started from the deployment block
    upgraded.step()
    seen = recorded_logs(upgraded.app)
    assert max(seen.values()) == 1 and sum(seen.values()) == 10
    old = upgraded.app.repository.get(
        Settlement.create_id(upgraded.chain_id, settlement, load_settlement_id(load, "O-0", DEV_ADDRESSES[3]))
    )
    assert old.status == "completed" and old.settlement_id.startswith("0x")  # v1 events read as v2
    assert Counter(status for status, _ in upgraded.view.snapshot().values()) == {"completed": 5}


def load_settlement_id(load: Load, number: str, buyer: str) -> str:
    from engine.settlement.escrow import SettlementKey
    from engine.settlement.store_order import order_number_bytes32

    return SettlementKey(load.store, order_number_bytes32(number), buyer, buyer, load.token).settlement_id()
