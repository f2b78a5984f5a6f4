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
            assert wait_until(lambda: indexed(service) >= head, 2.0) < 2.0
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
    with socket.socket() as s:        # a port nobody serves
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    service = Service(make_settings(tmp_path, deployments, poll_interval=0.2, ws_url=f"ws://127.0.0.1:{closed}"),
                      node.url)
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
