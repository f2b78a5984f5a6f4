"""Request and response schemas of sign-in, ordering with evidence and its verification."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.models.common import Signature, Strict
from api.types import Address, Hash32, Uint256Out
from engine.signin import MAX_MESSAGE

Message = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE)]


class NonceOut(BaseModel):
    nonce: str
    domain: str = Field(description="The domain the EIP-4361 message must name.")
    chain_id: int
    expires_at: int


class SignInIn(Strict):
    """An EIP-4361 message with this API's domain, chain and a nonce from `POST /auth/nonce`, and its signature."""

    message: Message
    signature: Signature


class SessionOut(BaseModel):
    token: str = Field(description="The session's bearer token, shown once.")
    address: Address
    expires_at: int


class PrepareIn(Strict):
    """An order for a campaign, with a fresh sign-in (S1.1: identity verified again)."""

    campaign_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    quantity: Annotated[int, Field(ge=1, le=2**32 - 1)]
    sign_in: SignInIn


class PreparedOut(BaseModel):
    """What the buyer is shown and signs (S1.2-S1.4); then it pledges with the confirmation hash (S1.5)."""

    order: dict[str, Any]
    risk_notice: str
    acknowledgement: dict[str, Any] = Field(description="EIP-712 typed data acknowledging the risk notice.")
    confirmation: dict[str, Any] = Field(description="EIP-712 typed data confirming the order.")
    confirmation_hash: Hash32 = Field(description="The confirmation's EIP-712 digest: pass it to the pledge.")
    token: Address
    deposit: Uint256Out


class SignedPart(Strict):
    typed_data: dict[str, Any]
    signature: Signature


class EvidenceIn(Strict):
    """The parts of an order's evidence; the deposit is read from its transaction on chain."""

    sign_in: SignInIn
    order: dict[str, Any]
    acknowledgement: SignedPart
    confirmation: SignedPart
    deposit_tx: Hash32


class Anchoring(BaseModel):
    batch_id: int
    root: Hash32
    proof: list[Hash32]
    tx_hash: Hash32
    block_number: int
    anchored_at: int = Field(description="The block's time: the evidence's timestamp.")


class EvidenceOut(BaseModel):
    bundle_hash: Hash32
    bundle: dict[str, Any]
    seal: str = Field(description="The witness's countersignature of the bundle hash (EIP-191).")
    witness: Address
    root: Hash32 | None = None
    anchoring: Anchoring | None = None


class VerifyIn(Strict):
    bundle: dict[str, Any]
    seal: Signature | None = Field(None, description="A countersignature to check (default: the one recorded).")


class VerifyOut(BaseModel):
    intact: bool = Field(description="The bundle is one this engine recorded, byte for byte (by its hash).")
    bundle_hash: Hash32 | None
    signatures_valid: bool
    checks: dict[str, bool]
    problems: list[str]
    countersignature_valid: bool
    witness: Address | None
    anchored: bool
    anchoring: Anchoring | None = None
