"""Liquor cases in custody as the chain tells them: the engine side of ``contracts/LiquorCases.sol``.

The contract's logs fold into four kinds of chain aggregate, each keyed by its own log
argument: sale plans (``planId``), purchases (``purchaseId``), cases (``tokenId``: one
ERC-721 token per physical case, from its outbound to its burn) and warehouse keys
(``warehouse``). :data:`SOURCES` declares them to the chain reader.

The liquor's facts and the custody agreement's terms live off chain, in a producer's
:class:`LiquorListing`; the plan carries only their keccak-256 hashes (of their canonical
JSON). A plan is matched to its producer's listing by its facts hash, and everything
that differs from the listing (the terms hash, and the sale parameters the listing
names) is flagged by :func:`plan_mismatches`, as a settlement's mismatches are for a
store order. The rules of a case's life (its state, whether it is locked, a loan
overdue) are here too; the views only keep what these functions say at hand.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from engine.chain.source import ChainAggregate, ChainSource
from engine.credits import CREDIT_EVENTS, CreditAccount
from engine.ids import canonical_json, derive
from engine.purchases import Purchase, first_step
from engine.signals import Signal

CONTRACT = "LiquorCases"
MAX_PRICE = 2**96 - 1  # unitPrice, principal and interest are uint96 on chain
MAX_CASES = 2**32 - 1  # cases and quantities are uint32
MAX_WINDOW = 365 * 86_400  # the contract's MAX_FULFILMENT_WINDOW
MAX_LOAN_TERM = 3650 * 86_400  # the contract's MAX_LOAN_TERM: a loan purchase's cases are due this long after outbound
MAX_ID = 2**63 - 1  # plan, purchase and token ids count up from 1; the views keep them as BIGINT
ZERO_ADDRESS = "0x" + "00" * 20

# A case's states: the contract's four (in custody, pledged, redeeming, dispatched) and its end.
CASE_STATES = ("in_custody", "pledged", "redeeming", "dispatched", "delivered")
LOCKED_STATES = frozenset({"pledged", "redeeming", "dispatched"})  # ERC-5192 `locked`
LOAN_STATUSES = ("active", "repaid", "seized")
# What the liquor contract's parties sign (EIP-712), field by field, as the contract hashes them.
SIGNED_TYPES = {
    "CustodyAgreement": [
        ("planId", "uint256"),
        ("quantity", "uint256"),
        ("termsHash", "bytes32"),
        ("lender", "address"),
        ("interestPerCase", "uint256"),
        ("loanTerm", "uint256"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "LoanOffer": [
        ("tokenId", "uint256"),
        ("principal", "uint256"),
        ("interest", "uint256"),
        ("dueAt", "uint256"),
        ("lender", "address"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "PickupRequest": [
        ("tokenId", "uint256"),
        ("ciphertextHash", "bytes32"),
        ("codeHash", "bytes32"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
}
CASE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$"  # a box code, as printed on the case
FACT_FIELDS = ("name", "producer", "vintage", "volume_ml", "abv", "bottles_per_case")


class ListingRefused(ValueError):
    """The facts or terms cannot be listed as given (the reason says why)."""


# -- off-chain records: the liquor's facts and the custody terms


def facts_document(facts: dict) -> dict:
    """The canonical facts of a liquor (every field required; ABV a decimal string)."""
    missing = [f for f in FACT_FIELDS if facts.get(f) in (None, "")]
    if missing:
        raise ListingRefused(f"the liquor's facts need {', '.join(missing)}")
    try:
        abv = Decimal(str(facts["abv"]))
    except InvalidOperation:
        raise ListingRefused(f"abv {facts['abv']!r} is not a decimal number") from None
    if not Decimal(0) < abv <= Decimal(100):
        raise ListingRefused(f"abv {abv} is not a percentage above 0")
    for field in ("vintage", "volume_ml", "bottles_per_case"):
        if not isinstance(facts[field], int) or facts[field] <= 0:
            raise ListingRefused(f"{field} must be a positive integer")
    return {
        "version": 1,
        "name": str(facts["name"]),
        "producer": str(facts["producer"]),
        "vintage": facts["vintage"],
        "volume_ml": facts["volume_ml"],
        "abv": str(abv.normalize()),
        "bottles_per_case": facts["bottles_per_case"],
    }


def terms_document(terms: dict) -> dict:
    """The canonical custody agreement: its text and any further terms the producer states."""
    if not str(terms.get("text") or "").strip():
        raise ListingRefused("the custody terms need their text")
    return {"version": 1, **{k: terms[k] for k in sorted(terms) if k != "version"}}


def document_hash(document: dict) -> str:
    """0x-prefixed keccak-256 of a document's canonical JSON (what the plan carries on chain)."""
    return "0x" + keccak(canonical_json(document)).hex()


class LiquorListing(Aggregate):
    """A producer's off-chain record of a liquor it sells: its facts, the custody terms
    and (optionally) the sale it means to put on chain, keyed by producer and facts hash."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Registered: ClassVar[type[Any]]

    @staticmethod
    def create_id(chain_id: int, producer: str, facts_hash: str) -> UUID:
        return derive("liquor-listing", chain_id, producer, facts_hash)

    @event("Registered")
    def __init__(
        self,
        chain_id: int,
        producer: str,
        facts: dict,
        facts_hash: str,
        terms: dict,
        terms_hash: str,
        sale: dict | None,
    ):
        self.chain_id = chain_id
        self.producer = producer
        self.facts = facts
        self.facts_hash = facts_hash
        self.terms = terms
        self.terms_hash = terms_hash
        self.sale = sale

    def as_dict(self) -> dict:
        return {
            "producer": self.producer,
            "facts": self.facts,
            "facts_hash": self.facts_hash,
            "terms": self.terms,
            "terms_hash": self.terms_hash,
            "sale": self.sale,
        }


SALE_FIELDS = ("cases", "unit_price", "token", "warehouse", "fulfilment_window")


def plan_mismatches(plan: dict, listing: dict | None) -> list[str]:
    """Why a plan on chain does not say what its producer's listing says; empty when it does."""
    if listing is None:
        return [f"no listing of producer {plan.get('producer')} has facts hash {plan.get('facts_hash')}"]
    problems = []
    if plan.get("terms_hash") != listing["terms_hash"]:
        problems.append(f"custody terms hash {plan.get('terms_hash')} is not the listing's {listing['terms_hash']}")
    for field in SALE_FIELDS:
        wanted = (listing.get("sale") or {}).get(field)
        if wanted is not None and plan.get(field) != wanted:
            problems.append(f"{field} {plan.get(field)} is not the listing's {wanted}")
    return problems


def case_code_bytes32(code: str) -> str:
    """The on-chain form of a case code: its ASCII bytes, right-padded to 32."""
    return "0x" + code.encode("ascii").ljust(32, b"\0").hex()


def case_code_text(value: str) -> str | None:
    """The case code a bytes32 spells, or None if it spells none."""
    try:
        return bytes.fromhex(value[2:]).rstrip(b"\0").decode("ascii") or None
    except (UnicodeDecodeError, ValueError):
        return None


# -- what the logs say


def _step(log: dict, **extra: Any) -> dict:
    coords = log["coords"]
    step = {
        "step": log["event"],
        "block_number": coords["block_number"],
        "block_hash": coords["block_hash"],
        "tx_hash": coords["tx_hash"],
        "log_index": coords["log_index"],
    }
    if coords.get("block_timestamp") is not None:
        step["timestamp"] = coords["block_timestamp"]
    step.update(extra)
    return step


def fold_plan(logs: list[dict]) -> dict:
    state: dict[str, Any] = {"steps": []}
    for log in logs:
        if log["event"] == "PlanCreated":
            a = log["args"]
            state.update(
                producer=a["producer"],
                warehouse=a["warehouse"],
                token=a["token"],
                unit_price=a["unitPrice"],
                cases=a["cases"],
                facts_hash=a["factsHash"],
                terms_hash=a["termsHash"],
                fulfilment_window=a["fulfilmentWindow"],
            )
            state["steps"].append(_step(log))
    return state


def fold_purchase(logs: list[dict]) -> dict:
    state: dict[str, Any] = {"steps": [], "cancelled": 0, "refunded": 0}
    for log in logs:
        a = log["args"]
        if log["event"] == "Purchased":
            state.update(
                plan_id=a["planId"],
                buyer=a["buyer"],
                payer=a["payer"],
                quantity=a["quantity"],
                amount=a["amount"],
                terms_hash=a["termsHash"],
                paid_at=log["coords"].get("block_timestamp"),
            )
            if a["lender"] != ZERO_ADDRESS:
                state["loan"] = {
                    "lender": a["lender"],
                    "interest_per_case": a["interestPerCase"],
                    "term": a["loanTerm"],
                }
            state["steps"].append(
                _step(log, buyer=a["buyer"], payer=a["payer"], quantity=a["quantity"], amount=a["amount"])
            )
        elif log["event"] == "PurchaseCancelled":
            state["cancelled"] += a["units"]
            state["refunded"] += a["refund"]
            state["steps"].append(_step(log, units=a["units"], refund=a["refund"]))
    return state


# Logs whose own step already tells the ERC-721 transfer that follows them in the same transaction.
_TOLD_TRANSFERS = ("CaseOutbound", "CaseGifted", "Seized", "Delivered")


def fold_case(logs: list[dict]) -> dict:
    """A case from its outbound to its burn: owner, state, loan, pickup and every step."""
    state: dict[str, Any] = {"steps": [], "state": None, "owner": None, "loan": None, "loans": [], "pickup": None}
    previous: dict | None = None
    for log in logs:
        name, a = log["event"], log["args"]
        step: dict | None = None
        if name == "CaseOutbound":
            state.update(
                plan_id=a["planId"],
                purchase_id=a["purchaseId"],
                case_code=a["caseCode"],
                case_code_text=case_code_text(a["caseCode"]),
                owner=a["owner"],
                state="in_custody",
            )
            step = _step(log, case_code=a["caseCode"], owner=a["owner"])
        elif name == "Transfer":
            if a["to"] != ZERO_ADDRESS:
                state["owner"] = a["to"]
            told = (
                previous is not None
                and previous["event"] in _TOLD_TRANSFERS
                and previous["coords"]["tx_hash"] == log["coords"]["tx_hash"]
            )
            if not told and a["from"] != ZERO_ADDRESS and a["to"] != ZERO_ADDRESS:
                step = _step(log, step="Transferred", **{"from": a["from"], "to": a["to"]})
        elif name == "CaseGifted":
            step = _step(log, **{"from": a["from"], "to": a["to"], "message_hash": a["messageHash"]})
        elif name == "Pledged":
            loan = {
                "lender": a["lender"],
                "holder": a["holder"],
                "principal": a["principal"],
                "interest": a["interest"],
                "due_at": a["dueAt"],
                "status": "active",
                "pledged": _step(log),
            }
            state.update(state="pledged", loan=loan)
            state["loans"].append(loan)
            step = _step(log, lender=a["lender"], principal=a["principal"], interest=a["interest"], due_at=a["dueAt"])
        elif name in ("Repaid", "Seized"):
            if state["loan"] is not None:
                state["loan"].update(status="repaid" if name == "Repaid" else "seized", ended=_step(log))
            state.update(state="in_custody", loan=None)
            step = (
                _step(log, lender=a["lender"], by=a["by"], amount=a["amount"])
                if name == "Repaid"
                else _step(log, lender=a["lender"], **{"from": a["from"]})
            )
        elif name == "PickupRequested":
            state.update(
                state="redeeming",
                pickup={
                    "holder": a["holder"],
                    "ciphertext": a["ciphertext"],
                    "code_hash": a["codeHash"],
                    "requested": _step(log),
                },
            )
            step = _step(log, holder=a["holder"], code_hash=a["codeHash"])
        elif name in ("PickupCancelled", "ReturnedToCustody"):
            state.update(state="in_custody", pickup=None)
            step = _step(log)
        elif name == "PickupDispatched":
            state["state"] = "dispatched"
            step = _step(log)
        elif name == "Delivered":
            state.update(state="delivered", pickup=None)
            step = _step(log, case_code=a["caseCode"])
        if step is not None:
            state["steps"].append(step)
        previous = log
    state["locked"] = state["state"] in LOCKED_STATES
    return state


def fold_warehouse(logs: list[dict]) -> dict:
    state: dict[str, Any] = {"public_key": None, "steps": []}
    for log in logs:
        if log["event"] == "WarehouseKeySet":
            state["public_key"] = log["args"]["publicKey"]
            state["steps"].append(_step(log))
    return state


def loan_overdue(loan: dict, now: int) -> bool:
    """An active loan whose due date passed: its lender may seize the case."""
    return loan["status"] == "active" and now > loan["due_at"]


def inventory(plan: dict, purchases: list[dict], case_states: dict[str, int]) -> dict:
    """A plan's cases by where they stand: for sale, sold awaiting outbound, in custody
    (pledged ones included), redeeming (dispatched included) and delivered."""
    sold = sum(p["quantity"] - p["cancelled"] for p in purchases)
    minted = sum(case_states.values())
    return {
        "cases": plan.get("cases", 0),
        "for_sale": plan.get("cases", 0) - sold,
        "awaiting_outbound": sold - minted,
        "in_custody": case_states.get("in_custody", 0) + case_states.get("pledged", 0),
        "pledged": case_states.get("pledged", 0),
        "redeeming": case_states.get("redeeming", 0) + case_states.get("dispatched", 0),
        "delivered": case_states.get("delivered", 0),
    }


def case_metadata(token_id: int, case: dict, plan: dict, facts: dict | None, image: str | None = None) -> dict:
    """The ERC-721 metadata JSON wallets and marketplaces read for a case."""
    name = (facts or {}).get("name") or f"Plan {case.get('plan_id')} liquor"
    vintage = (facts or {}).get("vintage")
    attributes = [
        {"trait_type": "Case code", "value": case.get("case_code_text") or case.get("case_code")},
        {"trait_type": "Vintage", "value": vintage} if vintage is not None else None,
        {"trait_type": "Custody warehouse", "value": plan.get("warehouse")},
        {"trait_type": "Locked", "value": "yes" if case.get("locked") else "no"},
        {"trait_type": "State", "value": case.get("state")},
        {"trait_type": "Sale plan", "display_type": "number", "value": case.get("plan_id")},
    ]
    if facts:
        attributes += [
            {"trait_type": "Producer", "value": facts["producer"]},
            {"trait_type": "Volume (ml)", "display_type": "number", "value": facts["volume_ml"]},
            {"trait_type": "ABV (%)", "value": facts["abv"]},
            {"trait_type": "Bottles per case", "display_type": "number", "value": facts["bottles_per_case"]},
        ]
    metadata = {
        "name": f"{name} #{token_id}",
        "description": (
            f"One case of {name}"
            + (f" ({vintage})" if vintage else "")
            + f", held in custody by warehouse {plan.get('warehouse')}; redeemable for delivery, "
            "which burns the token."
        ),
        "attributes": [a for a in attributes if a is not None],
    }
    if image:
        metadata["image"] = image
    return metadata


# -- the chain aggregates


class LiquorPlan(ChainAggregate):
    """A sale plan of ``LiquorCases``, keyed by its plan id."""

    kind = "liquor-plan"
    fold = staticmethod(fold_plan)


class LiquorPurchase(ChainAggregate):
    """A purchase of cases under a plan, keyed by its purchase id."""

    kind = "liquor-purchase"
    fold = staticmethod(fold_purchase)


class LiquorCase(ChainAggregate):
    """One case token, keyed by its token id, from outbound to burn."""

    kind = "liquor-case"
    fold = staticmethod(fold_case)


class WarehouseKey(ChainAggregate):
    """A warehouse's published encryption key, keyed by the warehouse's address."""

    kind = "liquor-warehouse"
    fold = staticmethod(fold_warehouse)


CASE_EVENTS = frozenset(
    {
        "CaseOutbound",
        "Transfer",
        "CaseGifted",
        "Pledged",
        "Repaid",
        "Seized",
        "PickupRequested",
        "PickupCancelled",
        "PickupDispatched",
        "ReturnedToCustody",
        "Delivered",
    }
)


class LiquorCredits(CreditAccount):
    """A recipient's credits (refunds of cancelled purchases, payouts a token refused) and claims."""

    kind = "liquor-credit"


VIEWED_SOURCES = (
    ChainSource(
        contract=CONTRACT, aggregate=LiquorPlan, events=frozenset({"PlanCreated"}), key="planId", opens="PlanCreated"
    ),
    ChainSource(
        contract=CONTRACT,
        aggregate=LiquorPurchase,
        events=frozenset({"Purchased", "PurchaseCancelled"}),
        key="purchaseId",
        opens="Purchased",
    ),
    ChainSource(contract=CONTRACT, aggregate=LiquorCase, events=CASE_EVENTS, key="tokenId", opens="CaseOutbound"),
    ChainSource(
        contract=CONTRACT, aggregate=WarehouseKey, events=frozenset({"WarehouseKeySet"}), key="warehouse", opens=None
    ),  # set again on every key change: always looked up
)
AGGREGATES = tuple(source.aggregate for source in VIEWED_SOURCES)  # what the liquor view shows
SOURCES = (
    *VIEWED_SOURCES,
    ChainSource(contract=CONTRACT, aggregate=LiquorCredits, events=CREDIT_EVENTS, key="recipient", opens=None),
)


# -- what a case's loans say of its holder (the reputation view's counters)

REPUTATION = {
    "loan_repaid": "a loan against a case in custody was repaid (principal and interest to the lender)",
    "loan_seized": "a loan against a case was not repaid by its due date: the lender seized the case",
}


def reputation_signals(state: dict) -> list[Signal]:
    """The counters a case's ended loans add to for the holders who pledged it."""
    out = []
    for loan in state.get("loans", []):
        if loan.get("status") in ("repaid", "seized"):
            at = (loan.get("ended") or {}).get("timestamp")
            repaid = loan["status"] == "repaid"
            out.append(Signal(loan["holder"], "loan_repaid" if repaid else "loan_seized", repaid, at))
    return out


# -- what a purchase of cases records as its buyer's


def purchase_records(key: str, state: dict) -> list[Purchase]:
    """A purchase of cases (keyed by its id) as its payer's: the plan's cases at the price paid
    (the seller and token are the plan's: the view's reader adds them)."""
    if "buyer" not in state or not state["quantity"]:
        return []
    bought = first_step(state["steps"], "Purchased")
    kept = state["quantity"] - state["cancelled"]
    return [
        Purchase(
            buyer=state["payer"],
            capability="liquor",
            reference=key,
            seller="",
            item=f"plan {state['plan_id']}",
            quantity=state["quantity"],
            unit_price=state["amount"] // state["quantity"],
            amount=state["amount"] - state["refunded"],
            token=None,
            status="bought" if kept == state["quantity"] else ("cancelled" if kept == 0 else "partly cancelled"),
            at=state.get("paid_at"),
            tx_hash=bought.get("tx_hash"),
        )
    ]
