"""Server-sent events of a store's orders (and of alarms, for the operator and each store):
each change as an event whose id is its polling cursor.

A client that reconnects with ``Last-Event-ID`` (or ``?after=<cursor>``) gets every change
after it, none twice: the stream reads the view by position, exactly as polling does (an
order changed twice since is sent once, in its latest state). Comments keep proxies from
closing an idle stream. Nothing is queued per client: a client that reads too slowly
either falls too far behind (it is told so in an ``error`` event and the stream ends:
reconnect with the last id) or stops reading altogether (the write times out and the
connection is closed); both are counted in ``orderchain_sse_dropped``. A stream ends after
``sse_lifetime`` seconds (``ORDERCHAIN_SSE_LIFETIME``): the client reconnects a second later
with its last id and misses nothing, and long-lived clients spread again over the workers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from starlette.responses import Response

from api import present
from engine import metrics

log = logging.getLogger("orderchain.stream")
BATCH = 200  # changes read at a time
MAX_BEHIND = 20_000  # changes a client may trail the store's latest by before it is dropped
SEND_TIMEOUT = 10.0  # seconds one write may wait for a client that does not read


def event(seq: int, data: bytes, kind: bytes = b"order") -> bytes:
    return b"id: " + present.encode_cursor(seq).encode() + b"\nevent: " + kind + b"\ndata: " + data + b"\n\n"


class ChangeStream(Response):
    """The ASGI response of one client's stream of a view's changes (see the module docstring).
    Subclasses say what the stream is of (:attr:`label`), read the changes after a position
    (:meth:`changes`: ``(seq, event bytes)`` oldest first) and the latest position (:meth:`latest`)."""

    media_type = "text/event-stream"

    def __init__(self, svc, label: str, after: int, heartbeat: float):
        self.status_code = 200
        self.background = None
        self.svc = svc
        self.label = label
        self.seq = after
        self.heartbeat = heartbeat
        self.lifetime = svc.settings.sse_lifetime
        self.sent = 0

    def changes(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        raise NotImplementedError

    def latest(self) -> int:
        raise NotImplementedError

    async def __call__(self, scope, receive, send):
        gone = asyncio.Event()

        async def listen():
            while True:
                if (await receive())["type"] == "http.disconnect":
                    gone.set()
                    return

        listener = asyncio.ensure_future(listen())
        waiter = self.svc.watch(asyncio.get_running_loop())
        metrics.SSE_CLIENTS.inc()
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-cache"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            await self._write(send, b"retry: 1000\n: " + self.label.encode() + b"\n\n")
            await self._run(send, waiter[1], gone)
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            metrics.SSE_DROPPED.inc()
            log.warning(
                "SSE client of %s dropped: it stopped reading (no write within %.0f s)", self.label, SEND_TIMEOUT
            )
        except OSError:
            pass
        finally:
            metrics.SSE_CLIENTS.dec()
            self.svc.unwatch(waiter)
            listener.cancel()

    async def _write(self, send, body: bytes) -> None:
        await asyncio.wait_for(send({"type": "http.response.body", "body": body, "more_body": True}), SEND_TIMEOUT)

    async def _run(self, send, changed: asyncio.Event, gone: asyncio.Event) -> None:
        idle = min(self.heartbeat, self.svc.look_every(self.svc.settings.poll_interval))
        last_write = time.monotonic()
        ends = last_write + self.lifetime
        while not gone.is_set() and time.monotonic() < ends:
            changed.clear()
            rows = self.changes(self.seq, BATCH)
            if rows:
                behind = self.latest() - rows[-1][0]
                await self._write(send, b"".join(chunk for _, chunk in rows))
                self.seq, self.sent, last_write = rows[-1][0], self.sent + len(rows), time.monotonic()
                if behind > MAX_BEHIND:
                    metrics.SSE_DROPPED.inc()
                    reason = {
                        "reason": f"too slow: {behind} changes behind the latest; reconnect with "
                        "Last-Event-ID to carry on",
                        "last_event_id": present.encode_cursor(self.seq),
                    }
                    await self._write(send, b"event: error\ndata: " + json.dumps(reason).encode() + b"\n\n")
                    return
                if len(rows) == BATCH:
                    continue
            wait = max(0.0, self.heartbeat - (time.monotonic() - last_write))
            try:
                left = max(0.001, ends - time.monotonic())
                await asyncio.wait_for(_first(changed, gone), min(wait, idle, left) if wait > 0 else 0.001)
            except TimeoutError:
                pass
            if not gone.is_set() and time.monotonic() - last_write >= self.heartbeat:
                await self._write(send, b": heartbeat\n\n")
                last_write = time.monotonic()


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


class OrderStream(ChangeStream):
    """A store's orders, each as ``GET /stores/{id}/orders/{number}`` shows it."""

    def __init__(self, svc, rows: present.RowCache, store_id: str, after: int, heartbeat: float, head):
        super().__init__(svc, f"orders of {store_id}", after, heartbeat)
        self.rows = rows
        self.store_id = store_id
        self.head = head  # () -> the chain head the rows' confirmations are counted from

    def changes(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        rows = self.svc.view.orders_raw(self.store_id, after=after, limit=limit)
        head = self.head() if rows else 0
        return [(s, event(s, self.rows.get((self.store_id, n), s, head, d))) for s, n, d in rows]

    def latest(self) -> int:
        return self.svc.view.latest_seq(self.store_id)


class AlarmStream(ChangeStream):
    """Alarms as they are raised, acknowledged and resolved: every one (the operator's) or one store's."""

    def __init__(self, svc, store_id: str | None, after: int, heartbeat: float):
        super().__init__(svc, f"alarms of {store_id}" if store_id else "alarms", after, heartbeat)
        self.store_id = store_id

    def changes(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        return [
            (seq, event(seq, json.dumps(alarm, separators=(",", ":")).encode(), b"alarm"))
            for seq, alarm in self.svc.alarms.changes(self.store_id, after, limit)
        ]

    def latest(self) -> int:
        return self.svc.alarms.latest_seq(self.store_id)
