"""Reputation: an address's counters and score, an account's with the credit limit it sets,
buyers' feedback on settled orders, and what a store sees of the buyer of its own order."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from api.deps import account_session, following, store_for_key
from api.models.accounts import (
    AccountReputationOut,
    BuyerOut,
    CheckoutFeedbackIn,
    FeedbackIn,
    FeedbackOut,
    ReputationOut,
)
from api.problems import COMMON, responses
from api.routers.accounts import own_account
from api.service import Service
from engine.accounts.feedback import feedback_document, feedback_hash
from engine.accounts.profile import mask_phone
from engine.accounts.reputation import LEVEL_LIMIT, credit_limit
from engine.settlement.stores import Store

router = APIRouter(tags=["accounts"], responses=responses(*COMMON))
AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
Hash32Path = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]


def _reputation(svc: Service, addresses: list[str], now: int | None = None) -> dict:
    found = svc.reputation.reputation(addresses, svc.rpc.chain_time() if now is None else now)
    return found | {"score": str(found["score"])}


@router.get(
    "/reputation/{address}",
    response_model=ReputationOut,
    summary="An address's reputation: every capability's signals as explainable counters, and the score",
)
def reputation_of(address: AddressPath, svc: Service = Depends(following)) -> dict:
    return _reputation(svc, [address])


@router.get(
    "/accounts/me/reputation",
    response_model=AccountReputationOut,
    responses=responses(401),
    summary="The account's reputation (its wallet's, and its store's for staff) and the credit limit it sets",
)
def my_reputation(session: dict = Depends(account_session), svc: Service = Depends(following)) -> dict:
    return account_reputation(svc, own_account(session, svc))


def account_reputation(svc: Service, account) -> dict:
    """An account's reputation (its wallet's, and its store's for staff), identity level and credit limit."""
    addresses = [account.wallet] if account.wallet else []
    if account.store_id is not None:
        addresses.append(svc.app.get_store(account.store_id).address)
    now = svc.rpc.chain_time()
    found = _reputation(svc, addresses, now)
    level = svc.identity_level(account, now)
    return found | {
        "login": account.login,
        "identity_level": level,
        "credit_limit": credit_limit(level, Decimal(found["score"])),
        "credit_limit_cap": LEVEL_LIMIT.get(level, 0),
    }


@router.post(
    "/settlements/{settlement_id}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses=responses(401, 404, 409),
    summary="The buyer's feedback on a settled order, for or against the store (one per order, by its buyer)",
)
def give_feedback(
    settlement_id: Hash32Path,
    body: FeedbackIn,
    session: dict = Depends(account_session),
    svc: Service = Depends(following),
) -> dict:
    given = svc.app.give_feedback(session["login"], settlement_id, body.rating, body.comment, svc.rpc.chain_time())
    return feedback_out(given)


def feedback_out(given) -> dict:
    return {
        "settlement_id": given.settlement_id,
        "store": given.store,
        "rating": given.rating,
        "comment": given.comment,
        "at": given.at,
        "document_hash": feedback_hash(feedback_document(given)),
    }


@router.post(
    "/checkout/{checkout_id}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses=responses(401, 404, 409),
    summary="The buyer's feedback on a shipment paid after delivery, once it was collected (one per shipment)",
)
def give_checkout_feedback(
    checkout_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")],
    body: CheckoutFeedbackIn,
    session: dict = Depends(account_session),
    svc: Service = Depends(following),
) -> dict:
    given = svc.app.give_checkout_feedback(
        session["login"], checkout_id, body.store_id, body.rating, body.comment, svc.rpc.chain_time()
    )
    return feedback_out(given)


# -- what a store sees of its buyers


@router.get(
    "/stores/{store_id}/orders/{order_number}/buyer",
    response_model=BuyerOut,
    responses=responses(401, 404),
    summary="The buyer of one of the store's orders, as the store sees them: the name, the phone masked, "
    "the delivery address (its own orders only)",
)
def buyer_of_order(
    order_number: Annotated[str, Path(min_length=1, max_length=32)],
    store: Store = Depends(store_for_key),
    svc: Service = Depends(following),
) -> dict:
    found = svc.view.order(store.store_id, order_number)
    buyer = (found[1].get("buyer") if found else None) or None
    account = svc.app.account_of_wallet(buyer) if buyer else None
    if found is None:
        raise HTTPException(404, f"no store order {order_number!r}")
    if account is None:
        raise HTTPException(404, "the order's buyer has not paid yet, or has no account")
    default = account.addresses.get(account.default_address) if account.default_address else None
    return {
        "order_number": order_number,
        "wallet": buyer,
        "name": account.name,
        "phone": mask_phone(account.phone) if account.phone else None,
        "delivery_address": None if default is None else dict(default, label=account.default_address),
        "identity_level": svc.identity_level(account),
    }
