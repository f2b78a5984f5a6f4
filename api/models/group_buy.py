"""Request and response schemas of the group-buying routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from api.models.common import LogStep, Name, Strict
from api.types import Address, Amount, AmountOut, Hash32, PositiveAmount, Uint256Out

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$"), Field(examples=["fabric"])]
SchemeId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9=,_-]{1,400}$"), Field(examples=["color=red,fabric=cotton"])
]
Term = Annotated[int, Field(ge=1, le=120, description="Delivery term in production cycles.")]
Quantity = Annotated[int, Field(ge=1, le=10**9)]
CampaignId = Annotated[int, Field(ge=1, le=2**63 - 1)]


# -- catalogue


class Requirement(Strict):
    name: Name
    weight: Annotated[int, Field(ge=1, le=1000, description="Importance weight.")]


class Relation(Strict):
    requirement: Name
    attribute: Name
    strength: Literal[0, 1, 3, 9]


class RoofPair(Strict):
    a: Name
    b: Name
    sign: Literal["+", "-"]


class QfdIn(Strict):
    """Customer requirements with weights, design attributes, the relation matrix and the roof."""

    requirements: Annotated[list[Requirement], Field(min_length=1, max_length=100)]
    attributes: Annotated[list[Name], Field(min_length=1, max_length=100)]
    relations: Annotated[list[Relation], Field(max_length=10_000)]
    roof: Annotated[list[RoofPair], Field(max_length=5_000)] = []


class QfdOut(BaseModel):
    absolute: dict[str, str] = Field(description="Each attribute's absolute importance (a decimal string).")
    relative: dict[str, str] = Field(description="Each attribute's share of the total, percent (a decimal string).")
    ranking: list[str]
    negative_pairs: list[list[str]]


class OptionIn(Strict):
    id: Ident
    attribute: Name | None = Field(None, description="The QFD attribute it stands for (conflicts come from the roof).")
    surcharge: Annotated[int, Field(ge=-(10**12), le=10**12)] = 0


class ParameterIn(Strict):
    id: Ident
    kind: Literal["design", "perception"]
    options: Annotated[list[OptionIn], Field(min_length=1, max_length=50)]


class LadderRow(Strict):
    minimum_quantity: Quantity
    unit_price: PositiveAmount


class TermDiscount(Strict):
    term: Term
    basis_points: Annotated[int, Field(ge=0, le=9_999)]


class SchemesIn(Strict):
    """The customisable parameters and their options, the price ladder and the delivery terms."""

    parameters: Annotated[list[ParameterIn], Field(min_length=1, max_length=12)]
    ladder: Annotated[list[LadderRow], Field(min_length=1, max_length=50)]
    terms: Annotated[list[Term], Field(min_length=1, max_length=24)]
    term_discounts: list[TermDiscount] = []
    allowed: list[tuple[Ident, Ident]] = Field([], description="Option pairs allowed despite a negative roof pair.")


class LadderOut(BaseModel):
    minimum_quantity: int
    unit_price: AmountOut


class SchemeOut(BaseModel):
    id: str
    scheme_hash: Hash32 = Field(description="The scheme's id on chain (keccak-256 of its id).")
    options: dict[str, str]
    ladder: list[LadderOut]
    terms: list[int]


class SchemesOut(BaseModel):
    schemes: list[SchemeOut]
    excluded: list[dict[str, Any]]
    total: int


class CostsIn(Strict):
    """A department's costs for a scheme and term."""

    scheme: SchemeId
    term: Term
    department: Name
    fixed: Amount = Field(description="Fixed cost per production cycle, base units.")
    variable: Amount = Field(description="Variable cost per unit, base units.")


class MoqIn(Strict):
    scheme: SchemeId
    term: Term
    moq: Quantity
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CostRow(BaseModel):
    department: str
    fixed: AmountOut
    variable: AmountOut


class Band(BaseModel):
    """The ladder band the MOQ falls in: its first quantity, its price and the margin over the variable cost."""

    minimum_quantity: int
    unit_price: AmountOut
    margin: AmountOut


class MoqOut(BaseModel):
    scheme: str
    term: int
    fixed_per_cycle: AmountOut
    variable_per_unit: AmountOut
    costs: list[CostRow]
    computed: int | None
    band: Band | None
    moq: int | None
    override: dict[str, Any] | None
    note: str | None = None


class Intention(Strict):
    scheme: SchemeId
    term: Term
    quantity: Quantity


class ClassOut(BaseModel):
    class_: Literal["wholesale", "retail"] = Field(alias="class")
    reason: str
    moq: int | None
    buyer: Address


# -- quotes

Level = tuple[str, int, list[str]]


class BookOut(BaseModel):
    """A sequenced order-book snapshot: ``seq`` moves with every pledge (compare it to see a missed update)."""

    seq: int
    own: dict[str, Any]
    asks: list[Level] = Field(description="[price, queued quantity, schemes], nearest above the own quote first.")
    bids: list[Level] = Field(description="[price, queued quantity, schemes], nearest below the own quote first.")
    cheapest: dict[str, Any] | None
    queue: int


class WholesaleOut(BaseModel):
    scheme: str
    term: int
    quantity: int
    unit_price: AmountOut
    total: Uint256Out
    by_quantity: list[dict[str, Any]]
    by_term: list[dict[str, Any]]


# -- campaigns


class BackerOut(BaseModel):
    quantity: int
    deposit: Uint256Out
    refunded: bool = False


class PledgeOut(BaseModel):
    backer: Address
    quantity: int
    deposit: Uint256Out
    confirmation_hash: Hash32
    tx_hash: Hash32
    block_number: int
    timestamp: int | None


class CampaignStep(LogStep):
    model_config = {"extra": "allow"}

    deposit: Uint256Out | None = None
    amount: Uint256Out | None = None


class InstructionDelivery(BaseModel):
    """How a production instruction's POST to the store's webhook went."""

    state: Literal["pending", "retrying", "delivered", "dead"]
    attempts: int
    last_error: str | None = Field(description="Why the last attempt failed, while retrying.")
    delivered_at: float | None = Field(description="Unix time of the delivery.")


class InstructionOut(InstructionDelivery):
    """A production instruction of a succeeded campaign of the store, with its delivery."""

    campaign_id: int


class CampaignOut(BaseModel):
    campaign_id: int
    enterprise: Address
    scheme_hash: Hash32
    cycle: int
    token: Address
    unit_price: AmountOut
    deposit_per_unit: AmountOut
    moq: int
    max_quantity: int
    target_date: int
    pledged: int
    deposits: Uint256Out
    collected: Uint256Out
    refunded: Uint256Out
    status: Literal["open", "succeeded", "failed", "cancelled"]
    missing: int
    room: int
    seconds_left: int
    percent_of_moq: int
    initial_moq: int
    opened_at: int | None
    backers: dict[str, BackerOut]
    pledges: list[PledgeOut]
    triggered: dict[str, Any] | None = None
    steps: list[CampaignStep]
    instruction: InstructionDelivery | None = Field(None, description="The production instruction's delivery.")
    seq: int


class OpenCampaignIn(Strict):
    """A campaign for a scheme of the sender's catalogue and one production cycle; the MOQ is the catalogue's."""

    sender: Address = Field(description="The enterprise: the store's address.")
    store_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    scheme: SchemeId
    cycle: Term
    token: Address
    deposit_per_unit: PositiveAmount
    max_quantity: Quantity
    target_date: Annotated[int, Field(ge=1, le=2**40 - 1)]


class CampaignActionIn(Strict):
    sender: Address
    campaign_id: CampaignId


class GroupBuyPledgeIn(CampaignActionIn):
    quantity: Annotated[int, Field(ge=1, le=2**32 - 1)]
    confirmation_hash: Hash32 = Field(description="The EIP-712 digest of the order confirmation the backer signed.")


class LowerMoqIn(CampaignActionIn):
    moq: Annotated[int, Field(ge=1, le=2**32 - 1)]


class ExtendIn(CampaignActionIn):
    target_date: Annotated[int, Field(ge=1, le=2**40 - 1)]


class WebhookIn(Strict):
    url: AnyHttpUrl = Field(description="The enterprise system's endpoint for production instructions.")


class WebhookOut(BaseModel):
    url: str
    secret: str = Field(description="The HMAC-SHA256 signing secret, shown once.")


class EffectsOut(BaseModel):
    """The campaign page's expected effects (campaign ids; None where no campaign qualifies)."""

    most_popular: int | None = Field(description="The largest queued quantity.")
    most_potential: int | None = Field(description="The most pledged over the last 24 hours.")
    most_urgent: int | None = Field(description="The nearest target date of an open campaign short of its MOQ.")
    most_economical: int | None = Field(description="The lowest unit price.")
    growth_24h: dict[str, int] = Field(description="Units pledged over the last 24 hours, by campaign id.")
