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

import orjson

from engine.application import OrderEngine
from engine.db import Database
from engine.perf import gc_paused
from engine.settlement import Settlement, fold
from engine.store_order import StoreOrder, order_number_bytes32, order_number_from_bytes32, progress
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


def _run_from(handed: list[tuple[int, Any]], position: int, limit: int) -> list[tuple[int, Any]]:
    """The handed-over events that directly follow ``position``, without gaps."""
    i = next((k for k, (seq, _) in enumerate(handed) if seq > position), len(handed))
    run: list[tuple[int, Any]] = []
    expected = position + 1
    while i < len(handed) and len(run) < limit and handed[i][0] == expected:
        run.append(handed[i])
        expected += 1
        i += 1
    return run


def _log_of(event: Any) -> dict | None:
    """The chain log a settlement event records, if it records one."""
    if isinstance(event, Settlement.LogRecorded):
        return {"event": event.event_name, "args": event.args, "coords": event.coords}
    if isinstance(event, Settlement.Discovered):
        return getattr(event, "first_log", None)
    return None


def _opened_at(state: dict) -> tuple:
    steps = state.get("steps") or [{}]
    return steps[0].get("block_number", 0), steps[0].get("log_index", 0)


def _dumps(value: Any) -> str:
    """JSON text of a view row; orjson unless an integer is beyond its 64-bit limit."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def _chunks(items: list, size: int = 400):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class _Batch:
    """The rows one catch-up step reads and changes, written back once at the end.

    Rows are fetched in bulk before the events are applied (:meth:`prefetch`), and the
    settlements naming each order are indexed here as the batch changes them, so applying
    an event costs no query.
    """

    def __init__(self, db: Database):
        self.db = db
        self.settlements: dict[str, dict | None] = {}
        self.orders: dict[tuple[str, str], dict | None] = {}
        self.by_order: dict[tuple[str, str], set[str]] = {}   # (store address, order bytes32) -> ids
        self.dirty_settlements: set[str] = set()
        self.dirty_orders: dict[tuple[str, str], int] = {}
        self._keys: dict[int, str] = {}
        self._numbers: dict[str, str | None] = {}

    def key_of(self, event: Any) -> str:
        """The aggregate id of an event as the view's rows spell it (str), computed once."""
        found = self._keys.get(id(event))
        if found is None:
            found = self._keys[id(event)] = str(event.originator_id)
        return found

    def order_number(self, order_b32: str) -> str | None:
        if order_b32 not in self._numbers:
            self._numbers[order_b32] = order_number_from_bytes32(order_b32)
        return self._numbers[order_b32]

    def _settlement_row(self, row: tuple) -> dict:
        return {"aggregate_id": row[0], "id": row[1], "store_address": row[2], "order_number": row[3],
                "logs": json.loads(row[4])}

    def prefetch(self, settlement_ids: list[str], order_keys: list[tuple[str, str]],
                 settlement_keys: list[tuple[str, str]]) -> None:
        wanted = [i for i in dict.fromkeys(settlement_ids) if i not in self.settlements]
        for chunk in _chunks(wanted):
            for i in chunk:
                self.settlements[i] = None
            rows = self.db.fetchall(
                "SELECT aggregate_id, settlement_id, store_address, order_number, logs FROM view_settlements "
                f"WHERE aggregate_id IN ({','.join('?' * len(chunk))})", chunk)
            for row in rows:
                self.settlements[row[0]] = self._settlement_row(row)
        keys = list(dict.fromkeys(k for k in settlement_keys if k not in self.by_order))
        keys += [k for k in dict.fromkeys((s["store_address"], s["order_number"]) for s in self.settlements.values()
                                          if s and s["store_address"]) if k not in self.by_order and k not in keys]
        for chunk in _chunks(keys, 300):
            for k in chunk:
                self.by_order[k] = set()
            rows = self.db.fetchall(
                f"WITH k(a, b) AS (VALUES {','.join(['(?, ?)'] * len(chunk))}) "
                "SELECT s.aggregate_id, s.store_address, s.order_number FROM k JOIN view_settlements s "
                "ON s.store_address = k.a AND s.order_number = k.b", [v for k in chunk for v in k])
            for aggregate_id, store_address, order_number in rows:
                self.by_order[(store_address, order_number)].add(aggregate_id)
        order_keys = [k for k in dict.fromkeys(order_keys) if k not in self.orders]
        for chunk in _chunks(order_keys, 300):
            for k in chunk:
                self.orders[k] = None
            rows = self.db.fetchall(   # a join on a VALUES list, so both databases use the key index
                f"WITH k(a, b) AS (VALUES {','.join(['(?, ?)'] * len(chunk))}) "
                "SELECT o.store_id, o.order_number, o.data FROM k JOIN view_orders o "
                "ON o.store_id = k.a AND o.order_number = k.b", [v for k in chunk for v in k])
            for store_id, number, data in rows:
                self.orders[(store_id, number)] = json.loads(data)

    def settlement(self, aggregate_id: str) -> dict | None:
        if aggregate_id not in self.settlements:
            self.prefetch([aggregate_id], [], [])
        return self.settlements[aggregate_id]

    def order(self, key: tuple[str, str]) -> dict | None:
        if key not in self.orders:
            self.prefetch([], [key], [])
        return self.orders[key]

    def ids_for(self, key: tuple[str, str]) -> set[str]:
        if key not in self.by_order:
            self.prefetch([], [], [key])
        return self.by_order[key]

    def moved(self, aggregate_id: str, before: tuple, after: tuple) -> None:
        """A settlement's (store, order) changed within the batch: keep the index true."""
        if before == after:
            return
        if before[0] is not None:
            self.ids_for(before).discard(aggregate_id)
        if after[0] is not None:
            self.ids_for(after).add(aggregate_id)

    def settlements_for(self, store_address: str, order_number_b32: str) -> list[dict]:
        ids = self.ids_for((store_address, order_number_b32))
        return [s for s in (self.settlement(i) for i in sorted(ids)) if s is not None]

    def flush(self) -> None:
        if self.dirty_settlements:
            rows = []
            for aggregate_id in self.dirty_settlements:
                s = self.settlements[aggregate_id]
                rows.append((aggregate_id, s["id"], s["store_address"], s["order_number"], _dumps(s["logs"])))
            self.db.executemany(
                "INSERT INTO view_settlements (aggregate_id, settlement_id, store_address, order_number, logs) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (aggregate_id) DO UPDATE SET "
                "store_address = excluded.store_address, order_number = excluded.order_number, "
                "logs = excluded.logs", rows)
        if self.dirty_orders:
            rows = [(key[0], key[1], seq, self.orders[key]["status"], _dumps(self.orders[key]))
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

    def catch_up(self, batch_size: int = 20000, recorded: list | None = None) -> int:
        """Applies every event not yet applied; returns how many were applied.

        ``recorded`` may hold ``(notification id, domain event)`` pairs the caller has just
        saved: a run of them that follows on from the view's position is applied as is,
        without reading the events back. Everything else is read from the event store.
        The position is read inside the write transaction (and locked on PostgreSQL), so
        concurrent projectors never apply an event twice.
        """
        total = 0
        handed = sorted(recorded or (), key=lambda pair: pair[0])
        with self._lock, gc_paused():
            while True:
                batch = _Batch(self.db)
                stores_before = dict(self._stores_by_address)
                try:
                    with self.db.transaction():
                        lock = " FOR UPDATE" if self.db.is_postgres else ""
                        start = int(self.db.fetchone(
                            f"SELECT position FROM view_tracking WHERE name = ?{lock}", (self.name,))[0])
                        events = _run_from(handed, start, batch_size)
                        if not events:
                            events = [(n.id, self.app.mapper.to_domain_event(n)) for n in
                                      self.app.recorder.select_notifications(
                                          start=start, limit=batch_size, inclusive_of_start=False)]
                        self._prefetch(batch, events)
                        for seq, event in events:
                            self._apply(batch, event, seq)
                        self._settle(batch)
                        batch.flush()
                        if events:
                            self.db.execute("UPDATE view_tracking SET position = ? WHERE name = ?",
                                            (events[-1][0], self.name))
                except BaseException:
                    self._stores_by_address = stores_before
                    raise
                if not events:
                    self.db.checkpoint(idle=total == 0)
                    return total
                total += len(events)

    def rebuild(self) -> int:
        with self._lock, self.db.transaction():
            for table in TABLES:
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("UPDATE view_tracking SET position = 0 WHERE name = ?", (self.name,))
        self._stores_by_address = {}
        return self.catch_up()

    def _prefetch(self, batch: _Batch, events: list[tuple[int, Any]]) -> None:
        order_number_from_bytes32 = batch.order_number
        settlement_ids, order_keys, settlement_keys = [], [], []
        for _, event in events:
            if isinstance(event, (Settlement.LogRecorded, Settlement.Retracted, Settlement.Discovered)):
                if not isinstance(event, Settlement.Discovered):   # a new settlement has no row yet
                    settlement_ids.append(batch.key_of(event))
                log = _log_of(event)
                if log is not None and log["event"] == "SettlementOpened":
                    key = (log["args"]["store"], log["args"]["orderNumber"])
                    settlement_keys.append(key)
                    store_id = self._stores_by_address.get(key[0])
                    number = order_number_from_bytes32(key[1])
                    if store_id and number:
                        order_keys.append((store_id, number))
            elif isinstance(event, StoreOrder.Created):
                settlement_keys.append((event.snapshot["store_address"], order_number_bytes32(event.order_number)))
        batch.prefetch(settlement_ids, order_keys, settlement_keys)
        # Orders of settlements already known (their later logs) are fetched in bulk too.
        more = []
        for aggregate_id in dict.fromkeys(settlement_ids):
            s = batch.settlements.get(aggregate_id)
            if s and s["store_address"]:
                store_id = self._stores_by_address.get(s["store_address"])
                number = order_number_from_bytes32(s["order_number"])
                if store_id and number:
                    more.append((store_id, number))
        batch.prefetch([], more, [])

    def _apply(self, batch: _Batch, event: Any, seq: int) -> None:
        if isinstance(event, Settlement.LogRecorded):
            log = _log_of(event)
            self._on_log(batch, batch.key_of(event), seq, lambda logs: logs + [log])
        elif isinstance(event, Settlement.Retracted):
            key = (event.coords["block_hash"], event.coords["log_index"])
            self._on_log(batch, batch.key_of(event), seq, lambda logs: [
                lg for lg in logs if (lg["coords"]["block_hash"], lg["coords"]["log_index"]) != key])
        elif isinstance(event, Settlement.Discovered):
            aggregate_id = batch.key_of(event)
            batch.settlements[aggregate_id] = {"aggregate_id": aggregate_id, "id": event.settlement_id,
                                               "store_address": None, "order_number": None, "logs": []}
            batch.dirty_settlements.add(aggregate_id)
            first = _log_of(event)
            if first is not None:
                self._on_log(batch, aggregate_id, seq, lambda logs: logs + [first])
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
        batch.moved(aggregate_id, before, (settlement["store_address"], settlement["order_number"]))
        batch.dirty_settlements.add(aggregate_id)
        for store_address, order_b32 in {before, (settlement["store_address"], settlement["order_number"])}:
            store_id = self._stores_by_address.get(store_address) if store_address else None
            if store_id is None:
                continue
            for key in self._order_keys(batch, store_id, order_b32):
                self._refresh_order(batch, key, seq)

    def _order_keys(self, batch: _Batch, store_id: str, order_b32: str) -> list[tuple[str, str]]:
        number = batch.order_number(order_b32)
        if number is None:
            return []
        key = (store_id, number)
        return [key] if batch.order(key) is not None else []

    def _refresh_order(self, batch: _Batch, key: tuple[str, str], seq: int) -> None:
        """Marks the order changed by event ``seq``; its progress is computed once, in :meth:`_settle`."""
        batch.dirty_orders[key] = seq

    def _settle(self, batch: _Batch) -> None:
        """Each changed order's progress from its settlements as the batch leaves them."""
        for key in batch.dirty_orders:
            order = batch.orders[key]
            found = batch.settlements_for(order["store_address"], order_number_bytes32(order["order_number"]))
            states = []
            for s in found:
                state = fold(s["logs"])
                state["id"] = s["id"]
                states.append(state)
            states.sort(key=_opened_at)
            order.update(progress(order, states))

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
