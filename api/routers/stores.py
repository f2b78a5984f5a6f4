"""Stores and their orders (store API key; a store sees only its own orders)."""

from __future__ import annotations

from typing import Literal

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, HTTPException, Query

from engine.store_order import MAX_AMOUNT
from engine.stores import Store

from .. import present
from ..deps import require_admin, service, store_for_key
from ..models import StoreIn, StoreOrderIn
from ..service import Service

router = APIRouter(tags=["stores"])

Status = Literal["awaiting_payment", "paid", "payment_mismatch", "shipped", "disputed", "completed",
                 "released", "short_paid", "refunded"]


@router.post("/stores", status_code=201, dependencies=[Depends(require_admin)],
             summary="Register a store (admin); returns its API key once")
def register_store(body: StoreIn, svc: Service = Depends(service)) -> dict:
    store, key = svc.app.register_store(body.store_id, body.name, body.address.lower())
    svc.view.catch_up()   # read-your-writes: the store's calls work at once
    return {"store_id": store.store_id, "name": store.name, "address": to_checksum_address(store.address),
            "api_key": key}


@router.post("/stores/{store_id}/orders", status_code=201, summary="Create a store order")
def create_order(body: StoreOrderIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    amount = int(body.amount)
    if not 0 < amount <= MAX_AMOUNT:
        raise HTTPException(422, f"amount must be between 1 and {MAX_AMOUNT}")
    if body.payout_address and body.payout_address.lower() != store.address:
        raise HTTPException(422, "payout_address must be the store's registered address")
    items = [dict(i.model_dump(exclude_none=True), unit_price=int(i.unit_price)) for i in body.items]
    order = svc.app.create_store_order(store, body.order_number, amount, body.token.lower(),
                                       body.buyer.lower() if body.buyer else None, items, body.time_limit)
    svc.view.catch_up()   # read-your-writes: the order is in the view when this returns
    from engine.store_order import order_number_bytes32
    return {
        "store_id": store.store_id, "order_number": order.order_number, "snapshot": order.snapshot,
        "snapshot_hash": order.snapshot_hash,
        "payment": {  # what the buyer's wallet passes to C2CSettlement.open
            "settlement_contract": to_checksum_address(svc.manifest.contract("C2CSettlement").address),
            "store": to_checksum_address(store.address), "order_number": order.order_number,
            "order_number_bytes32": order_number_bytes32(order.order_number),
            "token": to_checksum_address(body.token), "amount": str(amount),
            "snapshot_hash": order.snapshot_hash, "time_limit": body.time_limit or 0,
        },
    }


@router.get("/stores/{store_id}/orders", summary="Page the store's orders by change (poll with the cursor)")
def list_orders(store: Store = Depends(store_for_key), svc: Service = Depends(service),
                status: Status | None = None, after: str | None = Query(None, max_length=200),
                limit: int = Query(100, ge=1, le=1000)) -> dict:
    seq = present.decode_cursor(after)
    rows = svc.view.orders(store.store_id, after=seq, status=status, limit=limit)
    head = (svc.view.chain(svc.chain_id) or {}).get("head")
    orders = [present.order(data, s, head) for s, data in rows]
    next_seq = rows[-1][0] if rows else seq
    return {"orders": orders, "next_cursor": present.encode_cursor(next_seq), "has_more": len(rows) == limit}


@router.get("/stores/{store_id}/orders/{order_number}", summary="One store order")
def get_order(order_number: str, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    found = svc.view.order(store.store_id, order_number)
    if found is None:
        raise HTTPException(404, f"no store order {order_number!r}")
    head = (svc.view.chain(svc.chain_id) or {}).get("head")
    return present.order(found[1], found[0], head)
