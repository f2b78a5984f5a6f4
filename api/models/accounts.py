"""Request and response schemas of accounts: registration, the profile and its prompts, the two
sign-in factors, sessions, the bound wallet, and what an account may export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.models.common import Name, Signature, Strict, UnsignedTransaction
from api.models.evidence import Message
from api.types import Address, Hash32, Uint256Out
from engine.accounts.factors import MIN_PASSWORD
from engine.accounts.profile import NEEDS

Login = Annotated[str, StringConstraints(min_length=3, max_length=120, pattern=r"^\S+$")]
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD, max_length=256)]
# A code as typed: whatever is not 6 digits is refused like a wrong code, not by the schema
# (so the answer never differs by what was wrong).
Code = Annotated[str, StringConstraints(max_length=16)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")]
Action = Literal[tuple(NEEDS)]  # type: ignore[valid-type]
Kind = Literal["bearer", "cookie"]


class RegisterIn(Strict):
    """A new account: a login (an e-mail address or any name without spaces), a password, and
    the phone its codes go to (verified with the first code sent to it)."""

    login: Login
    password: Password = Field(description=f"At least {MIN_PASSWORD} characters; kept only as an argon2id hash.")
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)] = Field(
        description="International form (`+44 7911 123456`), or national with `region`."
    )
    region: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None


class RegisteredOut(BaseModel):
    login: str
    role: str
    store_id: str | None
    sent_to: str = Field(description="The masked phone the verification code went to.")
    detail: str


class VerifyPhoneIn(Strict):
    """The code sent to a new account's phone (or to a new phone)."""

    login: Login
    code: Code


class StaffIn(RegisterIn):
    """An account for one of the store's staff."""


class RoleAccountIn(RegisterIn):
    """An account the operator opens for a warehouse, a lender or another operator."""

    role: Literal["warehouse", "lender", "operator"]


class CodeRequestIn(Strict):
    login: Login


class AccountSignInIn(Strict):
    """Both factors: the password and the one-time code (the SMS code from `POST
    /accounts/sign-in/code`, or the authenticator's)."""

    login: Login
    password: Annotated[str, StringConstraints(max_length=256)]
    code: Code
    kind: Kind = Field("bearer", description="`bearer`: a token for API clients; `cookie`: a browser session.")


class WalletSignInIn(Strict):
    """A Sign-In with Ethereum by the account's bound wallet (nonce from `POST /auth/nonce`);
    an account with a second factor also gives its one-time code."""

    message: Message
    signature: Signature
    code: Code = ""
    kind: Kind = "bearer"


class AccountSessionOut(BaseModel):
    token: str | None = Field(
        description="The bearer token, shown once (absent for a cookie session: the browser holds it)."
    )
    session_id: str
    kind: Kind
    login: str
    role: str
    store_id: str | None
    factor: str | None = Field(description="How the sign-in was proven: `sms`, `totp`, `wallet`, `wallet+sms`, ...")
    expires_at: int


class CodeSentOut(BaseModel):
    detail: str
    sent_to: str | None = Field(None, description="The masked phone a verification code went to.")


class ProfileIn(Strict):
    name: Name | None = None
    company: Name | None = None


class PhoneIn(Strict):
    """A phone in international form (`+44 7911 123456`), or national with its region."""

    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)]
    region: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None


class CodeIn(Strict):
    code: Code


class AddressIn(Strict):
    lines: Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(min_length=1, max_length=6)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    default: bool = False


class AddressOut(BaseModel):
    label: str
    lines: list[str]
    country: str
    latitude: float
    longitude: float
    default: bool


class TotpOut(BaseModel):
    secret: str = Field(description="Base32: enter it in the authenticator, then confirm with its first code.")
    provisioning_uri: str


class TotpConfirmIn(Strict):
    secret: Annotated[str, StringConstraints(pattern=r"^[A-Z2-7]{16,64}$")]
    code: Code


class WalletIn(Strict):
    """A Sign-In with Ethereum message and signature by the wallet to bind."""

    message: Message
    signature: Signature


class NeedsOut(BaseModel):
    action: str
    allowed: bool
    missing: list[str] = Field(description="What the profile lacks for the action, in prompting order.")


class AccountOut(BaseModel):
    login: str
    role: str
    store_id: str | None
    name: str | None
    company: str | None
    phone: str | None = Field(description="E.164; shown in full to its holder only.")
    phone_verified: bool
    addresses: list[AddressOut]
    wallet: Address | None
    second_factor: str | None = Field(description="`totp`, `sms` or none yet.")
    locked: bool
    closed: bool
    missing: dict[str, list[str]] = Field(description="For each action, what the profile lacks.")


class SessionRecordOut(BaseModel):
    session_id: str
    kind: str
    factor: str
    issued_at: float
    expires_at: float
    closed_at: float | None


class ExportOut(BaseModel):
    """Everything kept about the account: its profile and every event recorded for it (hashes
    of the password and codes left out)."""

    account: AccountOut
    sessions: list[SessionRecordOut]
    events: list[dict[str, Any]]


class LockIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CloseIn(Strict):
    password: Annotated[str, StringConstraints(max_length=256)]


class AttestationOut(BaseModel):
    uid: Hash32
    identity_hash: Hash32 | None
    level: int
    attester: Address
    recipient: Address
    attested_at: int
    expiration_time: int = Field(description="0: never expires.")
    revoked: bool
    revocation_time: int | None
    block_number: int


class IdentityOut(BaseModel):
    """What the operator reviews before attesting: the record an attestation vouches for, what it
    lacks, its current hash and level, and the attestations made of it."""

    record: dict[str, Any]
    missing: list[str]
    identity_hash: Hash32 | None = Field(
        description="The hash the current record makes (none before a first attestation)."
    )
    level: int = Field(description="The level that holds on chain now for the current record (0: none).")
    attestations: list[AttestationOut]


class ReviewOut(BaseModel):
    account: AccountOut
    identity: IdentityOut


class AccountListedOut(BaseModel):
    """An account in the operator's list of identities to review."""

    login: str
    role: str
    store_id: str | None
    name: str | None
    company: str | None
    phone_verified: bool
    wallet: Address | None
    missing: list[str] = Field(description="What the profile lacks before it can be attested.")
    identity_hash: Hash32 | None = Field(description="The hash of the current record, once prepared for attestation.")
    level: int = Field(description="The level that holds on chain now for the current record (0: none).")
    locked: bool
    closed: bool


class AccountListOut(BaseModel):
    accounts: list[AccountListedOut]
    next: int | None = Field(description="Pass as `before` for the next page (none: this was the last).")


class AttestIn(Strict):
    """Attest the account's current record: from the attester's wallet (one the engine trusts)."""

    attester: Address
    level: Literal[1, 2]
    valid_for: Annotated[int, Field(ge=0, le=10 * 365 * 86_400)] = Field(
        365 * 86_400, description="Seconds from now until the attestation expires (0: never)."
    )


class AttestTxOut(BaseModel):
    identity_hash: Hash32
    level: int
    expiration_time: int
    transaction: UnsignedTransaction


class RevokeIn(Strict):
    attester: Address
    uid: Hash32


class RevokeTxOut(BaseModel):
    uid: Hash32
    transaction: UnsignedTransaction


class CounterOut(BaseModel):
    name: str
    counts: Literal["for", "against", "counted"] = Field(description="For the party, against it, or counted only.")
    total: int
    last_365_days: int
    means: str


class ReputationOut(BaseModel):
    """An address's (or an account's addresses') signals from every capability, and the score."""

    addresses: list[Address]
    counters: list[CounterOut]
    positive: int = Field(description="Signals for, in the last 365 days.")
    negative: int = Field(description="Signals against, in the last 365 days.")
    score: Annotated[str, StringConstraints(pattern=r"^(0|1)(\.[0-9]+)?$")] = Field(
        description="Wilson lower bound (95 %) of the positive share of the last 365 days' signals; 0 with none."
    )
    window_seconds: int


class AccountReputationOut(ReputationOut):
    login: str
    identity_level: int
    credit_limit: Uint256Out = Field(
        description="What the account may owe after delivery, in base units: the level's cap x the score, floored."
    )
    credit_limit_cap: Uint256Out = Field(description="The identity level's cap (at a score of 1).")


class FeedbackIn(Strict):
    rating: Literal["positive", "negative"]
    comment: Annotated[str, StringConstraints(max_length=1000)] = ""


class CheckoutFeedbackIn(FeedbackIn):
    store_id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class FeedbackOut(BaseModel):
    settlement_id: Hash32 = Field(
        description="The order rated: the settlement's id, or the mandate's of a shipment paid after delivery"
    )
    store: Address
    rating: str
    comment: str
    at: int
    document_hash: Hash32 | None = Field(
        None, description="The hash of what is anchored of it (GET /feedback/{hash} shows its Merkle proof)"
    )


class FeedbackProofOut(BaseModel):
    document_hash: Hash32
    document: dict[str, Any] = Field(description="What was anchored: who rated which order of whom, how and when")
    anchoring: dict[str, Any] | None = Field(
        description="Once anchored: the batch, its root, the Merkle proof and the anchoring transaction"
    )
    anchored: bool = Field(description="Whether EvidenceAnchor itself verifies the proof now")


class DeliveryAddressOut(BaseModel):
    label: str
    lines: list[str]
    country: str
    latitude: float
    longitude: float


class BuyerOut(BaseModel):
    """What a store sees of the buyer of its own order: never the full phone, never other addresses."""

    order_number: str
    wallet: Address
    name: str | None
    phone: str | None = Field(description="Masked: the country code and the last two digits.")
    delivery_address: DeliveryAddressOut | None = Field(description="The buyer's default delivery address.")
    identity_level: int
