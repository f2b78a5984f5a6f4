"""Request and response schemas of the liquor routes (cases of liquor in custody)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.models.common import Name, Signature, Strict, Text, TypedData
from api.types import Address, Amount, AmountOut, Hash32, PositiveAmount, Uint256Out, _integer_string
from engine.liquor import CASE_CODE_PATTERN, CASE_STATES, LOAN_STATUSES, MAX_CASES, MAX_ID, MAX_LOAN_TERM, MAX_WINDOW

Count = Annotated[int, Field(ge=1, le=MAX_CASES)]
TokenId = _integer_string(1, MAX_ID, "a case's token id")
PlanId = _integer_string(1, MAX_ID, "a sale plan's id")
PurchaseId = _integer_string(1, MAX_ID, "a purchase's id")
Timestamp = _integer_string(0, 2**40 - 1, "unix time in seconds")
Window = Annotated[int, Field(ge=1, le=MAX_WINDOW, description="seconds")]
LoanTerm = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_LOAN_TERM,
        description="seconds from each case's outbound until its loan is due",
        examples=[2_592_000],
    ),
]
CaseCode = Annotated[str, StringConstraints(pattern=CASE_CODE_PATTERN), Field(examples=["GLN-2015-000123"])]
HexBytes = Annotated[str, StringConstraints(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=4098)]
PublicKey = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{128}$")]
CaseState = Literal[CASE_STATES]  # type: ignore[valid-type]
LoanStatus = Literal[LOAN_STATUSES]  # type: ignore[valid-type]


# -- listings: the facts and terms behind a plan's hashes


class FactsIn(Strict):
    """The liquor's facts; their hash is what the plan carries on chain."""

    name: Name = Field(examples=["Old Reserve Single Malt"])
    producer: Name = Field(examples=["Glen Example Distillery"])
    vintage: Annotated[int, Field(ge=1800, le=9999)]
    volume_ml: Annotated[int, Field(ge=1, le=100_000, description="Volume per bottle, millilitres.")]
    abv: Annotated[
        str,
        StringConstraints(pattern=r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]{1,2})?)$"),
        Field(description="Alcohol by volume, percent, a decimal string.", examples=["43.5"]),
    ]
    bottles_per_case: Annotated[int, Field(ge=1, le=1000)]


class TermsIn(Strict):
    """The custody agreement a buyer accepts; its hash is what the plan carries on chain."""

    text: Text = Field(description="The agreement's text.")
    storage_fee_per_case_year: Amount | None = Field(None, description="Storage fee, token base units.")
    insured: bool = True


class SaleIn(Strict):
    """The sale the producer means to put on chain: a plan that differs is flagged."""

    cases: Count
    unit_price: PositiveAmount
    token: Address
    warehouse: Address
    fulfilment_window: Window


class ListingIn(Strict):
    """A producer's liquor facts and custody terms (and the sale it means), recorded by the operator."""

    producer: Address = Field(description="The producer's account: it creates the plan.")
    facts: FactsIn
    terms: TermsIn
    sale: SaleIn | None = None


class SaleOut(BaseModel):
    cases: int
    unit_price: AmountOut
    token: Address
    warehouse: Address
    fulfilment_window: int


class Listing(BaseModel):
    """A recorded listing with the hashes its plan must carry."""

    producer: Address
    facts: dict[str, Any]
    facts_hash: Hash32
    terms: dict[str, Any]
    terms_hash: Hash32
    sale: SaleOut | None = None


# -- actions (the sender signs the transaction)


class CreatePlanIn(Strict):
    """A sale plan over a listing's facts and terms (S1); the producer sends it."""

    sender: Address = Field(description="The producer (it must have a listing with these facts).")
    facts_hash: Hash32
    cases: Count | None = Field(None, description="Default: the listing's sale.")
    unit_price: PositiveAmount | None = None
    token: Address | None = None
    warehouse: Address | None = None
    fulfilment_window: Window | None = None


class LoanTerms(Strict):
    """A loan purchase's terms: each case is minted pledged to the lender (B1-B3)."""

    lender: Address
    interest_per_case: Amount = 0
    term: LoanTerm = Field(
        description="Seconds from each case's outbound until its loan is due: the term runs "
        "from when the buyer holds the case, however late the warehouse ships it."
    )


class CustodyIn(Strict):
    """What the buyer signs to buy under a plan's custody terms (S2, S3)."""

    plan_id: PlanId
    quantity: Count
    buyer: Address
    loan: LoanTerms | None = None
    deadline: Timestamp | None = Field(None, description="Default: an hour from now.")


class BuyIn(CustodyIn):
    """The purchase the buyer signed, sent by its payer (the lender of a loan purchase)."""

    sender: Address = Field(description="The payer: the buyer, anyone paying for it, or the loan's lender.")
    deadline: Timestamp
    buyer_signature: Signature


class PurchaseActionIn(Strict):
    sender: Address = Field(description="The purchase's payer.")
    purchase_id: PurchaseId


class OutboundIn(Strict):
    """The warehouse records a case's outbound with its case (box) code (S4, S5)."""

    sender: Address = Field(description="The plan's warehouse.")
    purchase_id: PurchaseId
    case_code: CaseCode


class CaseActionIn(Strict):
    sender: Address
    token_id: TokenId


class GiftIn(CaseActionIn):
    """The holder gives the case away (A1-A3), with a message (its hash goes on chain)."""

    to: Address
    message: Text = "A gift"


class LoanOfferIn(Strict):
    """What a lender signs to offer a loan against a case (C1)."""

    token_id: TokenId
    lender: Address
    principal: PositiveAmount
    interest: Amount = 0
    due_at: Timestamp
    deadline: Timestamp | None = Field(None, description="Default: a day from now.")


class LiquorPledgeIn(CaseActionIn):
    """The holder accepts a lender's signed offer (C2): principal to the holder, the case locked."""

    lender: Address
    principal: PositiveAmount
    interest: Amount = 0
    due_at: Timestamp
    deadline: Timestamp
    lender_signature: Signature


class PickupTypedIn(Strict):
    """What the holder signs to ask for delivery (S6)."""

    token_id: TokenId
    holder: Address
    ciphertext: HexBytes = Field(description="The delivery address, ECIES-encrypted to the warehouse's key.")
    code_hash: Hash32 = Field(description="keccak-256 of the pickup code only the recipient knows.")
    deadline: Timestamp | None = Field(
        None, description="Until when the signed request may be relayed. Default: a day from now."
    )


class RequestPickupIn(CaseActionIn):
    """The holder's signed pickup request, relayed by the sender (the holder, or anyone) before its deadline."""

    ciphertext: HexBytes
    code_hash: Hash32
    deadline: Timestamp
    holder_signature: Signature


class SenderIn(Strict):
    sender: Address


class ConfirmDeliveryIn(CaseActionIn):
    """The warehouse presents the pickup code given at the door (S7): the token is burned."""

    pickup_code: Text


class WarehouseKeyIn(Strict):
    sender: Address = Field(description="The warehouse: the key must be its own account's.")
    public_key: PublicKey = Field(description="Its secp256k1 public key, 64 bytes without the 0x04 prefix.")


# -- responses


class LiquorStep(BaseModel):
    """One log in the life of a plan, purchase or case, with its chain coordinates."""

    model_config = {"extra": "allow"}

    step: str
    block_number: int
    block_hash: Hash32
    tx_hash: Hash32
    log_index: int
    timestamp: int | None = None
    of: Literal["plan", "purchase", "case"] | None = None
    amount: Uint256Out | None = None
    refund: Uint256Out | None = None
    principal: AmountOut | None = None
    interest: AmountOut | None = None


class Inventory(BaseModel):
    """A plan's cases by where they stand."""

    cases: int
    for_sale: int
    awaiting_outbound: int
    in_custody: int
    pledged: int
    redeeming: int
    delivered: int


class Plan(BaseModel):
    plan_id: int
    producer: Address
    warehouse: Address
    token: Address
    unit_price: AmountOut
    cases: int
    facts_hash: Hash32
    terms_hash: Hash32
    fulfilment_window: int
    facts: dict[str, Any] | None = Field(None, description="From the producer's listing (None: none matches).")
    terms: dict[str, Any] | None = None
    mismatches: list[str] = Field(description="How the plan differs from its listing; empty when it matches.")
    inventory: Inventory
    steps: list[LiquorStep]
    seq: int


class PurchaseLoan(BaseModel):
    lender: Address
    interest_per_case: AmountOut
    term: int = Field(description="Seconds from each case's outbound until its loan is due.")


class Purchase(BaseModel):
    purchase_id: int
    plan_id: int
    buyer: Address
    payer: Address
    quantity: int
    amount: Uint256Out
    terms_hash: Hash32
    paid_at: int | None = None
    loan: PurchaseLoan | None = None
    assigned: int
    cancelled: int
    unassigned: int
    refunded: Uint256Out
    steps: list[LiquorStep]
    seq: int


class Loan(BaseModel):
    lender: Address
    holder: Address
    principal: AmountOut
    interest: AmountOut
    due_at: int
    status: LoanStatus
    pledged: LiquorStep
    ended: LiquorStep | None = None


class Pickup(BaseModel):
    holder: Address
    ciphertext: str
    code_hash: Hash32
    requested: LiquorStep


class Case(BaseModel):
    token_id: int
    plan_id: int
    purchase_id: int
    case_code: Hash32
    case_code_text: str | None = None
    owner: Address | None
    state: CaseState
    locked: bool
    warehouse: Address | None = None
    loan: Loan | None = None
    loans: list[Loan]
    pickup: Pickup | None = None
    steps: list[LiquorStep]
    seq: int


class LenderLoan(Loan):
    token_id: int
    overdue: bool
    seq: int


class QueuedPickup(BaseModel):
    """A pickup the warehouse has to serve."""

    token_id: int
    plan_id: int
    case_code: Hash32
    state: Literal["redeeming", "dispatched"]
    holder: Address
    ciphertext: str = Field(description="ECIES ciphertext of the delivery address: only the warehouse can read it.")
    code_hash: Hash32
    requested: LiquorStep
    seq: int


class WarehouseKey(BaseModel):
    warehouse: Address
    public_key: str | None


class Metadata(BaseModel):
    """ERC-721 metadata JSON (name, description, attributes), as wallets and marketplaces read it."""

    model_config = {"extra": "allow"}

    name: str
    description: str
    attributes: list[dict[str, Any]]


class CustodyTypedData(TypedData):
    """The custody agreement to sign, with what the buyer agrees to and what the payer pays."""

    terms: dict[str, Any] | None = Field(
        description="The custody terms (None: no listing carries the plan's terms hash; the buyer signs only the hash)."
    )
    token: Address
    amount: Uint256Out = Field(description="The price of the quantity, token base units.")


class LoanOfferTypedData(TypedData):
    """The loan offer to sign, with the token the principal is paid in."""

    token: Address
