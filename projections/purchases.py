"""Purchase records of shipments paid after verified delivery, from the payments view's rows
(which hold their lines); the chain capabilities' records are the reputation view's
(:meth:`projections.reputation.ReputationView.purchases`)."""

from __future__ import annotations

from engine.purchases import Purchase


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
