"""What every capability's schemas share: strict request bodies, problems (RFC 9457), log steps, unsigned transactions and typed data, the relay and the engine's status."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.types import Address, Hash32, Quantity, Uint256, Uint256Out

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Strict(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class FieldError(BaseModel):
    """One field that does not match the schema."""

    loc: list[str | int]
    msg: str
    type: str


class Revert(BaseModel):
    """A contract's custom error, by name and arguments (integers as decimal strings)."""

    error: str
    args: dict[str, Any]
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(None, description="Validation errors, one per field.")
    revert: Revert | None = Field(None, description="The custom error the contract would revert with.")
    tx_hash: Hash32 | None = None
    token: Address | None = None
    expected_document: dict[str, Any] | None = Field(
        None, description="A refused rate: the document the signature was checked against."
    )
    expected_message: str | None = Field(
        None, description="A refused rate: the exact text to sign (the document's canonical JSON, EIP-191)."
    )
    field: str | None = Field(None, description="A refused profile: the field that is not acceptable.")
    action: str | None = Field(None, description="An incomplete profile: the action it is not complete for.")
    missing: list[str] | None = Field(
        None, description="An incomplete profile: every field the action needs that it lacks, in prompting order."
    )


class LogStep(BaseModel):
    """A contract log in the life of something, by its chain coordinates (each capability adds
    the amounts its logs carry)."""

    step: str
    block_number: int
    tx_hash: Hash32
    log_index: int
    timestamp: int | None = None


Signature = Annotated[str, StringConstraints(pattern=r"^0x([0-9a-fA-F]{130})?$")]


class ClaimCreditIn(Strict):
    """A recipient's credited payouts (a token that would not transfer to it), sent where it names."""

    owner: Address = Field(description="The recipient the payouts were credited to; it signs.")
    token: Address
    to: Address = Field(description="Where the credited amount goes.")


class ApproveIn(Strict):
    """An ERC-20 approval of the settlement contract."""

    owner: Address
    token: Address
    amount: Uint256


class UnsignedTransaction(BaseModel):
    """An EIP-1559 transaction to sign as it is: numbers are JSON-RPC quantities (hex strings)."""

    model_config = ConfigDict(populate_by_name=True)

    type: Quantity
    chainId: Quantity
    from_: Address = Field(alias="from")
    to: Address
    data: Annotated[str, StringConstraints(pattern=r"^0x([0-9a-fA-F]{2})*$")]
    value: Quantity
    gas: Quantity
    nonce: Quantity
    maxFeePerGas: Quantity
    maxPriorityFeePerGas: Quantity


class Unsigned(BaseModel):
    """An unsigned transaction for the holder's wallet, with the settlement it is about."""

    settlement_id: Hash32 | None = None
    transaction: UnsignedTransaction


class TypedData(BaseModel):
    """EIP-712 typed data for the holder to sign."""

    typed_data: dict[str, Any] = Field(description="EIP-712 typed data (types, primaryType, domain, message).")


class RawTxIn(Strict):
    """A signed raw transaction to relay."""

    raw: Annotated[str, StringConstraints(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=131072)]
    wait: float = Field(10.0, ge=0, le=60, description="Seconds to wait for the receipt.")


class ChainEvent(BaseModel):
    """A decoded log of a transaction."""

    event: str
    address: Address
    log_index: int
    args: dict[str, Any]


class TxOutcome(BaseModel):
    """What became of a transaction: pending, its events, or the custom error it reverted with."""

    tx_hash: Hash32
    status: Literal["pending", "success", "reverted"]
    block_number: int | None = None
    gas_used: int | None = None
    events: list[ChainEvent] | None = None
    revert: Revert | None = None


class ViewStatus(BaseModel):
    position: int = Field(description="The event-log position the view has applied.")
    block: int | None = Field(description="The chain block the view shows (None: nothing indexed yet).")
    error: str | None = Field(description="Why its last catch-up failed (it is retried each round); None: it did not.")


class ViewsWait(BaseModel):
    """The answer of `GET /views/wait`: whether the views reached the block, and where each stands."""

    reached: bool
    block: int
    waited_ms: int
    views: dict[str, ViewStatus]


class Status(BaseModel):
    """The engine's view of the chain."""

    chain_id: int
    node_head: int | None
    chain_time: int | None = Field(
        description="The latest block's timestamp (the chain's clock: due dates and deadlines are measured by it)."
    )
    indexed_block: int | None
    indexed_block_hash: Hash32 | None
    confirmations: int
    lag: int | None
    ready: bool
    view_position: int
    views_block: int | None = Field(
        description="The block every view shows: the least of the views' blocks. "
        "A client that waits for its transaction waits for this, or for "
        "one view's block (`GET /views/wait`)."
    )
    views: dict[str, ViewStatus] = Field(description="Each view by name: position, block shown, failure.")
    last_error: str | None
    halted: str | None = Field(description="Why the engine stopped following the node, if it did.")
    backfill: dict[str, Any] | None = Field(
        None,
        description="A long read under way: block, target, blocks/s, events/s and the estimated seconds left (eta_s).",
    )
    new_heads: dict[str, Any] | None = Field(
        None,
        description="The node's new-head subscription: its URL, whether "
        "it is live (else the engine polls), notifications.",
    )
    contracts: dict[str, Address]


class Ready(BaseModel):
    """Readiness: 200 when ready, else a 503 problem saying why."""

    ready: bool


class CreditEntryOut(BaseModel):
    kind: Literal["credited", "claimed"]
    amount: Uint256Out
    block_number: int
    log_index: int
    block_hash: Hash32
    tx_hash: Hash32
    claimed: bool | None = Field(None, description="A credit: whether a later claim took it (no longer owed).")
    to: Address | None = Field(None, description="A claim: where the credit went.")
    source: str | None = Field(None, description="What was credited, where the contract tells it (a campaign).")


class CreditLedgerOut(BaseModel):
    """What one contract credited a recipient in one token (payouts and refunds the token would not
    transfer to it) and what it claimed; a claim takes the whole credit."""

    contract: str = Field(description="The contract's name in the deployment.")
    address: Address = Field(description="The contract's address.")
    token: Address
    credited: Uint256Out
    claimed: Uint256Out
    owed: Uint256Out = Field(description="What the recipient may claim now.")
    claim_route: str = Field(description="The route that builds the unsigned claim (`orderchain wallet claim-credit`).")
    entries: list[CreditEntryOut]
