"""The cross-border view: every order with its escrow state, legs paid, final bill, return
and ending (rebuildable, and equal to a rebuild after a reorg: the logs are kept at hand),
and every quote with its order snapshot. An order is shown with the quote its snapshot
hash names and where it differs from it (:func:`engine.cross_border.orders.quote_problems`),
including any other order its buyer paid under the same snapshot hash."""

from __future__ import annotations

import json

from engine.cross_border.orders import CrossBorderOrder, CrossBorderQuote, quote_problems

from .chain_rows import ChainBatch, ChainRowsView, chain_events
from .view import chunks, dumps

AGGREGATES = (CrossBorderOrder,)


class CrossBorderView(ChainRowsView):
    """Cross-border orders of ``CrossBorderEscrow``."""

    name = "cross_border"
    version = 4
    retired = ("view_cross_border_logs",)  # the logs it kept itself before they were shared
    aggregates = AGGREGATES
    schema = (
        """CREATE TABLE IF NOT EXISTS view_cross_border_orders (
            order_id BIGINT PRIMARY KEY, buyer TEXT NOT NULL, seller TEXT NOT NULL, status TEXT NOT NULL,
            snapshot_hash TEXT NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_cross_border_by_buyer ON view_cross_border_orders (buyer)",
        "CREATE INDEX IF NOT EXISTS view_cross_border_by_seller ON view_cross_border_orders (seller)",
        "CREATE INDEX IF NOT EXISTS view_cross_border_by_quote ON view_cross_border_orders (snapshot_hash, buyer)",
        """CREATE TABLE IF NOT EXISTS view_cross_border_quotes (
            snapshot_hash TEXT PRIMARY KEY, buyer TEXT NOT NULL, seq BIGINT NOT NULL, snapshot TEXT NOT NULL)""",
    )
    tables = ("view_cross_border_orders", "view_cross_border_quotes")
    handles = chain_events(AGGREGATES) + (CrossBorderQuote.Recorded,)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        self.db.executemany(
            "INSERT INTO view_cross_border_quotes (snapshot_hash, buyer, seq, snapshot) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (snapshot_hash) DO NOTHING",
            [(e.snapshot_hash, e.snapshot["buyer"], seq, dumps(e.snapshot)) for seq, e in batch.other],
        )
        rows, gone = [], []
        for _, key, logs, seq in changed:
            state = CrossBorderOrder.fold(logs)
            if state["status"] is None:
                gone.append((int(key),))
                continue
            state["order_id"] = int(key)
            rows.append(
                (int(key), state["buyer"], state["seller"], state["status"], state["snapshot_hash"], seq, dumps(state))
            )
        self.db.executemany("DELETE FROM view_cross_border_orders WHERE order_id = ?", gone)
        self.db.executemany(
            "INSERT INTO view_cross_border_orders (order_id, buyer, seller, status, snapshot_hash, seq, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET buyer = excluded.buyer, "
            "seller = excluded.seller, status = excluded.status, snapshot_hash = excluded.snapshot_hash, "
            "seq = excluded.seq, data = excluded.data",
            rows,
        )

    def quote(self, snapshot_hash: str) -> dict | None:
        row = self.db.fetchone(
            "SELECT snapshot FROM view_cross_border_quotes WHERE snapshot_hash = ?", (snapshot_hash.lower(),)
        )
        return None if row is None else json.loads(row[0])

    def paid_quote(self, buyer: str, snapshot_hash: str) -> list[int]:
        """The orders ``buyer`` paid under ``snapshot_hash`` (one, or none, unless a duplicate got through)."""
        return [
            int(r[0])
            for r in self.db.fetchall(
                "SELECT order_id FROM view_cross_border_orders WHERE snapshot_hash = ? AND buyer = ? ORDER BY order_id",
                (snapshot_hash.lower(), buyer.lower()),
            )
        ]

    def _shown(self, rows: list[tuple]) -> list[dict]:
        """Orders as shown: each with its quote and the problems found; the quotes and the other
        orders paid under the same quotes are read in bulk (two queries per 400 quotes)."""
        orders = [dict(json.loads(data), seq=int(seq)) for seq, data in rows]
        hashes = sorted({o["snapshot_hash"] for o in orders})
        quotes: dict[str, dict] = {}
        paid: dict[tuple[str, str], list[int]] = {}
        for part in chunks(hashes):
            marks = ", ".join("?" * len(part))
            quotes.update(
                (h, json.loads(snap))
                for h, snap in self.db.fetchall(
                    f"SELECT snapshot_hash, snapshot FROM view_cross_border_quotes WHERE snapshot_hash IN ({marks})",
                    part,
                )
            )
            for order_id, buyer, snapshot_hash in self.db.fetchall(
                "SELECT order_id, buyer, snapshot_hash FROM view_cross_border_orders "
                f"WHERE snapshot_hash IN ({marks}) ORDER BY order_id",
                part,
            ):
                paid.setdefault((snapshot_hash, buyer), []).append(int(order_id))
        for order in orders:
            snapshot = quotes.get(order["snapshot_hash"])
            others = [o for o in paid.get((order["snapshot_hash"], order["buyer"]), ()) if o != order["order_id"]]
            order["quote"] = snapshot
            order["quote_problems"] = quote_problems(order, snapshot, others)
        return orders

    def order(self, order_id: int) -> dict | None:
        rows = self.db.fetchall("SELECT seq, data FROM view_cross_border_orders WHERE order_id = ?", (order_id,))
        return self._shown(rows)[0] if rows else None

    def orders(self, party: str | None = None, status: str | None = None) -> list[dict]:
        sql, where, params = "SELECT seq, data FROM view_cross_border_orders", [], []
        if party:
            where.append("(buyer = ? OR seller = ?)")
            params += [party.lower(), party.lower()]
        if status:
            where.append("status = ?")
            params.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._shown(self.db.fetchall(sql + " ORDER BY order_id", params))
