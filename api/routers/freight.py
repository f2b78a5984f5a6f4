"""Freight quotes (the target freight of a cross-border order from comparable completed orders),
and the exchange rates the escrow's operator signs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field, StringConstraints

from api.deps import following, require_admin, service
from api.models.common import Strict
from api.models.cross_border import QuoteIn, QuoteOut
from api.problems import responses
from api.service import Service
from engine.cross_border.freight import estimate, parse_csv, request_of
from engine.cross_border.orders import CONTRACT as ESCROW
from engine.cross_border.orders import rate_document

router = APIRouter(tags=["freight"], responses=responses(422))


@router.post(
    "/freight/quotes",
    response_model=QuoteOut,
    summary="The target freight of a shipment, from comparable orders on its path in the last 90 days",
    description="E = 0.648 mean(S) + 0.25 mean(C) + 0.102 mean(F) over the orders within +/-10 % by volume, "
    "weight and price (S: all three, C: two, F: one), empty groups renormalised; the target is "
    "E x the operator's factor; each rounded half-even once. No comparable order: 422.",
)
def quote(body: QuoteIn, svc: Service = Depends(service)) -> dict[str, Any]:
    data = body.model_dump()
    data["quoted_at"] = body.quoted_at.isoformat() if body.quoted_at.tzinfo else "no time zone"
    request, quoted_at = request_of(data)
    return estimate(request, quoted_at, svc.freight.history(), factor=Decimal(svc.settings.freight_factor))


class HistoryIn(Strict):
    """A history file of completed orders, as `orderchain freight import` takes it."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The file's name, kept with its rows.", examples=["history-2026-q2.csv"]
    )
    csv: Annotated[str, StringConstraints(min_length=1)] = Field(
        description="The CSV text with exactly the columns order_id,origin,destination,length_cm,width_cm,height_cm,"
        "weight_kg,price_minor,currency,freight_minor,completed_at."
    )


class HistoryOut(BaseModel):
    imported: int
    history: int = Field(description="Orders the history holds now.")


@router.post(
    "/freight/history",
    status_code=201,
    response_model=HistoryOut,
    dependencies=[Depends(require_admin)],
    responses=responses(401, 403, 409),
    summary="Import completed orders into the freight history (operator): the whole file or nothing",
    description="Bad rows are named by their line numbers and nothing is imported; an order imported "
    "before, or the same file twice, is a 409.",
)
def import_history(body: HistoryIn, svc: Service = Depends(service)) -> dict:
    orders = parse_csv(body.csv)
    svc.app.import_freight(orders, body.source, svc.freight.known([o.order_id for o in orders]))
    svc.project()
    return {"imported": len(orders), "history": svc.freight.count()}


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]


class RateIn(Strict):
    """A rate the operator signed on its own machine: ``1 base = rate quote``."""

    base: Currency
    quote: Currency
    rate: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}(\.[0-9]{1,18})?$")]
    source: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    at: datetime = Field(description="When the rate was taken (ISO-8601 with its time zone).")
    signature: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{130}$")] = Field(
        description="The operator's EIP-191 signature of the rate document's canonical JSON."
    )


class RateOut(BaseModel):
    document: dict[str, Any]
    signature: str
    signature_hash: str = Field(description="What an order snapshot names the rate by.")
    signer: str


@router.post(
    "/rates",
    status_code=201,
    response_model=RateOut,
    summary="Record an exchange rate the escrow's operator signed (checked against the contract's operator)",
)
def record_rate(body: RateIn, svc: Service = Depends(following)) -> dict:
    at = body.at.isoformat() if body.at.tzinfo else "no time zone"
    document = rate_document(body.base, body.quote, body.rate, body.source, at)
    operator = svc.transactions.view(ESCROW, "operator")[0]
    record = svc.app.record_rate(document, body.signature, operator)
    svc.project()
    return {
        "document": record.document,
        "signature": record.signature,
        "signature_hash": record.signature_hash,
        "signer": record.signer,
    }


@router.get(
    "/rates/{base}/{quote}",
    response_model=RateOut,
    responses=responses(404),
    summary="The latest recorded rate of a currency pair",
)
def latest_rate(
    base: Annotated[str, Path(pattern=r"^[A-Za-z]{3}$")],
    quote: Annotated[str, Path(pattern=r"^[A-Za-z]{3}$")],
    svc: Service = Depends(service),
) -> dict:
    found = svc.rates.latest(base, quote)
    if found is None:
        raise HTTPException(404, f"no rate recorded for {base.upper()} -> {quote.upper()}")
    return found
