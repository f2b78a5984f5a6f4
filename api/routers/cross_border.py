"""Cross-border orders in the notary escrow: quotes, payment, freight legs, final bills,
top-ups, returns and disputes.

A quote (``POST /cross-border/quotes``) estimates the target freight from comparable
orders, converts the price and the target freight at the operator's latest signed rate
into the seller's token, and records the order snapshot; its hash is what ``pay``
carries, and the quote's rate holds for a stated time. Every action answers with the
unsigned transaction its party signs on its own machine. Reads come from the
cross-border view; an order is shown with its quote and where it differs from it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from api.actions.cross_border import ACTIONS
from api.deps import following, service, store_for_key
from api.models.common import Unsigned
from api.models.cross_border import CrossBorderOrderOut, NoticeOut, OrderQuoteIn, OrderQuoteOut, OrderSnapshot, PayIn
from api.problems import COMMON, responses
from api.routers.generated import action_routes, payment_routes
from api.service import Service
from api.types import Address
from engine.cross_border.freight import estimate, request_of
from engine.cross_border.orders import CONTRACT, STATUSES, QuoteError, order_snapshot
from engine.settlement.stores import Store

router = APIRouter(prefix="/cross-border", tags=["cross-border"], responses=responses(*COMMON))
notices_router = APIRouter(tags=["cross-border"])


@router.post(
    "/quotes",
    status_code=201,
    response_model=OrderQuoteOut,
    responses=responses(422),
    summary="Quote an order: goods price + target freight, converted at the operator's latest rate; "
    "records the order snapshot `pay` carries the hash of",
)
def quote_order(body: OrderQuoteIn, svc: Service = Depends(following)) -> dict:
    data = body.model_dump()
    data["quoted_at"] = body.quoted_at.isoformat() if body.quoted_at.tzinfo else "no time zone"
    request, quoted_at = request_of(data)
    freight = estimate(request, quoted_at, svc.freight.history(), factor=Decimal(svc.settings.freight_factor))
    currency, settlement = request.currency, body.settlement_currency.upper()
    rate = None
    if currency != settlement:
        rate = svc.rates.latest(currency, settlement)
        if rate is None:
            raise QuoteError(
                f"no rate recorded from {currency} into {settlement}: the operator records one with POST /rates"
            )
    token = body.token.lower()
    if not svc.transactions.view(CONTRACT, "tokenAllowed", token)[0]:
        raise QuoteError(f"token {token} is not allow-listed on the escrow")
    decimals = svc.transactions.token_decimals(token)
    if decimals is None:
        raise QuoteError(f"token {token} does not say its decimals")
    shipment = {
        "origin": request.origin,
        "destination": request.destination,
        **{k: str(getattr(request, k)) for k in ("length_cm", "width_cm", "height_cm", "weight_kg")},
        "price_minor": request.price_minor,
        "currency": currency,
    }
    valid_until = svc.rpc.chain_time() + svc.settings.quote_hold_seconds
    snapshot = order_snapshot(
        buyer=body.buyer,
        seller=body.seller,
        goods=body.goods,
        shipment=shipment,
        quoted_at=quoted_at.isoformat(),
        freight=freight,
        rate=rate,
        token=token,
        decimals=decimals,
        settlement_currency=settlement,
        policy=body.return_policy,
        valid_until=valid_until,
        billing_window=body.billing_window,
    )
    quote = svc.app.record_quote(snapshot)
    svc.project()
    s = snapshot["settlement"]
    return {
        "snapshot_hash": quote.snapshot_hash,
        "snapshot": snapshot,
        "freight": freight,
        "breakdown": {"price": s["price"], "target_freight": s["target_freight"], "hold": s["hold"]},
        "rate_valid_until": valid_until,
        "approve": svc.transactions.approve(token, body.buyer.lower(), int(s["hold"]), spender=CONTRACT),
    }


@router.post(
    "/pay",
    response_model=Unsigned,
    responses=responses(403, 404, 409),
    summary="The unsigned `pay` of a quote, for its buyer, while the quote's rate holds and the quote is "
    "not paid yet (approve first)",
)
def pay(body: PayIn, svc: Service = Depends(following)) -> Unsigned:
    quote = svc.app.get_quote(body.snapshot_hash)
    buyer = quote.snapshot["buyer"]
    if body.sender.lower() != buyer:
        raise HTTPException(403, f"the quote was made for buyer {buyer}, not {body.sender.lower()}")
    # One quote, one order: the chain is asked too, so a payment the views have not seen yet counts.
    paid = svc.cross_border.paid_quote(buyer, quote.snapshot_hash) or [
        n for n in svc.transactions.view(CONTRACT, "orderOfQuote", buyer, bytes.fromhex(quote.snapshot_hash[2:])) if n
    ]
    if paid:
        raise HTTPException(
            409,
            f"this quote is already paid as order {paid[0]}: one quote pays one order "
            "(GET /cross-border/orders/{id}); ask a new quote for another order",
        )
    until = quote.snapshot["rate_valid_until"]
    now = svc.rpc.chain_time()
    if now > until:
        raise HTTPException(
            409, f"the quote's rate held until {until} (chain time) and it is now {now}: ask a new quote"
        )
    return Unsigned(transaction=svc.transactions.call(CONTRACT, "pay", quote.pay_args(), buyer))


action_routes(router, CONTRACT, ACTIONS, "cross_border")
payment_routes(
    router,
    CONTRACT,
    "cross_border",
    "Unsigned ERC-20 approval of the escrow (the hold, or a top-up), sent by the buyer",
    "Unsigned claim of escrow payouts the token refused (credited)",
)


def _shown(order: dict) -> dict:
    bill = order.get("final_bill") or {}
    if order["status"] == "top_up_requested":
        order["top_up"] = {"amount": str(bill["top_up"]), "deadline": bill["until"]}
    return order


@router.get(
    "/orders",
    response_model=list[CrossBorderOrderOut],
    summary="Cross-border orders, of one party (buyer or seller) or of one status",
)
def orders(
    party: Address | None = None,
    status: Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")] = None,
    svc: Service = Depends(service),
) -> list[dict]:
    return [_shown(o) for o in svc.cross_border.orders(party, status)]


@router.get(
    "/orders/{order_id}",
    response_model=CrossBorderOrderOut,
    responses=responses(404),
    summary="A cross-border order: escrow state, legs paid, final bill, return, ending and its quote",
)
def order(order_id: Annotated[int, Path(ge=1, le=2**63 - 1)], svc: Service = Depends(service)) -> dict:
    found = svc.cross_border.order(order_id)
    if found is None:
        raise HTTPException(404, f"no cross-border order {order_id}")
    return _shown(found)


@router.get(
    "/quotes/{snapshot_hash}",
    response_model=OrderSnapshot,
    responses=responses(404),
    summary="A quote's order snapshot, by its hash",
)
def get_quote(
    snapshot_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")], svc: Service = Depends(service)
) -> dict:
    found = svc.cross_border.quote(snapshot_hash)
    if found is None:
        raise HTTPException(404, f"no quote with snapshot hash {snapshot_hash}")
    return found


@notices_router.get(
    "/stores/{store_id}/notices",
    response_model=list[NoticeOut],
    responses=responses(401, 404),
    summary="The notices sent to the store's webhook (a buyer asked for a top-up ...), with their delivery state",
)
def store_notices(store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> list[dict]:
    return svc.instructions.notices(store.store_id)
