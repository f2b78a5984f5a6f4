"""Read your writes, and a failing view in plain sight: each view's block in /status, a wait
for a view's block, and a view that fails shown in /status, /ready and /metrics while the
others go on."""

from __future__ import annotations

import time


def _settle(client, service, block: int) -> None:
    deadline = time.monotonic() + 10
    while (service.status()["indexed_block"] or -1) < block:
        assert time.monotonic() < deadline, "the engine did not index the block"
        service.step()


def test_each_view_shows_its_block_and_a_failing_view_stops_only_itself(client, service, chain, monkeypatch):
    _, _, rpc = chain
    rpc.call("evm_mine")
    head = rpc.block_number()
    _settle(client, service, head)
    status = client.get("/status").json()
    assert status["views_block"] == head and status["ready"] is True
    assert {v["block"] for v in status["views"].values()} == {head}
    waited = client.get("/views/wait", params={"block": head, "timeout": 5}).json()
    assert waited["reached"] is True and set(waited["views"]) == set(status["views"])

    def broken(*_, **__):
        raise RuntimeError("a row the view cannot write")

    monkeypatch.setattr(service.group_buy, "catch_up", broken)
    monkeypatch.setattr(service.group_buy, "idle_for", lambda handed: False)  # not passed over with the idle views
    rpc.call("evm_mine")
    head = rpc.block_number()
    _settle(client, service, head)
    status = client.get("/status").json()
    assert status["views"]["group_buy"]["error"] == "RuntimeError: a row the view cannot write"
    assert status["views"]["group_buy"]["block"] < head and status["views_block"] < head
    assert status["views"]["store_orders"]["block"] == head and status["views"]["cross_border"]["block"] == head
    assert status["ready"] is False
    ready = client.get("/ready")
    assert ready.status_code == 503 and "group_buy: RuntimeError" in ready.json()["detail"]
    assert 'orderchain_view_failed{view="group_buy"} 1.0' in client.get("/metrics").text
    assert client.get("/views/wait", params={"block": head, "views": "store_orders,liquor"}).json()["reached"]
    late = client.get("/views/wait", params={"block": head, "views": "group_buy", "timeout": 0.3}).json()
    assert late["reached"] is False and late["waited_ms"] >= 300
    assert client.get("/views/wait", params={"block": head, "views": "nonsense"}).status_code == 400

    monkeypatch.undo()
    service.step()
    status = client.get("/status").json()
    assert status["views"]["group_buy"] == {
        "position": status["views"]["store_orders"]["position"],
        "block": head,
        "error": None,
    }
    assert status["ready"] is True and client.get("/ready").status_code == 200
