"""The live read path: the reader wakes on the node's new heads, and polls when it cannot have them."""

from __future__ import annotations

import socket
import time

from api.service import Service

from .conftest import make_settings


def indexed(service) -> int:
    return service.status()["indexed_block"] or -1


def wait_until(condition, timeout: float) -> float:
    """Seconds until ``condition()`` held; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.005)
    return time.monotonic() - started


def test_a_new_head_wakes_the_reader_long_before_its_poll(chain, tmp_path):
    node, deployments, rpc = chain
    # Polling alone would look again only after 30 s.
    service = Service(make_settings(tmp_path, deployments, poll_interval=30.0), node.url)
    try:
        service.start()
        heads = service.engine.heads
        wait_until(lambda: heads.subscribed, 5)
        assert service.engine.ws_url == node.url.replace("http://", "ws://")
        for _ in range(3):
            rpc.call("evm_mine")
            head = rpc.block_number()
            assert wait_until(lambda head=head: indexed(service) >= head, 2.0) < 2.0
        assert heads.notifications >= 3 and heads.last_head >= head

        # The subscription drops: the watcher subscribes again (polling meanwhile).
        heads._socket.close()
        wait_until(lambda: heads.connections == 2 and heads.subscribed, 10)
        rpc.call("evm_mine")
        head = rpc.block_number()
        wait_until(lambda: indexed(service) >= head, 2.0)
    finally:
        service.stop()


def test_without_new_heads_the_reader_polls_at_its_interval(chain, tmp_path):
    node, deployments, rpc = chain
    with socket.socket() as s:  # a port nobody serves
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    service = Service(
        make_settings(tmp_path, deployments, poll_interval=0.2, ws_url=f"ws://127.0.0.1:{closed}"), node.url
    )
    try:
        service.start()
        wait_until(lambda: service.engine.heads.last_error is not None, 5)
        assert not service.engine.heads.subscribed
        rpc.call("evm_mine")
        head = rpc.block_number()
        wait_until(lambda: indexed(service) >= head, 2.0)
    finally:
        service.stop()
    off = Service(make_settings(tmp_path / "off", deployments, ws_url="off"), node.url)
    try:
        assert off.engine.ws_url is None
    finally:
        off.stop()


def test_a_slow_chore_holds_back_no_reading(chain, tmp_path):
    """The keeper and the chores run in a thread of their own: while one is busy (here it
    waits until the test lets it go) the reader and the views still follow the chain."""
    import threading

    from engine.runner import Chore

    node, deployments, rpc = chain
    service = Service(make_settings(tmp_path, deployments, poll_interval=0.05), node.url)
    entered, release = threading.Event(), threading.Event()

    def slow():
        entered.set()
        release.wait(10)

    service.engine.chores.append(Chore("slow", 0.0, slow))
    try:
        service.start()
        assert entered.wait(5)
        for _ in range(3):
            rpc.call("evm_mine")
            head = rpc.block_number()
            wait_until(lambda head=head: indexed(service) >= head, 2.0)
        assert not release.is_set()  # the chore is still busy
    finally:
        release.set()
        service.stop()


def samples(client) -> dict[tuple, float]:
    from prometheus_client.parser import text_string_to_metric_families

    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_metrics_are_named_and_move_when_the_engine_works(chain, service, client):
    from engine.cross_border.orders import CONTRACT

    from .conftest import dev_account

    _, _, rpc = chain
    chain_label = (("chain_id", str(service.chain_id)),)
    service.step()
    client.get("/status")
    before = samples(client)
    names = {name for name, _ in before}
    for name in (
        "orderchain_chain_head_block",
        "orderchain_indexed_block",
        "orderchain_lag_blocks",
        "orderchain_events_ingested_total",
        "orderchain_reorgs_total",
        "orderchain_retracted_logs_total",
        "orderchain_view_position",
        "orderchain_keeper_releases_total",
        "orderchain_webhook_deliveries_total",
        "orderchain_sse_clients",
        "orderchain_new_heads_subscribed",
        "orderchain_http_request_duration_seconds_bucket",
    ):
        assert name in names, name

    buyer = dev_account(3)
    token = service.manifest.contract("TestStablecoin").address
    for build in (
        lambda: service.transactions.approve(token, buyer.address, 1_000, spender=CONTRACT),
        lambda: service.transactions.call(
            CONTRACT, "pay", (dev_account(2).address, token, 900, 100, b"\x01" * 32, 0, 30 * 86_400), buyer.address
        ),
    ):
        tx = build()
        outcome = service.transactions.relay("0x" + buyer.sign_transaction(tx).raw_transaction.hex())
        assert outcome["status"] == "success", outcome
    service.step()
    client.get("/status")
    after = samples(client)
    assert (
        after[("orderchain_events_ingested_total", chain_label)]
        == before.get(("orderchain_events_ingested_total", chain_label), 0) + 1
    )
    assert after[("orderchain_indexed_block", chain_label)] == rpc.block_number()
    assert after[("orderchain_lag_blocks", chain_label)] == 0
    assert (
        after[("orderchain_view_position", (("view", "cross_border"),))]
        > before[("orderchain_view_position", (("view", "cross_border"),))]
    )
    status = (
        "orderchain_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/status"), ("status", "200")),
    )
    assert after[status] == before.get(status, 0) + 1

    rpc.call("anvil_reorg", 1, [])  # the payment's block is gone
    service.step()
    moved = samples(client)
    assert moved[("orderchain_reorgs_total", chain_label)] == before[("orderchain_reorgs_total", chain_label)] + 1
    assert (
        moved[("orderchain_retracted_logs_total", chain_label)]
        == before[("orderchain_retracted_logs_total", chain_label)] + 1
    )
