"""The cross-border view: every order with its escrow state, legs paid, final bill, return
and ending (rebuildable, and equal to a rebuild after a reorg: the logs are kept at hand)."""

from __future__ import annotations

import json

from engine.cross_border import CrossBorderOrder

from .chain_rows import ChainBatch, ChainRowsView, chain_events, logs_schema
from .view import dumps

AGGREGATES = (CrossBorderOrder,)


class CrossBorderView(ChainRowsView):
    """Cross-border orders of ``CrossBorderEscrow``."""

    name = "cross_border"
    version = 1
    aggregates = AGGREGATES
    logs_table = "view_cross_border_logs"
    schema = (
        logs_schema("view_cross_border_logs"),
        """CREATE TABLE IF NOT EXISTS view_cross_border_orders (
            order_id BIGINT PRIMARY KEY, buyer TEXT NOT NULL, seller TEXT NOT NULL, status TEXT NOT NULL,
            seq BIGINT NOT NULL, data TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_cross_border_by_buyer ON view_cross_border_orders (buyer)",
        "CREATE INDEX IF NOT EXISTS view_cross_border_by_seller ON view_cross_border_orders (seller)",
    )
    tables = ("view_cross_border_logs", "view_cross_border_orders")
    handles = chain_events(AGGREGATES)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        rows, gone = [], []
        for _, key, logs, seq in changed:
            state = CrossBorderOrder.fold(logs)
            if state["status"] is None:
                gone.append((int(key),))
                continue
            state["order_id"] = int(key)
            rows.append((int(key), state["buyer"], state["seller"], state["status"], seq, dumps(state)))
        self.db.executemany(
            "INSERT INTO view_cross_border_orders (order_id, buyer, seller, status, seq, data) VALUES "
            "(?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, seq = excluded.seq, "
            "data = excluded.data", rows)
        self.db.executemany("DELETE FROM view_cross_border_orders WHERE order_id = ?", gone)

    def order(self, order_id: int) -> dict | None:
        row = self.db.fetchone("SELECT seq, data FROM view_cross_border_orders WHERE order_id = ?", (order_id,))
        return None if row is None else dict(json.loads(row[1]), seq=int(row[0]))

    def orders(self, party: str | None = None) -> list[dict]:
        sql, params = "SELECT seq, data FROM view_cross_border_orders", []
        if party:
            sql += " WHERE buyer = ? OR seller = ?"
            params = [party, party]
        return [dict(json.loads(d), seq=int(s)) for s, d in self.db.fetchall(sql + " ORDER BY order_id", params)]
