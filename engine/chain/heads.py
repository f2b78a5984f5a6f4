"""New-head notifications: the node tells the reader when a block arrives.

:class:`HeadWatcher` keeps an ``eth_subscribe("newHeads")`` subscription open over the
node's WebSocket (anvil serves WebSocket on its HTTP port) and sets a wake-up event on
each notification. The notification is only a wake-up: the reader still reads ranges with
its continuity checks, so a missed or duplicated notification changes nothing but latency.
When the node has no WebSocket, refuses the subscription or drops it, the reader polls at
the configured interval meanwhile, and the watcher tries again with a growing pause.
"""

from __future__ import annotations

import json
import logging
import socket as sockets
import threading
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger("orderchain.heads")
RETRY_FIRST = 1.0  # seconds before reconnecting after a failure; doubled each time
RETRY_MAX = 60.0
OPEN_TIMEOUT = 3.0


def quick_ack(sock) -> None:
    """Acknowledges what was received at once. A node whose WebSocket server leaves Nagle's
    algorithm on waits for our acknowledgement before sending the next small frame, and
    Linux delays acknowledgements by up to 40 ms: every twentieth head or so would arrive late."""
    if hasattr(sockets, "TCP_QUICKACK"):
        try:
            sock.setsockopt(sockets.IPPROTO_TCP, sockets.TCP_QUICKACK, 1)
        except OSError:
            pass


def derived_ws_url(rpc_url: str | None) -> str | None:
    """The WebSocket URL of a node on this machine (anvil serves both on one port); None elsewhere."""
    if not rpc_url:
        return None
    parts = urlparse(rpc_url)
    if parts.scheme not in ("http", "https") or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    return parts._replace(scheme="ws" if parts.scheme == "http" else "wss").geturl()


class HeadWatcher:
    """Sets ``wake`` on every new head the node announces (see the module docstring)."""

    def __init__(self, url: str, wake: threading.Event):
        self.url = url
        self.wake = wake
        self.subscribed = False
        self.notifications = 0
        self.last_head: int | None = None
        self.last_error: str | None = None
        self.connections = 0
        self._stop = threading.Event()
        self._socket: Any = None  # the websocket while connected
        self._thread: threading.Thread | None = None

    def start(self) -> HeadWatcher:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="orderchain-heads", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        socket = self._socket
        if socket is not None:
            try:
                socket.close()
            except Exception:
                pass
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        pause = RETRY_FIRST
        while not self._stop.is_set():
            try:
                self._listen()
                pause = RETRY_FIRST  # a subscription that lived and ended: reconnect soon
            except Exception as exc:
                if self._stop.is_set():
                    return
                if self.last_error is None or not self.last_error.startswith(type(exc).__name__):
                    log.warning(
                        "no new-head subscription on %s (%s: %s); polling meanwhile", self.url, type(exc).__name__, exc
                    )
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self.subscribed = False
                self._socket = None
            self.wake.set()  # whatever was missed meanwhile is read now
            if self._stop.wait(pause):
                return
            pause = min(RETRY_MAX, pause * 2)

    def _listen(self) -> None:
        from websockets.sync.client import connect

        with connect(self.url, open_timeout=OPEN_TIMEOUT, max_size=2**22) as socket:
            self._socket = socket
            quick_ack(socket.socket)
            socket.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            reply = json.loads(socket.recv(timeout=OPEN_TIMEOUT))
            if "result" not in reply:
                raise RuntimeError(f"the node refused the subscription: {reply.get('error')}")
            subscription = reply["result"]
            self.subscribed = True
            self.connections += 1
            self.last_error = None
            log.info("following new heads on %s", self.url)
            for message in socket:
                quick_ack(socket.socket)
                if self._stop.is_set():
                    return
                note = json.loads(message)
                params = note.get("params") or {}
                if note.get("method") == "eth_subscription" and params.get("subscription") == subscription:
                    head = (params.get("result") or {}).get("number")
                    self.last_head = int(head, 16) if isinstance(head, str) else self.last_head
                    self.notifications += 1
                    self.wake.set()
