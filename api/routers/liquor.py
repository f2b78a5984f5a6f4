"""Cases of liquor in custody: listings, plans, purchases, cases, pickups and pledges.

Actions answer with unsigned transactions (one route per row of the liquor action table)
or with EIP-712 typed data for the custody agreement, the loan offer and the pickup
request; the API never holds a key. Reads come from the liquor views: holdings,
warehouse inventory (in each plan), provenance, the redemption queue and the lender book.
The chain's data is public, so the reads need no credential.
"""

from __future__ import annotations

from typing import Annotated

from eth_utils import keccak
from fastapi import APIRouter, Depends, HTTPException, Path, Query

from api.actions.liquor import LIQUOR_ACTIONS, purchase_request
from api.deps import following, require_admin, service
from api.models.common import TypedData, Unsigned
from api.models.liquor import (
    Case,
    CreatePlanIn,
    CustodyIn,
    CustodyTypedData,
    LenderLoan,
    LiquorStep,
    Listing,
    ListingIn,
    LoanOfferIn,
    LoanOfferTypedData,
    Metadata,
    PickupTypedIn,
    Plan,
    Purchase,
    QueuedPickup,
    WarehouseKey,
)
from api.problems import COMMON, responses
from api.routers.generated import action_routes, payment_routes
from api.service import Service
from api.types import Address
from engine.liquor import CONTRACT, MAX_ID, SALE_FIELDS, SIGNED_TYPES, case_metadata

router = APIRouter(prefix="/liquor", tags=["liquor"], responses=responses(*COMMON))
metadata_router = APIRouter(tags=["liquor"])
CUSTODY_VALIDITY = 3600  # seconds a custody agreement signature holds when the caller names no deadline
OFFER_VALIDITY = 86_400  # seconds a loan offer holds when the lender names no deadline
PICKUP_VALIDITY = 86_400  # seconds a pickup request may be relayed when the holder names no deadline

AddressPath = Annotated[Address, Path(description="An account address.")]
TokenIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The case's token id.")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def _found(value, what: str):
    if value is None:
        raise HTTPException(404, f"no {what}")
    return value


# -- listings


@router.post(
    "/listings",
    status_code=201,
    dependencies=[Depends(require_admin)],
    response_model=Listing,
    responses=responses(401, 403, 409),
    summary="Record a producer's liquor facts and custody terms (operator); returns the hashes its plan must carry",
)
def register_listing(body: ListingIn, svc: Service = Depends(service)) -> dict:
    sale = None
    if body.sale:
        sale = {field: getattr(body.sale, field) for field in SALE_FIELDS}
        sale.update(token=sale["token"].lower(), warehouse=sale["warehouse"].lower())
    listing = svc.app.register_listing(
        body.producer.lower(), body.facts.model_dump(), body.terms.model_dump(exclude_none=True), sale
    )
    svc.project()
    return listing.as_dict()


@router.get(
    "/listings/{producer}/{facts_hash}",
    response_model=Listing,
    responses=responses(404),
    summary="A producer's listing by the facts hash its plan carries",
)
def get_listing(
    producer: AddressPath,
    facts_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")],
    svc: Service = Depends(service),
) -> dict:
    return svc.app.get_listing(producer.lower(), facts_hash.lower()).as_dict()


# -- plans and purchases


@router.post(
    "/create-plan",
    response_model=Unsigned,
    responses=responses(404),
    summary="Unsigned `createPlan` over a listing's facts and terms (S1), signed by the producer",
    description="Parameters the body leaves out are taken from the listing's sale.",
)
def create_plan(body: CreatePlanIn, svc: Service = Depends(following)) -> Unsigned:
    listing = svc.app.get_listing(body.sender.lower(), body.facts_hash.lower())
    sale = listing.sale or {}
    values = {
        field: getattr(body, field) if getattr(body, field) is not None else sale.get(field)
        for field in ("cases", "unit_price", "token", "warehouse", "fulfilment_window")
    }
    missing = [field for field, value in values.items() if value is None]
    if missing:
        raise HTTPException(422, f"give {', '.join(missing)} (the listing names no sale for them)")
    args = (
        bytes.fromhex(listing.facts_hash[2:]),
        values["cases"],
        values["unit_price"],
        values["token"].lower(),
        values["warehouse"].lower(),
        bytes.fromhex(listing.terms_hash[2:]),
        values["fulfilment_window"],
    )
    return Unsigned(transaction=svc.transactions.call(CONTRACT, "createPlan", args, body.sender.lower()))


@router.get("/plans", response_model=list[Plan], summary="Sale plans with their inventory (warehouse inventory)")
def plans(
    warehouse: Annotated[Address | None, Query(description="Only this warehouse's plans.")] = None,
    producer: Annotated[Address | None, Query(description="Only this producer's plans.")] = None,
    svc: Service = Depends(service),
) -> list[dict]:
    return svc.liquor.plans(warehouse=warehouse and warehouse.lower(), producer=producer and producer.lower())


@router.get(
    "/plans/{plan_id}",
    response_model=Plan,
    responses=responses(404),
    summary="A sale plan: facts, terms, mismatches with its listing, inventory",
)
def plan(plan_id: IdPath, svc: Service = Depends(service)) -> dict:
    return _found(svc.liquor.plan(plan_id), f"plan {plan_id}")


@router.get("/purchases", response_model=list[Purchase], summary="Purchases of a plan or of a buyer (or payer)")
def purchases(
    plan_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    buyer: Annotated[Address | None, Query(description="Purchases this account bought or paid.")] = None,
    svc: Service = Depends(service),
) -> list[dict]:
    return svc.liquor.purchases(plan_id=plan_id, buyer=buyer and buyer.lower())


@router.get("/purchases/{purchase_id}", response_model=Purchase, responses=responses(404), summary="A purchase")
def purchase(purchase_id: IdPath, svc: Service = Depends(service)) -> dict:
    return _found(svc.liquor.purchase(purchase_id), f"purchase {purchase_id}")


# -- typed data the parties sign


def _typed(svc: Service, primary: str, message: dict) -> TypedData:
    return TypedData(typed_data=svc.transactions.contract_typed_data(CONTRACT, primary, SIGNED_TYPES[primary], message))


def _nonce(svc: Service, account: str) -> int:
    return svc.transactions.view(CONTRACT, "nonces", account)[0]


def _plan_on_chain(svc: Service, plan_id: int) -> dict:
    """A plan as the contract holds it now (the views may not have seen it yet)."""
    producer, warehouse, token, unit_price, _cases, _sold, _window, facts_hash, terms_hash = svc.transactions.view(
        CONTRACT, "plans", plan_id
    )
    if int(producer, 16) == 0:
        raise HTTPException(404, f"no plan {plan_id}")
    return {
        "producer": producer,
        "warehouse": warehouse,
        "token": token,
        "unit_price": unit_price,
        "facts_hash": facts_hash,
        "terms_hash": terms_hash,
    }


@router.post(
    "/custody-agreement",
    response_model=CustodyTypedData,
    responses=responses(404),
    summary="EIP-712 custody agreement for the buyer to sign before buying (S2, S3)",
    description="Over plan, quantity, the plan's terms hash, the loan terms (a loan purchase), the "
    "buyer's nonce and a deadline; with the terms themselves (from the producer's listing) "
    "and the price the payer will pay. A loan purchase needs the buyer's wallet bound to an "
    "account with a complete, verified and attested profile (else 422 naming what is missing).",
)
def custody_agreement(body: CustodyIn, svc: Service = Depends(following)) -> CustodyTypedData:
    if body.loan is not None:  # a loan purchase: the buyer's account must be complete and attested
        svc.require_profile(body.buyer, "loan_purchase")
    plan = _plan_on_chain(svc, body.plan_id)
    deadline = body.deadline if body.deadline is not None else svc.rpc.chain_time() + CUSTODY_VALIDITY
    plan_id, quantity, buyer, lender, interest, term, deadline = purchase_request(
        body.model_copy(update={"deadline": deadline})
    )
    typed = _typed(
        svc,
        "CustodyAgreement",
        {
            "planId": plan_id,
            "quantity": quantity,
            "termsHash": plan["terms_hash"],
            "lender": lender,
            "interestPerCase": interest,
            "loanTerm": term,
            "nonce": _nonce(svc, buyer),
            "deadline": deadline,
        },
    )
    listing = svc.liquor.listing(plan["producer"].lower(), plan["facts_hash"])
    terms = listing["terms"] if listing and listing["terms_hash"] == plan["terms_hash"] else None
    return CustodyTypedData(
        typed_data=typed.typed_data, terms=terms, token=plan["token"], amount=plan["unit_price"] * quantity
    )


@router.post(
    "/loan-offer",
    response_model=LoanOfferTypedData,
    responses=responses(404),
    summary="EIP-712 loan offer against a case, for the lender to sign (C1)",
)
def loan_offer(body: LoanOfferIn, svc: Service = Depends(following)) -> LoanOfferTypedData:
    plan_id = svc.transactions.view(CONTRACT, "caseOf", body.token_id)[0]
    if plan_id == 0:
        raise HTTPException(404, f"no case {body.token_id}")
    deadline = body.deadline if body.deadline is not None else svc.rpc.chain_time() + OFFER_VALIDITY
    typed = _typed(
        svc,
        "LoanOffer",
        {
            "tokenId": body.token_id,
            "principal": body.principal,
            "interest": body.interest,
            "dueAt": body.due_at,
            "lender": body.lender.lower(),
            "nonce": _nonce(svc, body.lender.lower()),
            "deadline": deadline,
        },
    )
    return LoanOfferTypedData(typed_data=typed.typed_data, token=_plan_on_chain(svc, plan_id)["token"])


@router.post(
    "/pickup-request",
    response_model=TypedData,
    summary="EIP-712 pickup request for the holder to sign (S6): over the ciphertext's hash, the "
    "pickup code's hash and a deadline after which nobody can relay it",
    description="The holder's wallet must be bound to an account with a complete, verified profile "
    "(name, verified phone, a default delivery address): else 422 naming what is missing.",
)
def pickup_request(body: PickupTypedIn, svc: Service = Depends(following)) -> TypedData:
    svc.require_profile(body.holder, "pickup")
    deadline = body.deadline if body.deadline is not None else svc.rpc.chain_time() + PICKUP_VALIDITY
    return _typed(
        svc,
        "PickupRequest",
        {
            "tokenId": body.token_id,
            "ciphertextHash": "0x" + keccak(bytes.fromhex(body.ciphertext[2:])).hex(),
            "codeHash": body.code_hash.lower(),
            "nonce": _nonce(svc, body.holder.lower()),
            "deadline": deadline,
        },
    )


# -- unsigned transactions, one route per row of the action table

action_routes(router, CONTRACT, LIQUOR_ACTIONS, "liquor")


payment_routes(
    router,
    CONTRACT,
    "liquor",
    "Unsigned ERC-20 approval of the liquor contract (before buying, repaying, or lending)",
    "Unsigned claim of refunds and payouts the liquor contract credited, sent where the owner names",
)


# -- cases and the views of them


@router.get(
    "/cases/{token_id}",
    response_model=Case,
    responses=responses(404),
    summary="A case: owner, state, loan, pickup and its own steps",
)
def case(token_id: TokenIdPath, svc: Service = Depends(service)) -> dict:
    return _found(svc.liquor.case(token_id), f"case {token_id}")


@router.get(
    "/cases/{token_id}/provenance",
    response_model=list[LiquorStep],
    responses=responses(404),
    summary="Every step of a case from its plan to its burn, with chain coordinates",
)
def provenance(token_id: TokenIdPath, svc: Service = Depends(service)) -> list[dict]:
    return _found(svc.liquor.provenance(token_id), f"case {token_id}")


@router.get(
    "/holdings/{owner}",
    response_model=list[Case],
    summary="The cases an account holds, with their locked / pledged / redeeming state",
)
def holdings(owner: AddressPath, svc: Service = Depends(service)) -> list[dict]:
    return svc.liquor.holdings(owner.lower())


@router.get(
    "/warehouses/{warehouse}/queue",
    response_model=list[QueuedPickup],
    summary="The warehouse's redemption queue: pending pickups with their encrypted addresses",
)
def redemption_queue(warehouse: AddressPath, svc: Service = Depends(service)) -> list[dict]:
    return svc.liquor.redemption_queue(warehouse.lower())


@router.get(
    "/warehouses/{warehouse}/key",
    response_model=WarehouseKey,
    summary="The warehouse's published encryption key (what holders encrypt delivery addresses to)",
)
def warehouse_key(warehouse: AddressPath, svc: Service = Depends(service)) -> dict:
    return {"warehouse": warehouse, "public_key": svc.liquor.warehouse_key(warehouse.lower())}


@router.get(
    "/lenders/{lender}/loans",
    response_model=list[LenderLoan],
    summary="The lender book: every pledge to the lender, active, repaid or seized, overdue ones flagged",
)
def lender_book(lender: AddressPath, svc: Service = Depends(service)) -> list[dict]:
    return svc.liquor.lender_book(lender.lower(), svc.rpc.chain_time())


@metadata_router.get(
    "/cases/{token_id}/metadata",
    response_model=Metadata,
    responses=responses(404),
    summary="ERC-721 metadata of a case (what `tokenURI` points at)",
)
def metadata(token_id: TokenIdPath, svc: Service = Depends(service)) -> dict:
    found = svc.liquor.case(token_id)
    if found is None or found["state"] == "delivered":
        raise HTTPException(404, f"no case {token_id}" + (" (delivered: the token is burned)" if found else ""))
    plan = svc.liquor.plan(found["plan_id"]) or {}
    return case_metadata(token_id, found, plan, plan.get("facts"))
