"""Freight quotes: the target freight of a cross-border order from comparable completed orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StringConstraints

from engine.freight import estimate, request_of

from ..deps import service
from ..models import Strict
from ..problems import responses
from ..service import Service
from ..types import Amount, AmountOut

router = APIRouter(tags=["freight"], responses=responses(422))
Place = Annotated[str, StringConstraints(min_length=1, max_length=64), Field(examples=["CN-SZX"])]
Measure = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,6})?$"),
                    Field(description="A positive decimal string.", examples=["50"])]


class QuoteIn(Strict):
    """A quote request: the shipment, its price and the time of the quote."""

    origin: Place
    destination: Place
    length_cm: Measure | int
    width_cm: Measure | int
    height_cm: Measure | int
    weight_kg: Measure
    price_minor: Annotated[int, Field(ge=1, le=2**96 - 1)] | Amount = Field(
        description="The goods' price in minor units (an integer, or a decimal string).")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
    quoted_at: datetime = Field(description="ISO-8601 with its time zone.")


class QuoteOut(BaseModel):
    estimate_minor: AmountOut
    target_freight_minor: AmountOut
    hold_minor: AmountOut
    currency: str
    groups: list[int] = Field(description="[len(S), len(C), len(F)]: first, secondary and end freight orders.")
    orders: dict[str, list[str]] = Field(description="The ids of the orders used, by group.")
    weights: dict[str, str]
    factor: str
    window: dict[str, str]
    left_out_without_rate: int


@router.post("/freight/quotes", response_model=QuoteOut,
             summary="The target freight of a shipment, from comparable orders on its path in the last 90 days",
             description="E = 0.648 mean(S) + 0.25 mean(C) + 0.102 mean(F) over the orders within +/-10 % by volume, "
                         "weight and price (S: all three, C: two, F: one), empty groups renormalised; the target is "
                         "E x the operator's factor; each rounded half-even once. No comparable order: 422.")
def quote(body: QuoteIn, svc: Service = Depends(service)) -> dict[str, Any]:
    data = body.model_dump()
    data["quoted_at"] = body.quoted_at.isoformat() if body.quoted_at.tzinfo else "no time zone"
    request, quoted_at = request_of(data)
    return estimate(request, quoted_at, svc.freight.history(), factor=Decimal(svc.settings.freight_factor))
