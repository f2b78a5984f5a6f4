"""The store-order view: per store, every order with its settlement's progress and history.

Every change to an order row takes the notification id of the event that caused it as
the row's ``seq``; polling by ``seq`` therefore never skips or repeats a change. The
rules that decide an order's state are the domain's (``engine/settlement/store_order.py``); this
view only keeps the settlements naming each order at hand and records each step.
"""

from __future__ import annotations

import json
from typing import Any

from engine.chain.source import log_key, log_of
from engine.credits import latest_claims
from engine.db import Database
from engine.settlement.escrow import OPEN_STATUSES, Settlement, SettlementCredits, fold
from engine.settlement.store_order import (
    TERMS_EVENTS,
    OrderTerms,
    StoreOrder,
    follow,
    history_entry,
    order_number_bytes32,
    order_number_from_bytes32,
)
from engine.settlement.stores import Store

from .view import View, chunks, dumps


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
        self.by_order: dict[tuple[str, str], set[str]] = {}  # (store address, order bytes32) -> ids
        self.dirty_settlements: set[str] = set()
        self.dirty_orders: dict[tuple[str, str], int] = {}
        self.history: list[tuple] = []  # (store id, order number, seq, n, entry)
        self._keys: dict[int, str] = {}
        self._numbers: dict[str, str | None] = {}
        self.accounts: dict[str, dict | None] = {}  # credit account id -> {"recipient", "logs"}
        self.dirty_accounts: set[str] = set()
        self.claimed: dict[str, int] = {}  # recipients whose claims changed -> seq of the change
        self._claims: dict[str, dict[tuple[str, str], tuple[int, int]]] = {}  # recipient -> latest claims

    def account(self, aggregate_id: str) -> dict | None:
        """A recipient's claims in the settlement contract (its account's logs)."""
        if aggregate_id not in self.accounts:
            row = self.db.fetchone(
                "SELECT recipient, logs FROM view_credit_claims WHERE aggregate_id = ?", (aggregate_id,)
            )
            self.accounts[aggregate_id] = None if row is None else {"recipient": row[0], "logs": json.loads(row[1])}
        return self.accounts[aggregate_id]

    def forget_claims(self, recipient: str) -> None:
        """A recipient's claims changed in this batch: read them again from its account."""
        self._claims.pop(recipient, None)

    def claims_of(self, recipients: set[str]) -> dict[tuple[str, str], tuple[int, int]]:
        """The latest claim of each (recipient, token) among ``recipients``, as the batch leaves them."""
        missing = [r for r in recipients if r not in self._claims]
        for chunk in chunks(missing):
            for r in chunk:
                self._claims[r] = {}
            for aggregate_id, recipient, logs in self.db.fetchall(
                f"SELECT aggregate_id, recipient, logs FROM view_credit_claims "
                f"WHERE recipient IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                self.accounts.setdefault(aggregate_id, {"recipient": recipient, "logs": json.loads(logs)})
        wanted = set(missing)
        for account in self.accounts.values():
            if account is not None and account["recipient"] in wanted:
                self._claims[account["recipient"]].update(latest_claims(account["recipient"], account["logs"]))
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for r in recipients:
            found.update(self._claims[r])
        return found

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
        return {
            "aggregate_id": row[0],
            "id": row[1],
            "store_address": row[2],
            "order_number": row[3],
            "logs": json.loads(row[4]),
            "linked": (row[5], row[6]) if row[5] else None,
        }

    def prefetch(
        self, settlement_ids: list[str], order_keys: list[tuple[str, str]], settlement_keys: list[tuple[str, str]]
    ) -> None:
        wanted = [i for i in dict.fromkeys(settlement_ids) if i not in self.settlements]
        for chunk in chunks(wanted):
            for i in chunk:
                self.settlements[i] = None
            rows = self.db.fetchall(
                "SELECT aggregate_id, settlement_id, store_address, order_number, logs, linked_store, "
                "linked_order FROM view_settlements "
                f"WHERE aggregate_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in rows:
                self.settlements[row[0]] = self._settlement_row(row)
        keys = list(dict.fromkeys(k for k in settlement_keys if k not in self.by_order))
        keys += [
            k
            for k in dict.fromkeys(
                (s["store_address"], s["order_number"]) for s in self.settlements.values() if s and s["store_address"]
            )
            if k not in self.by_order and k not in keys
        ]
        for chunk in chunks(keys, 300):
            for k in chunk:
                self.by_order[k] = set()
            rows = self.db.fetchall(
                f"WITH k(a, b) AS (VALUES {','.join(['(?, ?)'] * len(chunk))}) "
                "SELECT s.aggregate_id, s.store_address, s.order_number FROM k JOIN view_settlements s "
                "ON s.store_address = k.a AND s.order_number = k.b",
                [v for k in chunk for v in k],
            )
            for aggregate_id, store_address, order_number in rows:
                self.by_order[(store_address, order_number)].add(aggregate_id)
        order_keys = [k for k in dict.fromkeys(order_keys) if k not in self.orders]
        for chunk in chunks(order_keys, 300):
            for k in chunk:
                self.orders[k] = None
            rows = self.db.fetchall(  # a join on a VALUES list, so both databases use the key index
                f"WITH k(a, b) AS (VALUES {','.join(['(?, ?)'] * len(chunk))}) "
                "SELECT o.store_id, o.order_number, o.data FROM k JOIN view_orders o "
                "ON o.store_id = k.a AND o.order_number = k.b",
                [v for k in chunk for v in k],
            )
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
        if self.dirty_accounts:
            account_rows = []
            for aggregate_id in self.dirty_accounts:
                account = self.accounts[aggregate_id]
                assert account is not None  # a changed account is in the batch
                account_rows.append((aggregate_id, account["recipient"], dumps(account["logs"])))
            self.db.executemany(
                "INSERT INTO view_credit_claims (aggregate_id, recipient, logs) VALUES (?, ?, ?) "
                "ON CONFLICT (aggregate_id) DO UPDATE SET logs = excluded.logs",
                account_rows,
            )
        if self.dirty_settlements:
            rows = []
            for aggregate_id in self.dirty_settlements:
                s = self.settlements[aggregate_id]
                assert s is not None  # a changed settlement is in the batch
                linked = s.get("linked") or (None, None)
                rows.append(
                    (
                        aggregate_id,
                        s["id"],
                        s["store_address"],
                        s["order_number"],
                        dumps(s["logs"]),
                        linked[0],
                        linked[1],
                    )
                )
            self.db.executemany(
                "INSERT INTO view_settlements (aggregate_id, settlement_id, store_address, order_number, logs, "
                "linked_store, linked_order) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (aggregate_id) DO UPDATE SET "
                "settlement_id = excluded.settlement_id, store_address = excluded.store_address, "
                "order_number = excluded.order_number, logs = excluded.logs, linked_store = excluded.linked_store, "
                "linked_order = excluded.linked_order",
                rows,
            )
        if self.dirty_orders:
            order_rows = []
            for key, seq in self.dirty_orders.items():
                order = self.orders[key]
                assert order is not None  # a changed order is in the batch
                order_rows.append((key[0], key[1], seq, order["status"], dumps(order)))
            self.db.executemany(
                "INSERT INTO view_orders (store_id, order_number, seq, status, data) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (store_id, order_number) DO UPDATE SET seq = excluded.seq, "
                "status = excluded.status, data = excluded.data",
                order_rows,
            )
        if self.history:
            self.db.executemany(
                "INSERT INTO view_order_history (store_id, order_number, seq, n, entry) VALUES (?, ?, ?, ?, ?)",
                self.history,
            )


SETTLEMENT_EVENT_CLASSES = (Settlement.Discovered, Settlement.LogRecorded, Settlement.Retracted)
CLAIM_EVENT_CLASSES = (SettlementCredits.Discovered, SettlementCredits.LogRecorded, SettlementCredits.Retracted)


def _opened_at(state: dict) -> tuple:
    steps = state.get("steps") or [{}]
    return steps[0].get("block_number", 0), steps[0].get("log_index", 0)


def _terms(order: dict) -> OrderTerms:
    return OrderTerms(
        amount_due=order["amount_due"],
        token=order["token"],
        snapshot_hash=order["snapshot_hash"],
        buyer=order.get("order_buyer"),
        time_limit=order.get("time_limit"),
    )


class StoreOrdersView(View):
    """Store orders with the progress of the settlements that pay them."""

    name = "store_orders"
    version = 5
    schema = (
        """CREATE TABLE IF NOT EXISTS view_stores (
            store_id TEXT PRIMARY KEY, name TEXT NOT NULL, address TEXT NOT NULL UNIQUE,
            seq BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS view_orders (
            store_id TEXT NOT NULL, order_number TEXT NOT NULL, seq BIGINT NOT NULL,
            status TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (store_id, order_number))""",
        "CREATE INDEX IF NOT EXISTS view_orders_by_seq ON view_orders (store_id, seq)",
        """CREATE TABLE IF NOT EXISTS view_order_history (
            store_id TEXT NOT NULL, order_number TEXT NOT NULL, seq BIGINT NOT NULL, n INTEGER NOT NULL,
            entry TEXT NOT NULL, PRIMARY KEY (store_id, order_number, seq, n))""",
        """CREATE TABLE IF NOT EXISTS view_settlements (
            aggregate_id TEXT PRIMARY KEY, settlement_id TEXT NOT NULL, store_address TEXT,
            order_number TEXT, logs TEXT NOT NULL, linked_store TEXT, linked_order TEXT)""",
        "CREATE INDEX IF NOT EXISTS view_settlements_by_order ON view_settlements (store_address, order_number)",
        # Recipients' claims of what the settlement contract credited them: a claimed credit is no longer owed.
        """CREATE TABLE IF NOT EXISTS view_credit_claims (
            aggregate_id TEXT PRIMARY KEY, recipient TEXT NOT NULL, logs TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_credit_claims_by_recipient ON view_credit_claims (recipient)",
    )
    tables = ("view_stores", "view_orders", "view_order_history", "view_settlements", "view_credit_claims")
    handles = SETTLEMENT_EVENT_CLASSES + CLAIM_EVENT_CLASSES + (StoreOrder.Created, Store.Registered)

    def __init__(self, app, db: Database):
        self._stores_by_address: dict[str, str] = {}
        super().__init__(app, db)
        self._stores_by_address = {a: s for s, a in self.db.fetchall("SELECT store_id, address FROM view_stores")}

    def _store_at(self, address: str) -> str | None:
        """The store registered with ``address``: from memory, else from the view's table, where
        another process may have put it (whichever process projects a registration, every
        projecting process reads the settlements paying that store)."""
        found = self._stores_by_address.get(address)
        if found is None and address:
            row = self.db.fetchone("SELECT store_id FROM view_stores WHERE address = ?", (address,))
            if row is not None:
                found = self._stores_by_address[address] = row[0]
        return found

    # -- batches

    def begin(self) -> _Batch:
        return _Batch(self.db)

    def remember(self) -> dict:
        return dict(self._stores_by_address)

    def restore(self, memory: dict | None) -> None:
        self._stores_by_address = dict(memory or {})

    def prefetch(self, batch: _Batch, events: list[tuple[int, Any]]) -> None:
        order_number_from_bytes32 = batch.order_number
        settlement_ids, order_keys, settlement_keys = [], [], []
        for _, event in events:
            if isinstance(event, SETTLEMENT_EVENT_CLASSES):
                if not isinstance(event, Settlement.Discovered):  # a new settlement has no row yet
                    settlement_ids.append(batch.key_of(event))
                log = log_of(event)
                if log is not None and log["event"] == "SettlementOpened":
                    key = (log["args"]["store"], log["args"]["orderNumber"])
                    settlement_keys.append(key)
                    store_id = self._store_at(key[0])
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
                store_id = self._store_at(s["store_address"])
                number = order_number_from_bytes32(s["order_number"])
                if store_id and number:
                    more.append((store_id, number))
        batch.prefetch([], more, [])

    def apply(self, batch: _Batch, event: Any, seq: int) -> None:
        if isinstance(event, Settlement.LogRecorded):
            log = log_of(event)
            assert log is not None  # a recorded log
            self._on_log(batch, batch.key_of(event), seq, log, lambda logs: logs + [log])
        elif isinstance(event, Settlement.Retracted):
            settlement = batch.settlement(batch.key_of(event))
            key = log_key(event.coords)
            gone = next((lg for lg in settlement["logs"] if log_key(lg["coords"]) == key), None) if settlement else None
            if gone is not None:
                self._on_log(
                    batch,
                    batch.key_of(event),
                    seq,
                    gone,
                    lambda logs: [lg for lg in logs if log_key(lg["coords"]) != key],
                    retracted=True,
                )
        elif isinstance(event, Settlement.Discovered):
            aggregate_id = batch.key_of(event)
            batch.settlements[aggregate_id] = {
                "aggregate_id": aggregate_id,
                "id": event.key,
                "store_address": None,
                "order_number": None,
                "logs": [],
                "linked": None,
            }
            batch.dirty_settlements.add(aggregate_id)
            first = log_of(event)
            if first is not None:
                self._on_log(batch, aggregate_id, seq, first, lambda logs: logs + [first])
        elif isinstance(event, CLAIM_EVENT_CLASSES):
            self._on_claim(batch, event, seq)
        elif isinstance(event, StoreOrder.Created):
            self._created(batch, event, seq)
        elif isinstance(event, Store.Registered):
            self.db.execute(
                "INSERT INTO view_stores (store_id, name, address, seq) VALUES (?, ?, ?, ?)",
                (event.store_id, event.name, event.address, seq),
            )
            self._stores_by_address[event.address] = event.store_id

    def _on_claim(self, batch: _Batch, event: Any, seq: int) -> None:
        """A recipient claimed its credit (or a claim left the chain): the orders whose
        settlements credited it change at the end of the batch."""
        aggregate_id = batch.key_of(event)
        if isinstance(event, SettlementCredits.Discovered):
            batch.accounts[aggregate_id] = {"recipient": event.key, "logs": []}
        account = batch.account(aggregate_id)
        if account is None:  # cannot happen: Discovered always comes first
            return
        if isinstance(event, SettlementCredits.Retracted):
            gone = log_key(event.coords)
            account["logs"] = [lg for lg in account["logs"] if log_key(lg["coords"]) != gone]
        else:
            log = log_of(event)
            if log is not None:
                account["logs"].append(log)
        batch.dirty_accounts.add(aggregate_id)
        batch.claimed[account["recipient"]] = seq
        batch.forget_claims(account["recipient"])

    def _claimed_orders(self, batch: _Batch) -> None:
        """Marks changed the orders whose settlements credited a recipient whose claims changed."""
        credited = [
            r[0]
            for r in self.db.fetchall(
                "SELECT aggregate_id FROM view_settlements WHERE logs LIKE ?", ('%"PayoutCredited"%',)
            )
        ]
        batch.prefetch(credited, [], [])
        for s in list(batch.settlements.values()):
            if s is None or not s.get("linked"):
                continue
            seqs = [
                batch.claimed[lg["args"]["recipient"]]
                for lg in s["logs"]
                if lg["event"] == "PayoutCredited" and lg["args"]["recipient"] in batch.claimed
            ]
            if not seqs:
                continue
            store_address, order_b32 = s["linked"]
            store_id = self._store_at(store_address)
            number = batch.order_number(order_b32) if store_id else None
            if store_id and number and batch.order((store_id, number)) is not None:
                key = (store_id, number)
                batch.dirty_orders[key] = max(batch.dirty_orders.get(key, 0), *seqs)

    def _created(self, batch: _Batch, event: Any, seq: int) -> None:
        snap = event.snapshot
        order = {
            "store_id": event.store_id,
            "order_number": event.order_number,
            "store_address": snap["store_address"],
            "amount": int(snap["amount"]),
            "amount_due": int(snap["amount"]),
            "token": snap["token"],
            "order_buyer": snap["buyer"],
            "time_limit": snap["time_limit"],
            "items": snap["items"],
            "snapshot_hash": event.snapshot_hash,
            "created_at": event.timestamp.isoformat(),
            "chain_id": snap["chain_id"],
            "settlement_contract": snap["settlement_contract"],
        }
        key = (event.store_id, event.order_number)
        batch.orders[key] = order
        entries = [{"step": "OrderCreated", "snapshot_hash": event.snapshot_hash, "created_at": order["created_at"]}]
        # Settlements opened under the number before the order existed, oldest first.
        terms = _terms(order)
        for s in sorted(
            batch.settlements_for(order["store_address"], order_number_bytes32(event.order_number)),
            key=lambda s: _opened_at(fold(s["logs"])),
        ):
            for i, log in enumerate(s["logs"]):
                entries.append(history_entry(s["id"], log, terms=terms, settlement=fold(s["logs"][: i + 1])))
        batch.history.extend((key[0], key[1], seq, n, dumps(entry)) for n, entry in enumerate(entries))
        batch.dirty_orders[key] = seq

    def _on_log(self, batch: _Batch, aggregate_id: str, seq: int, log: dict, change, retracted: bool = False) -> None:
        settlement = batch.settlement(aggregate_id)
        if settlement is None:  # cannot happen: Discovered always comes first
            return
        before = (settlement["store_address"], settlement["order_number"])
        settlement["logs"] = change(settlement["logs"])
        opened = next((lg["args"] for lg in settlement["logs"] if lg["event"] == "SettlementOpened"), None)
        settlement["store_address"] = opened["store"] if opened else None
        settlement["order_number"] = opened["orderNumber"] if opened else None
        after = (settlement["store_address"], settlement["order_number"])
        batch.moved(aggregate_id, before, after)
        batch.dirty_settlements.add(aggregate_id)
        targets = {before, after}
        if after[0] is not None:
            settlement["linked"] = after
        elif before[0] is None and settlement.get("linked"):
            # The open was retracted before this log: the step is marked retracted in the
            # history of the order the settlement last named, so no orphaned step stays there.
            targets = {tuple(settlement["linked"])}
        for store_address, order_b32 in targets:
            store_id = self._store_at(store_address) if store_address else None
            number = batch.order_number(order_b32) if store_id else None
            order = batch.order((store_id, number)) if store_id and number else None
            if order is None:
                continue
            sets_terms = not retracted and log["event"] in TERMS_EVENTS
            entry = history_entry(
                settlement["id"],
                log,
                retracted=retracted,
                terms=_terms(order),
                settlement=fold(settlement["logs"]) if sets_terms else None,
            )
            batch.history.append((store_id, number, seq, 0, dumps(entry)))
            batch.dirty_orders[(store_id, number)] = seq  # type: ignore[index]  # both set: it has an order

    def finish(self, batch: _Batch) -> None:
        """Each changed order's progress from its settlements as the batch leaves them, then the rows."""
        if batch.claimed:
            self._claimed_orders(batch)
        for key in batch.dirty_orders:
            order = batch.orders[key]
            assert order is not None  # a changed order is in the batch
            found = batch.settlements_for(order["store_address"], order_number_bytes32(order["order_number"]))
            states = []
            for s in found:
                state = fold(s["logs"])
                state["id"] = s["id"]
                states.append(state)
            states.sort(key=_opened_at)
            recipients = {c["recipient"] for state in states for c in state.get("credited", ())}
            order.update(follow(_terms(order), states, batch.claims_of(recipients) if recipients else None))
        batch.flush()

    # -- queries

    def order(self, store_id: str, order_number: str) -> tuple[int, dict] | None:
        found = self.order_raw(store_id, order_number)
        return None if found is None else (found[0], json.loads(found[1]))

    def orders(
        self, store_id: str, after: int = 0, status: str | None = None, limit: int = 100
    ) -> list[tuple[int, dict]]:
        return [(seq, json.loads(data)) for seq, _, data in self.orders_raw(store_id, after, status, limit)]

    def order_raw(self, store_id: str, order_number: str) -> tuple[int, str] | None:
        row = self.db.fetchone(
            "SELECT seq, data FROM view_orders WHERE store_id = ? AND order_number = ?", (store_id, order_number)
        )
        return None if row is None else (int(row[0]), row[1])

    def orders_raw(
        self, store_id: str, after: int = 0, status: str | None = None, limit: int = 100
    ) -> list[tuple[int, str, str]]:
        """Like :meth:`orders`, the rows' JSON text unparsed: (seq, order number, data)."""
        sql = "SELECT seq, order_number, data FROM view_orders WHERE store_id = ? AND seq > ?"
        params: list[Any] = [store_id, after]
        if status:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit)
        return [(int(seq), number, data) for seq, number, data in self.db.fetchall(sql, params)]

    def newest_raw(self, store_id: str, limit: int = 100) -> list[tuple[int, str, str]]:
        """The store's ``limit`` most recently changed orders, newest first: (seq, order number, data)."""
        return [
            (int(seq), number, data)
            for seq, number, data in self.db.fetchall(
                "SELECT seq, order_number, data FROM view_orders WHERE store_id = ? ORDER BY seq DESC LIMIT ?",
                (store_id, limit),
            )
        ]

    def count(self, store_id: str) -> int:
        row = self.db.fetchone("SELECT COUNT(*) FROM view_orders WHERE store_id = ?", (store_id,))
        return int(row[0]) if row else 0

    def latest_seq(self, store_id: str) -> int:
        """The position of the store's latest change (0: none)."""
        row = self.db.fetchone("SELECT max(seq) FROM view_orders WHERE store_id = ?", (store_id,))
        return int(row[0]) if row and row[0] is not None else 0

    def history(self, store_id: str, order_number: str) -> list[dict]:
        """Every step the order went through, oldest first."""
        return [
            dict(json.loads(entry), seq=int(seq))
            for seq, entry in self.db.fetchall(
                "SELECT seq, entry FROM view_order_history WHERE store_id = ? AND order_number = ? ORDER BY seq, n",
                (store_id, order_number),
            )
        ]

    def snapshot(self) -> dict:
        """Every store's orders, for comparing this view with a rebuild."""
        return {
            (r[0], r[1]): (r[2], json.loads(r[3]))
            for r in self.db.fetchall("SELECT store_id, order_number, status, data FROM view_orders")
        }

    def open_settlements(self) -> list[dict]:
        """Settlements still holding funds (folded, with their ids), for the keeper."""
        out = []
        for settlement_id, logs in self.db.fetchall("SELECT settlement_id, logs FROM view_settlements"):
            state = fold(json.loads(logs))
            if state["status"] in OPEN_STATUSES:
                state["id"] = settlement_id
                out.append(state)
        return out
