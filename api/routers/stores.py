"""Stores and their orders (store API key; a store sees only its own orders)."""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response

from api import present
from api.deps import following, require_admin, service, store_for_key
from api.models.settlement import (
    OrderHistory,
    OrdersPage,
    OrderStatus,
    StoreIn,
    StoreOrderCreated,
    StoreOrderIn,
    StoreOrderOut,
    StoreRecord,
    StoreRegistered,
)
from api.problems import responses
from api.service import Service
from api.stream import OrderStream
from api.types import OrderNumber
from engine.settlement.store_order import order_number_bytes32
from engine.settlement.stores import Store

router = APIRouter(tags=["stores"], responses=responses(422))


def store_responses(*extra: int) -> dict:
    """What a route behind the store key can answer besides its result."""
    return responses(401, 404, *extra)


OrderNumberPath = Annotated[OrderNumber, Path(description="The store order number.")]


def _record(store: Store) -> dict:
    return {"store_id": store.store_id, "name": store.name, "address": to_checksum_address(store.address)}


@router.post(
    "/stores",
    status_code=201,
    dependencies=[Depends(require_admin)],
    response_model=StoreRegistered,
    responses=responses(401, 403, 409),
    summary="Register a store (operator); returns its API key once",
)
def register_store(body: StoreIn, svc: Service = Depends(service)) -> dict:
    store, key = svc.app.register_store(body.store_id, body.name, body.address.lower())
    svc.project()  # read-your-writes: the store's calls work at once
    return dict(_record(store), api_key=key)


@router.get(
    "/stores/{store_id}", response_model=StoreRecord, summary="The store's own record", responses=store_responses()
)
def get_store(store: Store = Depends(store_for_key)) -> dict:
    return _record(store)


@router.post(
    "/stores/{store_id}/orders",
    status_code=201,
    response_model=StoreOrderCreated,
    summary="Create a store order",
    responses=store_responses(409, 502, 503),
)
def create_order(body: StoreOrderIn, store: Store = Depends(store_for_key), svc: Service = Depends(following)) -> dict:
    if body.payout_address and body.payout_address.lower() != store.address:
        raise HTTPException(422, "payout_address must be the store's registered address")
    rules = svc.transactions.settlement_rules()
    items = [i.model_dump(exclude_none=True) for i in body.items]
    order = svc.app.create_store_order(
        store,
        body.order_number,
        body.amount,
        body.token.lower(),
        body.buyer.lower() if body.buyer else None,
        items,
        body.time_limit,
        rules,
    )
    svc.project()  # read-your-writes: the order is in the view when this returns
    return {
        "store_id": store.store_id,
        "order_number": order.order_number,
        "snapshot": order.snapshot,
        "snapshot_hash": order.snapshot_hash,
        "payment": {
            "settlement_contract": to_checksum_address(rules.address),
            "store": to_checksum_address(store.address),
            "order_number": order.order_number,
            "order_number_bytes32": order_number_bytes32(order.order_number),
            "token": to_checksum_address(body.token),
            "amount": body.amount,
            "snapshot_hash": order.snapshot_hash,
            "time_limit": order.snapshot["time_limit"],
        },
    }


def _head(svc: Service) -> int | None:
    return (svc.chain_view.chain(svc.chain_id) or {}).get("head")


def _rows(request: Request) -> present.RowCache:
    return request.app.state.order_rows


JSON = "application/json"
NOT_MODIFIED = {304: {"description": "Not modified: the `ETag` sent in `If-None-Match` still holds."}}


@router.get(
    "/stores/{store_id}/orders",
    response_model=OrdersPage,
    responses={**store_responses(400), **NOT_MODIFIED},
    summary="Page the store's orders by change (poll with the cursor; `If-None-Match` answers 304 when "
    "nothing changed)",
)
async def list_orders(
    request: Request,
    store: Store = Depends(store_for_key),
    svc: Service = Depends(service),
    status: OrderStatus | None = None,
    after: str | None = Query(None, max_length=200, description="`next_cursor` of the previous page."),
    limit: int = Query(100, ge=1, le=1000),
) -> Response:
    seq = present.decode_cursor(after)
    head = _head(svc)
    tag = present.etag("orders", store.store_id, svc.view.latest_seq(store.store_id), head, status, seq, limit)
    if present.not_modified(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers={"ETag": tag})
    rows = svc.view.orders_raw(store.store_id, after=seq, status=status, limit=limit)
    cache = _rows(request)
    parts = [cache.get((store.store_id, number), s, head, data) for s, number, data in rows]
    next_seq = rows[-1][0] if rows else seq
    body = b"".join(
        (
            b'{"orders":[',
            b",".join(parts),
            b'],"next_cursor":"',
            present.encode_cursor(next_seq).encode(),
            b'","has_more":',
            b"true" if len(rows) == limit else b"false",
            b"}",
        )
    )
    return Response(body, media_type=JSON, headers={"ETag": tag})


# One server-sent event (OpenAPI 3.2's ``itemSchema`` of a sequential media type): its `id`,
# `event` and `data` fields; the data of an `order` event is the order as JSON text.
SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "id": {"type": "string", "description": "The order's polling cursor: send it back as `Last-Event-ID`."},
        "event": {
            "type": "string",
            "enum": ["order", "error"],
            "description": "`order`: a change; `error`: the stream ends (the client fell too far behind).",
        },
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"oneOf": [{"$ref": "#/components/schemas/StoreOrderOut"}, {"type": "string"}]},
            "description": "`order`: the order as `GET /stores/{id}/orders/{number}` shows it; `error`: why.",
        },
    },
}
SSE_EXAMPLE = 'id: b2MxOjQy\nevent: order\ndata: {"order_number":"D-1","status":"paid", ...}\n\n: heartbeat\n\n'


@router.get(
    "/stores/{store_id}/orders/stream",
    response_class=OrderStream,
    status_code=200,
    responses={
        200: {
            "content": {
                "text/event-stream": {"schema": {"type": "string"}, "itemSchema": SSE_EVENT, "example": SSE_EXAMPLE}
            },
            "description": "An endless event stream: one `order` event per change of an order.",
        },
        **store_responses(400),
    },
    summary="Live changes to the store's orders as server-sent events (resume with Last-Event-ID)",
    description="Each change is an `order` event whose `id` is its polling cursor and whose data is the "
    "order as `GET /stores/{id}/orders/{number}` shows it. Reconnecting with `Last-Event-ID` "
    "(or `?after=<cursor>`) sends every change after it, none twice. Comment lines every "
    "`ORDERCHAIN_SSE_HEARTBEAT` seconds keep proxies from closing an idle stream; a client that "
    "falls too far behind gets an `error` event saying so and the stream ends.",
)
async def stream_orders(
    request: Request,
    store: Store = Depends(store_for_key),
    svc: Service = Depends(service),
    after: str | None = Query(None, max_length=200, description="Start after this cursor [default: the beginning]."),
    last_event_id: str | None = Header(None, max_length=200, description="The id of the last event received."),
) -> OrderStream:
    seq = present.decode_cursor(last_event_id or after)
    return OrderStream(svc, _rows(request), store.store_id, seq, svc.settings.sse_heartbeat, lambda: _head(svc))


@router.get(
    "/stores/{store_id}/orders/{order_number}",
    response_model=StoreOrderOut,
    summary="One store order",
    responses={**store_responses(), **NOT_MODIFIED},
)
async def get_order(
    request: Request,
    order_number: OrderNumberPath,
    store: Store = Depends(store_for_key),
    svc: Service = Depends(service),
) -> Response:
    found = svc.view.order_raw(store.store_id, order_number)
    if found is None:
        raise HTTPException(404, f"no store order {order_number!r}")
    head = _head(svc)
    tag = present.etag("order", store.store_id, order_number, found[0], head)
    if present.not_modified(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(
        _rows(request).get((store.store_id, order_number), found[0], head, found[1]),
        media_type=JSON,
        headers={"ETag": tag},
    )


@router.get(
    "/stores/{store_id}/orders/{order_number}/history",
    response_model=OrderHistory,
    responses=store_responses(),
    summary="Every step the order went through, oldest first (settlement steps, mismatches, retractions)",
)
def order_history(
    order_number: OrderNumberPath, store: Store = Depends(store_for_key), svc: Service = Depends(service)
) -> dict:
    history = svc.view.history(store.store_id, order_number)
    if not history:
        raise HTTPException(404, f"no store order {order_number!r}")
    return {"store_id": store.store_id, "order_number": order_number, "history": history}
