"""Request and response models of the cross-border routes (quotes, orders, legs, final bills,
returns): bodies refuse unknown fields, amounts are decimal strings of token base units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.models.common import LogStep, Strict, UnsignedTransaction
from api.types import Address, Amount, AmountOut, Hash32, PositiveAmount, Uint256Out
from engine.cross_border.orders import DEFAULT_BILLING_WINDOW, ENDINGS, MAX_WINDOW, MIN_WINDOW, STATUSES

Place = Annotated[str, StringConstraints(min_length=1, max_length=64), Field(examples=["CN-SZX"])]
Measure = Annotated[
    str,
    StringConstraints(pattern=r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,6})?$"),
    Field(description="A positive decimal string.", examples=["50"]),
]


class QuoteIn(Strict):
    """A quote request: the shipment, its price and the time of the quote."""

    origin: Place
    destination: Place
    length_cm: Measure | int
    width_cm: Measure | int
    height_cm: Measure | int
    weight_kg: Measure
    price_minor: Annotated[int, Field(ge=1, le=2**96 - 1)] | Amount = Field(
        description="The goods' price in minor units (an integer, or a decimal string)."
    )
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


OrderId = Annotated[int, Field(ge=1, le=2**63 - 1, description="The escrow's order id.")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Policy = Literal["seller_pays_return", "buyer_pays_return"]
OrderStatus = Literal[STATUSES]  # type: ignore[valid-type]
Ending = Literal[ENDINGS + ("returned",)]  # type: ignore[valid-type]
ChainTime = Annotated[int, Field(description="Chain time, seconds since the epoch.")]


class OrderQuoteIn(QuoteIn):
    """A quote for an order: the shipment (as for a freight quote), the parties, the settlement
    token and its currency, the goods and the seller's return policy."""

    buyer: Address
    seller: Address
    token: Address = Field(description="The seller's settlement token (allow-listed on the escrow).")
    settlement_currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] = Field(
        description="The currency the token stands for; the operator's latest rate from the shipment's currency "
        "into it converts the amounts."
    )
    goods: Text = Field(description="What is bought, as the buyer sees it.")
    return_policy: Policy = Field(
        "seller_pays_return", description="Who pays the return freight if the goods are sent back."
    )
    billing_window: Annotated[int, Field(ge=MIN_WINDOW, le=MAX_WINDOW)] = Field(
        DEFAULT_BILLING_WINDOW,
        description="Seconds from payment by which the seller bills the freight (1 to 180 "
        "days); past them the buyer may cancel and take back the price and the "
        "freight not yet paid.",
    )


class OrderSnapshot(BaseModel):
    """The order snapshot a quote recorded: what the buyer sees and confirms by paying (its hash is on chain)."""

    model_config = ConfigDict(extra="allow")

    version: int
    buyer: str
    seller: str
    goods: str
    shipment: dict[str, Any] = Field(description="The quote request: path, size, weight, price in its currency.")
    quoted_at: str
    freight: dict[str, Any] = Field(description="The freight estimate, in the shipment's currency.")
    rate: dict[str, Any] | None = Field(
        description="The operator's rate (with its time and its signature's hash); "
        "none when the currencies are the same."
    )
    settlement: dict[str, Any] = Field(
        description="The token, its currency and decimals; price, target freight "
        "and hold in its base units (decimal strings)."
    )
    return_policy: str
    billing_window: int | None = Field(None, description="Seconds from payment by which the seller bills.")
    rate_valid_until: int = Field(description="Chain time (seconds) until which the quote's rate holds.")


class NoticeOut(BaseModel):
    subject: str
    state: Literal["pending", "retrying", "delivered", "dead"]
    attempts: int
    last_error: str | None
    delivered_at: float | None
    body: dict[str, Any]


class Breakdown(BaseModel):
    price: AmountOut
    target_freight: AmountOut
    hold: AmountOut = Field(description="What the buyer pays into the escrow (price + target freight).")


class OrderQuoteOut(BaseModel):
    snapshot_hash: Hash32 = Field(description="The order snapshot's hash, which `pay` carries on chain.")
    snapshot: OrderSnapshot
    freight: QuoteOut = Field(description="The freight estimate, in the shipment's currency.")
    breakdown: Breakdown = Field(description="In the settlement token's base units, converted at the rate.")
    rate_valid_until: int = Field(description="Chain time (seconds) until which the quote's rate holds.")
    approve: UnsignedTransaction = Field(
        description="The buyer's ERC-20 approval of the hold; once it is mined, "
        "`POST /cross-border/pay` gives the `pay` to sign."
    )


class PayIn(Strict):
    """Pay a quote: the buyer confirms the breakdown it saw by sending this transaction."""

    sender: Address = Field(description="The buyer the quote was made for.")
    snapshot_hash: Hash32


class OrderIn(Strict):
    sender: Address
    order_id: OrderId


class LegIn(OrderIn):
    carrier: Address
    amount: PositiveAmount
    waybill: Text = Field(description="The carrier's waybill (its keccak hash goes on chain).")


class FinalBillIn(OrderIn):
    carrier: Address | None = Field(None, description="The last carrier, if a last leg is billed with the delivery.")
    last_leg: Amount = Field(0, description="The last carrier's bill (0: none).")
    waybill: str = Field("", max_length=500)


class ReasonIn(OrderIn):
    reason: Text = Field(description="Why (its keccak hash goes on chain).")


class AnswerReturnIn(OrderIn):
    accept: bool
    return_freight: Amount = Field(
        0, description="What the return freight cost, kept by the seller when the policy puts it on the buyer."
    )
    reason: str = Field("", max_length=500)


class CrossBorderResolveIn(OrderIn):
    to_seller: Amount = Field(description="The arbiter's split: what the seller gets of what the escrow holds.")


class Leg(BaseModel):
    carrier: str
    amount: AmountOut
    waybill_hash: str
    tx_hash: str


class FinalBillOut(BaseModel):
    freight: AmountOut = Field(description="The actual freight: legs paid plus the last leg.")
    refunded: AmountOut = Field(description="Unused freight refunded to the buyer.")
    top_up: AmountOut = Field(description="What the buyer is asked to add (0: none).")
    until: ChainTime = Field(description="The top-up deadline, or the end of the return window.")


class TopUpOut(BaseModel):
    amount: AmountOut
    deadline: ChainTime


class ReturnAnswerOut(BaseModel):
    accepted: bool
    reason_hash: str | None = None
    contest_by: ChainTime | None = Field(
        None, description="A refusal: until when the buyer may take it to the arbiter; the price stays held until then."
    )
    to_buyer: Uint256Out | None = None
    to_seller: Uint256Out | None = Field(None, description="An accepted return: the return freight the seller kept.")


class ReturnOut(BaseModel):
    reason_hash: str
    respond_by: ChainTime
    answer: ReturnAnswerOut | None = None


class CrossBorderDisputeOut(BaseModel):
    arbiter: str = Field(description="The arbiter in effect when it was raised: only it decides.")
    lapse_to_seller: Uint256Out = Field(description="What the seller gets if the arbiter stays silent.")
    decide_by: ChainTime
    raised_from: str | None = Field(None, description="The status the order was escalated from.")


class EndingOut(BaseModel):
    to_seller: Uint256Out
    to_buyer: Uint256Out
    how: Ending


class OrderStepOut(LogStep):
    """A log of the order, with the amounts it moved."""

    carrier: str | None = None
    amount: Uint256Out | None = None
    freight: Uint256Out | None = None
    refunded: Uint256Out | None = None
    top_up: Uint256Out | None = None
    to_buyer: Uint256Out | None = None
    to_seller: Uint256Out | None = None


class CrossBorderOrderOut(BaseModel):
    order_id: int
    status: OrderStatus
    buyer: str
    seller: str
    token: str
    price: AmountOut
    target_freight: AmountOut
    freight_held: AmountOut
    freight_paid: AmountOut
    refunded_freight: AmountOut
    policy: Policy
    snapshot_hash: str
    bill_by: ChainTime = Field(
        description="The billing deadline: past it, an order still unbilled may be cancelled or escalated by its buyer."
    )
    billing_window: int | None = None
    legs: list[Leg]
    final_bill: FinalBillOut | None = None
    top_up: TopUpOut | None = Field(None, description="The top-up asked for and its deadline, while it is due.")
    return_: ReturnOut | None = Field(None, alias="return")
    dispute: CrossBorderDisputeOut | None = None
    ending: EndingOut | None = None
    steps: list[OrderStepOut]
    quote: OrderSnapshot | None = Field(description="The order snapshot its hash names.")
    quote_problems: list[str] = Field(description="Where the order differs from its quote (empty: it matches).")
    seq: int
