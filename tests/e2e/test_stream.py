"""The store's order stream (server-sent events) against a real uvicorn server: live changes,
resume with Last-Event-ID (no change lost or repeated), heartbeats, a client too far behind."""

from __future__ import annotations

import threading
import time

from .conftest import ADMIN_HEADERS, dev_account


def shop(http, service, store_id: str) -> dict:
    r = http.post(
        "/stores",
        json={"store_id": store_id, "name": store_id, "address": dev_account(6).address},
        headers=ADMIN_HEADERS,
    )
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["api_key"]}


def order(http, store_id: str, headers: dict, number: str, token: str) -> None:
    r = http.post(
        f"/stores/{store_id}/orders",
        json={"order_number": number, "amount": "1000000", "token": token},
        headers=headers,
    )
    assert r.status_code == 201, r.text


def events(http, path: str, headers: dict, count: int, then=None, timeout: float = 10.0) -> list[dict]:
    """The first ``count`` events (and comments) of a stream; ``then()`` runs once it is open."""
    import json

    got: list[dict] = []
    current: dict = {}
    with http.stream("GET", path, headers=headers, timeout=timeout) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        if then:
            threading.Timer(0.2, then).start()
        for line in r.iter_lines():
            if line.startswith(":"):
                got.append({"comment": line[1:].strip()})
            elif line == "":
                if current:
                    if "data" in current and current.get("event") != "error":
                        current["data"] = json.loads(current["data"])
                    got.append(current)
                    current = {}
            else:
                field, _, value = line.partition(": ")
                current[field] = value
            if sum(1 for e in got if "id" in e or e.get("event") == "error") >= count:
                break
    return got


def test_changes_stream_live_and_a_reconnect_resumes_with_nothing_lost_or_repeated(served, service):
    token = service.manifest.contract("TestStablecoin").address
    headers = shop(served, service, "stream-shop")
    for n in ("S-1", "S-2", "S-3"):
        order(served, "stream-shop", headers, n, token)
    path = "/stores/stream-shop/orders/stream"

    # The backlog, then a change made while connected, pushed at once.
    started = time.monotonic()
    got = [
        e
        for e in events(served, path, headers, 4, then=lambda: order(served, "stream-shop", headers, "S-4", token))
        if "id" in e
    ]
    assert [e["data"]["order_number"] for e in got] == ["S-1", "S-2", "S-3", "S-4"]
    assert time.monotonic() - started < 5
    assert [e["event"] for e in got] == ["order"] * 4
    # Each event's id is the polling cursor of that change.
    page = served.get("/stores/stream-shop/orders", headers=headers).json()
    assert [e["id"] for e in got] == [o["cursor"] for o in page["orders"]]

    # Disconnected after S-2; two more orders meanwhile: the reconnect gets S-3, S-4, S-5, S-6, once each.
    for n in ("S-5", "S-6"):
        order(served, "stream-shop", headers, n, token)
    resumed = [e for e in events(served, path, {**headers, "Last-Event-ID": got[1]["id"]}, 4) if "id" in e]
    assert [e["data"]["order_number"] for e in resumed] == ["S-3", "S-4", "S-5", "S-6"]
    # ?after= does the same for clients that cannot set the header.
    tail = [e for e in events(served, f"{path}?after={resumed[-2]['id']}", headers, 1) if "id" in e]
    assert [e["data"]["order_number"] for e in tail] == ["S-6"]
    # Another store's key gets nothing of this store.
    assert served.get(path, headers={"X-API-Key": "wrong"}).status_code == 404
    assert served.get(path, headers={**headers, "Last-Event-ID": "not-a-cursor"}).status_code == 400


def test_an_idle_stream_gets_heartbeats_and_a_client_too_far_behind_is_told_why(served, service, monkeypatch):
    from api import stream

    token = service.manifest.contract("TestStablecoin").address
    headers = shop(served, service, "quiet-shop")
    service.settings.__dict__["sse_heartbeat"] = 0.2  # frozen dataclass: a test-only change
    started, lines = time.monotonic(), []
    with served.stream("GET", "/stores/quiet-shop/orders/stream", headers=headers) as r:
        for line in r.iter_lines():
            lines.append(line)
            if line == ": heartbeat":
                break
    assert lines[:2] == ["retry: 1000", ": orders of quiet-shop"] and time.monotonic() - started < 2
    order(served, "quiet-shop", headers, "Q-1", token)

    for n in ("Q-2", "Q-3", "Q-4", "Q-5"):
        order(served, "quiet-shop", headers, n, token)
    monkeypatch.setattr(stream, "BATCH", 1)
    monkeypatch.setattr(stream, "MAX_BEHIND", 2)
    got = [e for e in events(served, "/stores/quiet-shop/orders/stream", headers, 2) if "id" in e or "event" in e]
    assert got[0]["data"]["order_number"] == "Q-1"
    assert got[1]["event"] == "error" and "too slow: 4 changes behind" in got[1]["data"]
