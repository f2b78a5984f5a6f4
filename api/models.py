"""Request and response schemas. Amounts travel as decimal strings of base units."""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

def _checksummed(value: str) -> str:
    """Mixed-case addresses must carry a valid EIP-55 checksum (a typo is caught, not paid)."""
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and to_checksum_address(value) != value:
        raise ValueError("address has an invalid EIP-55 checksum")
    return value


Address = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$"), AfterValidator(_checksummed)]
Hash32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
Amount = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,28})$")]
StoreId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
OrderNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
MAX_AMOUNT = 2**96 - 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreIn(Strict):
    store_id: StoreId = Field(examples=["corner-shop"])
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(examples=["Corner Shop"])
    address: Address = Field(description="The store's on-chain address: signs store actions, receives payouts.")


class Item(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Amount
    sku: Annotated[str, StringConstraints(max_length=64)] | None = None


class StoreOrderIn(Strict):
    order_number: OrderNumber = Field(examples=["A-1001"])
    amount: Amount = Field(description="Amount due in the token's base units.", examples=["25000000"])
    token: Address
    payout_address: Address | None = Field(None, description="Must be the store's address (the default).")
    buyer: Address | None = Field(None, description="If set, only this buyer's settlement pays the order.")
    items: list[Item] = Field(default_factory=list, max_length=200)
    time_limit: int | None = Field(None, ge=1, le=2**32 - 1, description="Settlement time limit in seconds.")


class KeyIn(Strict):
    store: Address
    order_number: OrderNumber
    buyer: Address
    payer: Address | None = Field(None, description="Who pays and gets refunds; default: the buyer.")
    token: Address


class OpenIn(Strict):
    key: KeyIn
    amount: Amount
    snapshot_hash: Hash32
    time_limit: int = Field(0, ge=0, le=2**32 - 1)


class PermitSignature(Strict):
    value: Amount
    deadline: Amount
    v: int = Field(ge=0, le=255)
    r: Hash32
    s: Hash32


class OpenWithPermitIn(OpenIn):
    permit: PermitSignature


class ShipIn(Strict):
    key: KeyIn
    waybill: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="The logistics record (waybill); its keccak-256 goes on chain.")


class ConfirmIn(Strict):
    key: KeyIn
    amount_due: Amount


class DisputeIn(Strict):
    key: KeyIn
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class KeyOnlyIn(Strict):
    key: KeyIn


class SenderKeyIn(Strict):
    key: KeyIn
    sender: Address


class ResolveIn(SenderKeyIn):
    to_store: Amount


class PermitIn(Strict):
    owner: Address
    token: Address
    value: Amount
    deadline: Amount | None = None


class ApproveIn(Strict):
    owner: Address
    token: Address
    amount: Amount


class RawTxIn(Strict):
    raw: Annotated[str, StringConstraints(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=131072)]
    wait: float = Field(10.0, ge=0, le=60)
