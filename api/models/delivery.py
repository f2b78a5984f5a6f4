"""Request and response schemas of paying after verified delivery: a store's stock and
warehouses, the operator's couriers, checkout with its price prompt and mandates, the store's
shipping declaration, alarms."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.models.common import Signature, Strict
from api.types import Address, Hash32, Uint256, Uint256Out

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Decimalish = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]*)(\.[0-9]{1,6})?$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class WarehouseIn(Strict):
    latitude: Latitude
    longitude: Longitude


class ItemIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    category: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    unit_price: Uint256 = Field(description="Base units of the order's token.")
    weight_kg: Decimalish = "0.5"


class StockIn(Strict):
    units: Annotated[int, Field(ge=0, le=10**9)]


class StockOut(BaseModel):
    store_id: str
    warehouses: dict[str, dict[str, float]]
    items: dict[str, dict[str, Any]]


class CourierIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    waybill_scheme: Annotated[str, StringConstraints(pattern=r"^(s10|ups|fedex_express|dhl_express|format)$")]
    waybill_pattern: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    hubs: Annotated[list[tuple[Latitude, Longitude]], Field(min_length=1, max_length=200)]
    radius_km: Decimalish
    base: Uint256
    per_km: Decimalish
    per_kg: Decimalish


class CourierOut(BaseModel):
    name: str
    waybill_scheme: str
    waybill_pattern: str | None
    hubs: list[list[float]]
    radius_km: str
    base: Uint256Out
    per_km: str
    per_kg: str


class LineIn(Strict):
    store_id: Id
    sku: Id
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    unit_price: Uint256 = Field(description="The unit price the buyer was shown.")
    category: Annotated[str, StringConstraints(min_length=1, max_length=60)]


class CheckoutIn(Strict):
    """A checkout order: its lines (from one or several stores) and the saved address to deliver to."""

    checkout_id: Id
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=100)]
    address: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        None, description="The label of a saved address (default: the default address)."
    )
    token: Address


class ShipmentOut(BaseModel):
    store_id: str
    status: str
    warehouse_id: str
    courier_id: str
    freight: dict[str, Any] = Field(description="The courier's price, broken down: base, distance and weight parts.")
    goods: Uint256Out
    amount: Uint256Out = Field(description="Goods plus freight: the store's share the mandate covers.")
    mandate_id: Hash32 | None = None
    typed_data: dict[str, Any] | None = Field(None, description="The mandate to sign (EIP-712), while unsigned.")
    payment: dict[str, Any] | None = Field(
        None,
        description="The payment as the chain tells it: the mandate's status, whether an alarm holds it, the "
        "shipment's status there (verified, collected, defaulted, cancelled) and its transactions.",
    )


class CheckoutOut(BaseModel):
    checkout_id: str
    status: str
    total: Uint256Out
    credit_limit: Uint256Out | None = None
    shipments: list[ShipmentOut]
    errors: list[dict[str, Any]]


class MandateSignatureIn(Strict):
    store_id: Id
    signature: Signature


class RevokeMandateIn(Strict):
    store_id: Id


class DeclarationIn(Strict):
    courier_id: Id
    waybill: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    category: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    items: dict[Id, Annotated[int, Field(ge=0, le=10_000)]]


class DeclarationOut(BaseModel):
    checkout_id: str
    store_id: str
    status: str
    errors: list[dict[str, Any]]
    alarm_id: str | None = None


class AlarmOut(BaseModel):
    alarm_id: str
    checkout_id: str
    store_id: str
    kind: str = Field(description="declaration (a shipping declaration failed its checks) or collection_defaulted")
    state: str
    errors: list[dict[str, Any]]
    acknowledged_by: str | None
    resolution: dict[str, Any] | None
    transaction: dict[str, Any] | None = Field(
        None, description="On resolution of an alarm recorded on chain: the unsigned clearAlarm for the operator"
    )


class ResolveAlarmIn(Strict):
    proceed: bool = Field(description="true: the payment goes ahead; false: the shipment is cancelled.")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CancelShipmentIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class NoticeOut(BaseModel):
    notice_id: str
    subject: str
    channel: str = Field(description="sms (to the buyer's verified phone) or webhook (to the store's)")
    kind: str = Field(description="shipped, verified, collected, defaulted or alarm")
    login: str
    checkout_id: str
    store_id: str
    state: str = Field(description="pending, retrying, delivered or dead (a dead letter the operator may replay)")
    attempts: int
    last_error: str | None
    created_at: float | None
    delivered_at: float | None
    text: str


class WebhookDeliveryOut(BaseModel):
    delivery_id: str
    kind: Literal["instruction", "notice"] = Field(description="A production instruction, or a notice to the store.")
    store_id: str
    subject: str
    state: Literal["pending", "retrying", "delivered", "dead"] = Field(
        description="dead: every attempt failed (about six hours of back-off); the operator may replay it"
    )
    attempts: int
    last_error: str | None
    delivered_at: float | None


class RecommendationOut(BaseModel):
    item: str = Field(description="store_id/sku")
    store_id: str
    sku: str
    lift: str | None = Field(description="The lift over the buyer's items (a decimal string); null for a best seller")
    reason: str


class PurchaseOut(BaseModel):
    at: int | None = Field(description="Chain time it was paid (collected, for pay after delivery)")
    capability: str = Field(description="settlement, liquor, group_buy, cross_border or pay_after_delivery")
    reference: str = Field(description="The settlement, purchase, campaign, order or checkout id")
    buyer: str
    seller: str = Field(description="The seller's address")
    store_id: str | None = Field(description="The seller's store, where it is one")
    item: str = Field(description="What was bought: the order number, plan, scheme or SKU")
    quantity: int
    unit_price: Uint256Out
    amount: Uint256Out
    token: str | None
    status: str
    tx_hash: str | None
