"""The purchases view: every buyer's purchase records from every chain capability (settlement,
liquor cases, group buys, cross-border orders), each domain's ``purchase_records`` of a folded
aggregate written again whole when it changes, so a reorganisation takes a retracted record
with it. Purchases paid after verified delivery come from the payments view, which holds their
lines (:func:`delivery_records`)."""

from __future__ import annotations

import json

from engine import liquor
from engine.cross_border import orders as cross_border
from engine.group_buy import campaign as group_buy
from engine.purchases import Purchase
from engine.settlement import escrow as settlement

from .chain_rows import ChainBatch, ChainRowsView, chain_events, logs_schema
from .view import dumps

DOMAINS = {
    settlement.Settlement.kind: (settlement.Settlement, settlement.purchase_records),
    liquor.LiquorPurchase.kind: (liquor.LiquorPurchase, liquor.purchase_records),
    group_buy.Campaign.kind: (group_buy.Campaign, group_buy.purchase_records),
    cross_border.CrossBorderOrder.kind: (cross_border.CrossBorderOrder, cross_border.purchase_records),
}


class PurchasesView(ChainRowsView):
    """Purchase records per buyer (see the module docstring)."""

    name = "purchases"
    version = 1
    aggregates = tuple(aggregate for aggregate, _ in DOMAINS.values())
    logs_table = "view_purchase_logs"
    schema = (
        logs_schema("view_purchase_logs"),
        """CREATE TABLE IF NOT EXISTS view_purchases (
            source TEXT NOT NULL, n INTEGER NOT NULL, buyer TEXT NOT NULL, capability TEXT NOT NULL,
            at BIGINT, seq BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (source, n))""",
        "CREATE INDEX IF NOT EXISTS view_purchases_by_buyer ON view_purchases (buyer, at)",
    )
    tables = ("view_purchase_logs", "view_purchases")
    handles = chain_events(aggregates)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        for kind, key, logs, seq in changed:
            aggregate, records = DOMAINS[kind]
            source = f"{kind}:{key}"
            self.db.execute("DELETE FROM view_purchases WHERE source = ?", (source,))
            self.db.executemany(
                "INSERT INTO view_purchases (source, n, buyer, capability, at, seq, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (source, n, p.buyer.lower(), p.capability, p.at, seq, dumps(p.row()))
                    for n, p in enumerate(records(key, aggregate.fold(logs)))
                ],
            )

    def purchases(self, buyers: list[str]) -> list[dict]:
        """The records of the buyers' addresses, oldest first."""
        wanted = sorted({b.lower() for b in buyers})
        if not wanted:
            return []
        return [
            json.loads(data)
            for (data,) in self.db.fetchall(
                f"SELECT data FROM view_purchases WHERE buyer IN ({','.join('?' * len(wanted))}) "
                "ORDER BY at, source, n",
                wanted,
            )
        ]


def delivery_records(rows: list[dict], wallet: str) -> list[dict]:
    """The purchase records of a buyer's shipments paid after verified delivery (payments view
    rows): one per line, once collected (or defaulted, or still on its way)."""
    out = []
    for row in rows:
        data = row["data"]
        shipment = data.get("shipment") or {}
        status = shipment.get("status") or row["status"]
        if status in ("awaiting_mandate",):
            continue
        mandate = data.get("mandate") or {}
        for line in data["lines"]:
            out.append(
                Purchase(
                    buyer=wallet,
                    capability="pay_after_delivery",
                    reference=row["checkout_id"],
                    seller=row["store_id"],
                    item=line["sku"],
                    quantity=line["quantity"],
                    unit_price=line["unit_price"],
                    amount=line["unit_price"] * line["quantity"],
                    token=mandate.get("token", "").lower() or None,
                    status=status,
                    at=shipment.get("collected_at") or shipment.get("verified_at"),
                    tx_hash=shipment.get("collected_tx"),
                ).row()
            )
    return out
