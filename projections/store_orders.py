"""The store-order view: per store, every order with its settlement's progress.

Built from the event log with its own tracking position, committed in the same
transaction as the rows it changes, so each event is applied exactly once. Every change
to an order row takes the notification id of the event that caused it as the row's
``seq``; polling by ``seq`` therefore never skips or repeats a change.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from engine.application import OrderEngine
from engine.db import Database
from engine.settlement import Settlement, fold
from engine.store_order import StoreOrder, order_number_bytes32, progress
from engine.stores import Store

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS view_tracking (
        name TEXT PRIMARY KEY, position BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS view_stores (
        store_id TEXT PRIMARY KEY, name TEXT NOT NULL, address TEXT NOT NULL UNIQUE,
        seq BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS view_orders (
        store_id TEXT NOT NULL, order_number TEXT NOT NULL, seq BIGINT NOT NULL,
        status TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (store_id, order_number))""",
    "CREATE INDEX IF NOT EXISTS view_orders_by_seq ON view_orders (store_id, seq)",
    """CREATE TABLE IF NOT EXISTS view_settlements (
        aggregate_id TEXT PRIMARY KEY, settlement_id TEXT NOT NULL, store_address TEXT,
        order_number TEXT, logs TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS view_settlements_by_order ON view_settlements (store_address, order_number)",
    """CREATE TABLE IF NOT EXISTS view_chain (
        chain_id BIGINT PRIMARY KEY, head BIGINT, block BIGINT, block_hash TEXT,
        updated_at DOUBLE PRECISION)""",
]
TABLES = ("view_stores", "view_orders", "view_settlements", "view_chain")


def _opened_at(state: dict) -> tuple:
    steps = state.get("steps") or [{}]
    return steps[0].get("block_number", 0), steps[0].get("log_index", 0)


class _Batch:
    """The rows one catch-up step reads and changes, written back once at the end."""

    def __init__(self, db: Database):
        self.db = db
        self.settlements: dict[str, dict] = {}
        self.orders: dict[tuple[str, str], dict | None] = {}
        self.dirty_settlements: set[str] = set()
        self.dirty_orders: dict[tuple[str, str], int] = {}

    def settlement(self, aggregate_id: str) -> dict | None:
        if aggregate_id not in self.settlements:
            row = self.db.fetchone(
                "SELECT settlement_id, store_address, order_number, logs FROM view_settlements "
                "WHERE aggregate_id = ?", (aggregate_id,))
            self.settlements[aggregate_id] = None if row is None else {
                "aggregate_id": aggregate_id, "id": row[0], "store_address": row[1],
                "order_number": row[2], "logs": json.loads(row[3])}
        return self.settlements[aggregate_id]

    def order(self, key: tuple[str, str]) -> dict | None:
        if key not in self.orders:
            row = self.db.fetchone("SELECT data FROM view_orders WHERE store_id = ? AND order_number = ?",
                                   key)
            self.orders[key] = None if row is None else json.loads(row[0])
        return self.orders[key]

    def settlements_for(self, store_address: str, order_number_b32: str) -> list[dict]:
        rows = self.db.fetchall("SELECT aggregate_id FROM view_settlements WHERE store_address = ? "
                                "AND order_number = ?", (store_address, order_number_b32))
        ids = {r[0] for r in rows} | {
            i for i, s in self.settlements.items()
            if s and s["store_address"] == store_address and s["order_number"] == order_number_b32}
        return [s for s in (self.settlement(i) for i in ids) if s is not None]

    def flush(self) -> None:
        if self.dirty_settlements:
            rows = []
            for aggregate_id in self.dirty_settlements:
                s = self.settlements[aggregate_id]
                rows.append((aggregate_id, s["id"], s["store_address"], s["order_number"],
                             json.dumps(s["logs"])))
            self.db.executemany(
                "INSERT INTO view_settlements (aggregate_id, settlement_id, store_address, order_number, logs) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (aggregate_id) DO UPDATE SET "
                "store_address = excluded.store_address, order_number = excluded.order_number, "
                "logs = excluded.logs", rows)
        if self.dirty_orders:
            rows = [(key[0], key[1], seq, self.orders[key]["status"], json.dumps(self.orders[key]))
                    for key, seq in self.dirty_orders.items()]
            self.db.executemany(
                "INSERT INTO view_orders (store_id, order_number, seq, status, data) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (store_id, order_number) DO UPDATE SET seq = excluded.seq, "
                "status = excluded.status, data = excluded.data", rows)


class StoreOrdersView:
    name = "store_orders"

    def __init__(self, app: OrderEngine, db: Database):
        self.app = app
        self.db = db
        for statement in SCHEMA:
            self.db.execute(statement)
        self.db.execute("INSERT INTO view_tracking (name, position) VALUES (?, 0) "
                        "ON CONFLICT (name) DO NOTHING", (self.name,))
        self._lock = threading.RLock()
        self._stores_by_address: dict[str, str] = dict(
            (a, s) for s, a in self.db.fetchall("SELECT store_id, address FROM view_stores"))

    # -- building

    def position(self) -> int:
        row = self.db.fetchone("SELECT position FROM view_tracking WHERE name = ?", (self.name,))
        return int(row[0]) if row else 0

    def catch_up(self, batch_size: int = 5000) -> int:
        """Applies every event not yet applied; returns how many were read.

        The position is read inside the write transaction (and locked on PostgreSQL), so
        concurrent projectors never apply an event twice.
        """
        total = 0
        with self._lock:
            while True:
                batch = _Batch(self.db)
                stores_before = dict(self._stores_by_address)
                try:
                    with self.db.transaction():
                        lock = " FOR UPDATE" if self.db.is_postgres else ""
                        start = int(self.db.fetchone(
                            f"SELECT position FROM view_tracking WHERE name = ?{lock}", (self.name,))[0])
                        notifications = self.app.recorder.select_notifications(
                            start=start, limit=batch_size, inclusive_of_start=False)
                        for notification in notifications:
                            self._apply(batch, self.app.mapper.to_domain_event(notification), notification.id)
                        batch.flush()
                        if notifications:
                            self.db.execute("UPDATE view_tracking SET position = ? WHERE name = ?",
                                            (notifications[-1].id, self.name))
                except BaseException:
                    self._stores_by_address = stores_before
                    raise
                if not notifications:
                    return total
                total += len(notifications)

    def rebuild(self) -> int:
        with self._lock, self.db.transaction():
            for table in TABLES:
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("UPDATE view_tracking SET position = 0 WHERE name = ?", (self.name,))
        self._stores_by_address = {}
        return self.catch_up()

    def _apply(self, batch: _Batch, event: Any, seq: int) -> None:
        if isinstance(event, Settlement.LogRecorded):
            self._on_log(batch, str(event.originator_id), seq,
                         lambda logs: logs + [{"event": event.event_name, "args": event.args,
                                               "coords": event.coords}])
        elif isinstance(event, Settlement.Retracted):
            key = (event.coords["block_hash"], event.coords["log_index"])
            self._on_log(batch, str(event.originator_id), seq, lambda logs: [
                lg for lg in logs if (lg["coords"]["block_hash"], lg["coords"]["log_index"]) != key])
        elif isinstance(event, Settlement.Discovered):
            aggregate_id = str(event.originator_id)
            batch.settlements[aggregate_id] = {"aggregate_id": aggregate_id, "id": event.settlement_id,
                                               "store_address": None, "order_number": None, "logs": []}
            batch.dirty_settlements.add(aggregate_id)
        elif isinstance(event, StoreOrder.Created):
            snap = event.snapshot
            order = {
                "store_id": event.store_id, "order_number": event.order_number,
                "store_address": snap["store_address"], "amount": int(snap["amount"]),
                "amount_due": int(snap["amount"]), "token": snap["token"], "order_buyer": snap["buyer"],
                "time_limit": snap["time_limit"], "items": snap["items"],
                "snapshot_hash": event.snapshot_hash, "created_at": event.timestamp.isoformat(),
                "chain_id": snap["chain_id"], "settlement_contract": snap["settlement_contract"],
            }
            key = (event.store_id, event.order_number)
            batch.orders[key] = order
            self._refresh_order(batch, key, seq)
        elif isinstance(event, Store.Registered):
            self.db.execute("INSERT INTO view_stores (store_id, name, address, seq) VALUES (?, ?, ?, ?)",
                            (event.store_id, event.name, event.address, seq))
            self._stores_by_address[event.address] = event.store_id

    def _on_log(self, batch: _Batch, aggregate_id: str, seq: int, change) -> None:
        settlement = batch.settlement(aggregate_id)
        if settlement is None:   # cannot happen: Discovered always comes first
            return
        before = (settlement["store_address"], settlement["order_number"])
        settlement["logs"] = change(settlement["logs"])
        opened = next((lg["args"] for lg in settlement["logs"] if lg["event"] == "SettlementOpened"), None)
        settlement["store_address"] = opened["store"] if opened else None
        settlement["order_number"] = opened["orderNumber"] if opened else None
        batch.dirty_settlements.add(aggregate_id)
        for store_address, order_b32 in {before, (settlement["store_address"], settlement["order_number"])}:
            store_id = self._stores_by_address.get(store_address) if store_address else None
            if store_id is None:
                continue
            for key in self._order_keys(batch, store_id, order_b32):
                self._refresh_order(batch, key, seq)

    def _order_keys(self, batch: _Batch, store_id: str, order_b32: str) -> list[tuple[str, str]]:
        from engine.store_order import order_number_from_bytes32
        number = order_number_from_bytes32(order_b32)
        if number is None:
            return []
        key = (store_id, number)
        return [key] if batch.order(key) is not None else []

    def _refresh_order(self, batch: _Batch, key: tuple[str, str], seq: int) -> None:
        order = batch.orders[key]
        found = batch.settlements_for(order["store_address"], order_number_bytes32(order["order_number"]))
        states = []
        for s in found:
            state = fold(s["logs"])
            state["id"] = s["id"]
            states.append(state)
        states.sort(key=_opened_at)
        order.update(progress(order, states))
        batch.dirty_orders[key] = seq

    # -- chain position, written by the engine loop

    def record_chain(self, chain_id: int, head: int | None, block: int, block_hash: str | None) -> None:
        self.db.execute(
            "INSERT INTO view_chain (chain_id, head, block, block_hash, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (chain_id) DO UPDATE SET head = excluded.head, block = excluded.block, "
            "block_hash = excluded.block_hash, updated_at = excluded.updated_at",
            (chain_id, head, block, block_hash, time.time()))

    # -- queries

    def chain(self, chain_id: int) -> dict | None:
        row = self.db.fetchone("SELECT head, block, block_hash, updated_at FROM view_chain WHERE chain_id = ?",
                               (chain_id,))
        return None if row is None else {"head": row[0], "block": row[1], "block_hash": row[2],
                                          "updated_at": row[3]}

    def order(self, store_id: str, order_number: str) -> tuple[int, dict] | None:
        row = self.db.fetchone("SELECT seq, data FROM view_orders WHERE store_id = ? AND order_number = ?",
                               (store_id, order_number))
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def orders(self, store_id: str, after: int = 0, status: str | None = None,
               limit: int = 100) -> list[tuple[int, dict]]:
        sql = "SELECT seq, data FROM view_orders WHERE store_id = ? AND seq > ?"
        params: list[Any] = [store_id, after]
        if status:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit)
        return [(int(seq), json.loads(data)) for seq, data in self.db.fetchall(sql, params)]

    def snapshot(self) -> dict:
        """Every store's orders, for comparing this view with a rebuild."""
        return {(r[0], r[1]): (r[2], json.loads(r[3])) for r in self.db.fetchall(
            "SELECT store_id, order_number, status, data FROM view_orders")}


def open_settlements(view: StoreOrdersView) -> list[dict]:
    """Settlements still holding funds, with the key fields the keeper needs."""
    out = []
    for settlement_id, logs in view.db.fetchall("SELECT settlement_id, logs FROM view_settlements"):
        state = fold(json.loads(logs))
        if state["status"] in ("paid", "shipped"):
            state["id"] = settlement_id
            out.append(state)
    return out
