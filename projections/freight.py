"""The freight-history view: every imported and every completed cross-border order, and the
in-memory index quotes are made from.

A cross-border order of the escrow joins the history when it has ended with its freight
billed (released, arbitrated or returned): its shipment comes from the quote whose
snapshot hash it carries, its freight is the final bill's, converted back into the
snapshot's currency (:func:`engine.cross_border.orders.completed_history_order`). A reorganisation
that undoes the ending takes it out again.

Rows are keyed by order id and indexed by path and completion time. The index
(:class:`engine.cross_border.freight.History`) is built once from the rows and then grows with the rows
added since, so a quote over 100,000 orders looks only at its path's window.
"""

from __future__ import annotations

import json
import threading

from engine.cross_border.freight import FreightImport, History, history_order_of
from engine.cross_border.orders import CrossBorderOrder, CrossBorderQuote, completed_history_order

from .chain_rows import ChainBatch, ChainRowsView, chain_events
from .view import dumps

COMPLETED_PREFIX = "cb-"


class FreightView(ChainRowsView):
    """Completed orders for freight quotes (see the module docstring)."""

    name = "freight"
    version = 2
    retired = ("view_freight_order_logs",)  # the logs it kept itself before they were shared
    aggregates = (CrossBorderOrder,)
    schema = (
        """CREATE TABLE IF NOT EXISTS view_freight_snapshots (
            snapshot_hash TEXT PRIMARY KEY, snapshot TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS view_freight_history (
            order_id TEXT PRIMARY KEY, origin TEXT NOT NULL, destination TEXT NOT NULL, length_cm TEXT NOT NULL,
            width_cm TEXT NOT NULL, height_cm TEXT NOT NULL, weight_kg TEXT NOT NULL, price_minor BIGINT NOT NULL,
            currency TEXT NOT NULL, freight_minor BIGINT NOT NULL, completed_at TEXT NOT NULL, source TEXT NOT NULL,
            seq BIGINT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_freight_by_path ON view_freight_history (origin, destination, completed_at)",
        "CREATE INDEX IF NOT EXISTS view_freight_by_seq ON view_freight_history (seq)",
    )
    tables = ("view_freight_snapshots", "view_freight_history")
    handles = chain_events(aggregates) + (FreightImport.Imported, CrossBorderQuote.Recorded)
    COLUMNS = (
        "order_id",
        "origin",
        "destination",
        "length_cm",
        "width_cm",
        "height_cm",
        "weight_kg",
        "price_minor",
        "currency",
        "freight_minor",
        "completed_at",
    )

    def __init__(self, app, db):
        self._index: History | None = None
        self._indexed_to = 0
        self._index_lock = threading.Lock()
        super().__init__(app, db)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        insert = (
            f"INSERT INTO view_freight_history ({', '.join(self.COLUMNS)}, source, seq) VALUES "
            f"({', '.join('?' * (len(self.COLUMNS) + 2))}) ON CONFLICT (order_id) DO NOTHING"
        )
        for seq, event in batch.other:
            if isinstance(event, FreightImport.Imported):
                self.db.executemany(
                    insert, [tuple(o[c] for c in self.COLUMNS) + (f"import {event.source}", seq) for o in event.orders]
                )
            else:
                self.db.execute(
                    "INSERT INTO view_freight_snapshots (snapshot_hash, snapshot) VALUES (?, ?) "
                    "ON CONFLICT (snapshot_hash) DO NOTHING",
                    (event.snapshot_hash, dumps(event.snapshot)),
                )
        if not changed:
            return
        ids = [COMPLETED_PREFIX + key for _, key, _, _ in changed]
        before = self.known(ids)
        if before:  # an ending undone or redone by a reorganisation: the index is made again
            self.db.executemany("DELETE FROM view_freight_history WHERE order_id = ?", [(i,) for i in before])
            with self._index_lock:
                self._index, self._indexed_to = None, 0
        rows = []
        for _, key, logs, seq in changed:
            order = CrossBorderOrder.fold(logs)
            if order.get("status") is None:
                continue
            found = self.db.fetchone(
                "SELECT snapshot FROM view_freight_snapshots WHERE snapshot_hash = ?", (order["snapshot_hash"],)
            )
            record = found and completed_history_order(COMPLETED_PREFIX + key, order, json.loads(found[0]))
            if record:
                rows.append(tuple(record[c] for c in self.COLUMNS) + ("completed on chain", seq))
        self.db.executemany(insert, rows)

    def restore(self, memory) -> None:
        self._index, self._indexed_to = None, 0  # after a failed batch or a rebuild: index again

    def known(self, order_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(order_ids), 500):
            chunk = order_ids[i : i + 500]
            found.update(
                r[0]
                for r in self.db.fetchall(
                    f"SELECT order_id FROM view_freight_history WHERE order_id IN ({','.join('?' * len(chunk))})", chunk
                )
            )
        return found

    def count(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM view_freight_history"))

    def history(self) -> History:
        """The index of every row, brought up to date with the rows added since it was built."""
        with self._index_lock:
            if self._index is None:
                self._index, self._indexed_to = History(), 0
            rows = self.db.fetchall(
                f"SELECT {', '.join(self.COLUMNS)}, seq FROM view_freight_history WHERE seq > ? ORDER BY seq",
                (self._indexed_to,),
            )
            if rows:
                self._index.add([history_order_of(dict(zip(self.COLUMNS, r[:-1]))) for r in rows])
                self._indexed_to = max(int(r[-1]) for r in rows)
            return self._index
