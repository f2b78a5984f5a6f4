"""Request and response schemas of the settlement routes: stores, store orders and their settlements."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.models.common import Name, Signature, Strict, Text
from api.types import Address, Amount, AmountOut, Hash32, OrderNumber, PositiveAmount, StoreId, Uint256, Uint256Out
from engine.settlement.store_order import ORDER_STATUSES

TIME_LIMIT_MAX = 2**32 - 1  # the contract's uint32
OrderStatus = Literal[ORDER_STATUSES]  # type: ignore[valid-type]


# -- problems (RFC 9457)


# -- stores


class StoreIn(Strict):
    """A store to register."""

    store_id: StoreId
    name: Name = Field(examples=["Corner Shop"])
    address: Address = Field(description="The store's on-chain address: signs store actions, receives payouts.")


class StoreRecord(BaseModel):
    """A registered store."""

    store_id: str
    name: str
    address: Address


class StoreRegistered(StoreRecord):
    """The registered store, with its API key (shown this once)."""

    api_key: str = Field(description="The store's API key, shown this once.")


class Item(Strict):
    """One line of a store order."""

    name: Name
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Amount
    sku: Annotated[str, StringConstraints(max_length=64)] | None = None


class StoreOrderIn(Strict):
    """A store order to create: its terms become the snapshot the buyer pays against."""

    order_number: OrderNumber
    amount: PositiveAmount = Field(description="Amount due in the token's base units.", examples=["25000000"])
    token: Address = Field(description="An ERC-20 token the settlement contract allows.")
    payout_address: Address | None = Field(None, description="Must be the store's address (the default).")
    buyer: Address | None = Field(None, description="If set, only this buyer's settlement pays the order.")
    items: list[Item] = Field(default_factory=list, max_length=200)
    time_limit: int | None = Field(
        None, ge=1, le=TIME_LIMIT_MAX, description="Settlement time limit in seconds; default: the contract's."
    )


class Payment(BaseModel):
    """What the buyer's wallet passes to ``C2CSettlement.open``."""

    settlement_contract: Address
    store: Address
    order_number: str
    order_number_bytes32: Hash32
    token: Address
    amount: AmountOut
    snapshot_hash: Hash32
    time_limit: int


class StoreOrderCreated(BaseModel):
    """The created order: its snapshot, the snapshot's hash and what the buyer's wallet passes on."""

    store_id: str
    order_number: str
    snapshot: dict[str, Any]
    snapshot_hash: Hash32
    payment: Payment


class OrderItem(BaseModel):
    """One line of a store order, as the view shows it."""

    name: str
    quantity: int
    unit_price: AmountOut
    sku: str | None = None


class ClaimOut(BaseModel):
    """The buyer's claim of a lower amount due, waiting for the store's answer."""

    amount_due: AmountOut
    reason_hash: Hash32
    respond_by: Uint256Out = Field(description="After this (unix time) anyone may execute the claim.")


class SettlementDisputeOut(BaseModel):
    """A dispute in progress: who raised it, the buyer's proposed split, and its arbiter."""

    by: str
    proposed_to_store: AmountOut
    reason_hash: Hash32
    arbiter: str
    decide_by: Uint256Out = Field(description="After this (unix time) anyone may end it halfway between the positions.")


class Credit(BaseModel):
    """A payout the token would not transfer (a blocked recipient), credited in the contract:
    owed until the recipient claims it (``GET /credits/{address}`` shows all it is owed)."""

    recipient: str
    token: str
    amount: AmountOut
    block_number: int
    log_index: int
    claimed: bool = Field(description="A later claim by the recipient took it: no longer owed.")


class SettlementStep(BaseModel):
    """A log of the settlement the order follows."""

    step: str
    block_number: int
    tx_hash: Hash32
    log_index: int
    confirmations: int | None
    timestamp: int | None = None
    amount: AmountOut | None = None
    previous_amount: AmountOut | None = None
    payment_record: Uint256Out | None = None
    to_store: AmountOut | None = None
    to_payer: AmountOut | None = None
    amount_due: AmountOut | None = None
    proposed_to_store: AmountOut | None = None
    ending: str | None = None
    recipient: str | None = None


class StoreOrderOut(BaseModel):
    """A store order as the store-order view shows it."""

    store_id: str
    order_number: str
    status: OrderStatus
    amount: AmountOut
    amount_due: AmountOut
    token: str
    order_buyer: str | None
    time_limit: int | None
    items: list[OrderItem]
    snapshot_hash: Hash32
    created_at: str
    chain_id: int
    settlement_contract: str
    store_address: str
    settlement_id: Hash32 | None
    settlement_status: str | None
    mismatch: list[str]
    frozen_amount: AmountOut | None
    paid_to_store: AmountOut
    refunded_to_payer: AmountOut
    payment_record: Uint256Out | None
    deadline: Uint256Out | None
    buyer: str | None
    payer: str | None
    claim: ClaimOut | None
    dispute: SettlementDisputeOut | None
    ending: str | None = Field(
        description="How the settlement ended: confirmed, claim_accepted, claim_executed, "
        "agreed, arbitrated or arbitration_lapsed."
    )
    credited: list[Credit]
    steps: list[SettlementStep]
    other_settlements: list[Hash32]
    cursor: str = Field(description="This change's position: pass it as `after` to poll for later changes.")


class OrdersPage(BaseModel):
    """A page of the store's orders, oldest change first."""

    orders: list[StoreOrderOut]
    next_cursor: str
    has_more: bool


class HistoryEntry(BaseModel):
    """One step an order went through: created, a settlement's log, or its retraction after a reorg."""

    step: str
    seq: int
    settlement_id: Hash32 | None = None
    block_number: int | None = None
    block_hash: Hash32 | None = None
    tx_hash: Hash32 | None = None
    log_index: int | None = None
    retracted: bool = False
    mismatch: list[str] | None = Field(
        None,
        description="For a log that sets a settlement's terms: why they do not match the order (empty when they do).",
    )
    snapshot_hash: Hash32 | None = None
    created_at: str | None = None


class OrderHistory(BaseModel):
    """Every step an order went through, oldest first."""

    store_id: str
    order_number: str
    history: list[HistoryEntry]


# -- settlements


class KeyIn(Strict):
    """What identifies a settlement: store, order number, buyer, payer and token."""

    store: Address
    order_number: OrderNumber
    buyer: Address
    payer: Address | None = Field(None, description="Who pays and gets refunds; default: the buyer.")
    token: Address


class OpenIn(Strict):
    """Open (or update) a settlement: the payer freezes ``amount`` for the order snapshot."""

    key: KeyIn
    amount: PositiveAmount
    snapshot_hash: Hash32
    time_limit: int | None = Field(
        None,
        ge=0,
        le=TIME_LIMIT_MAX,
        description="Seconds from payment to release. Default: the time limit of the "
        "store order whose snapshot this is (what the order's terms require), "
        "else the contract's default; 0 for the contract's default.",
    )


class PermitSignature(Strict):
    """An EIP-2612 permit the payer signed (``POST /settlements/permit`` gives what to sign)."""

    value: Uint256
    deadline: Uint256
    v: int = Field(ge=0, le=255)
    r: Hash32
    s: Hash32


class OpenWithPermitIn(OpenIn):
    """Open with a permit instead of a prior approval."""

    permit: PermitSignature


class ShipIn(Strict):
    """The store ships, naming its waybill and the frozen amount and snapshot it ships against."""

    key: KeyIn
    waybill: Text = Field(description="The logistics record (waybill); its keccak-256 goes on chain.")
    amount: PositiveAmount = Field(
        description="The frozen amount the store ships against (the order's "
        "`frozen_amount`); a change by the payer in between reverts."
    )
    snapshot_hash: Hash32 = Field(description="The snapshot hash the store ships against.")


class ClaimIn(Strict):
    """The buyer claims that less is due (the store accepts or contests; silence executes it)."""

    key: KeyIn
    amount_due: Amount
    reason: Text


class DisputeIn(Strict):
    """The buyer disputes, proposing a split."""

    key: KeyIn
    proposed_to_store: Amount
    reason: Text


class ContestIn(Strict):
    """The store contests the buyer's claim, with its reason."""

    key: KeyIn
    reason: Text


class SettleIn(Strict):
    """A split both parties agree to: the sender is one party (or neither), the others signed."""

    key: KeyIn
    sender: Address
    to_store: Amount
    deadline: Uint256 = Field(description="Until when the signatures hold (unix time).")
    store_signature: Signature = Field(
        "0x", description="The store's EIP-712 Agreement signature, unless the store sends this."
    )
    buyer_signature: Signature = Field(
        "0x", description="The buyer's EIP-712 Agreement signature, unless the buyer sends this."
    )


class AgreementIn(Strict):
    """The EIP-712 Agreement to a split, for a party to sign."""

    key: KeyIn
    to_store: Amount
    deadline: Uint256 | None = Field(None, description="Default: a week from the chain's clock.")


class KeyOnlyIn(Strict):
    """An action that needs only the settlement's key."""

    key: KeyIn


class SenderKeyIn(Strict):
    """An action anyone may send: the sender signs it."""

    key: KeyIn
    sender: Address


class SettlementResolveIn(SenderKeyIn):
    """The arbiter's split: ``to_store`` to the store, the rest to the payer."""

    to_store: Amount


class PermitIn(Strict):
    """Typed data of an EIP-2612 permit for the settlement contract."""

    owner: Address
    token: Address
    value: Uint256
    deadline: Uint256 | None = Field(None, description="Default: an hour from the chain's clock.")


# -- chain
