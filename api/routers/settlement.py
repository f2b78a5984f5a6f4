"""Unsigned transactions for every settlement action (one route per row of the action
table), the token approval and permit typed data. The API never holds a key: it returns
what the holder's wallet signs."""

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.actions.settlement import ACTIONS, Action, settlement_key
from api.deps import following
from api.models.common import TypedData, Unsigned
from api.models.settlement import AgreementIn, PermitIn
from api.problems import COMMON, responses
from api.routers.generated import payment_routes, post_unsigned
from api.service import Service
from engine.application import NotFound
from engine.chain.transactions import SETTLEMENT
from engine.settlement.store_order import open_time_limit

router = APIRouter(prefix="/settlements", tags=["settlements"], responses=responses(*COMMON))
PERMIT_VALIDITY = 3600  # seconds a permit stays valid when the caller names no deadline
AGREEMENT_VALIDITY = 7 * 86_400  # seconds an agreement's signatures hold when the caller names no deadline


def _route(action: Action) -> None:
    def build(body: BaseModel, svc: Service) -> Unsigned:
        key = settlement_key(body.key)
        if not action.opens and not svc.transactions.settlement_exists(key):
            raise NotFound(
                f"no such settlement: nothing was ever paid for order {key.order_number!r} of store "
                f"{key.store} by buyer {key.buyer}"
            )
        if action.opens and body.time_limit is None:
            terms = svc.app.order_terms_at(body.key.store.lower(), body.key.order_number)
            body = body.model_copy(update={"time_limit": open_time_limit(terms, body.snapshot_hash)})
        tx = svc.transactions.call(action.contract, action.function, action.args(body, key), action.sender(body, key))
        return Unsigned(settlement_id=svc.transactions.settlement_id(key, opening=action.opens), transaction=tx)

    post_unsigned(
        router,
        f"/{action.name}",
        "settlement_" + action.name.replace("-", "_"),
        action.model,
        build,
        action.summary,
        f"The unsigned `{action.function}` transaction, signed by the {action.signer}."
        + ("" if action.opens else " 404 when nothing was ever paid under the key."),
        answers=None if action.opens else responses(404),
    )


for _action in ACTIONS:
    _route(_action)


payment_routes(
    router,
    SETTLEMENT,
    "settlement",
    "Unsigned ERC-20 approval of the settlement contract",
    "Unsigned claim of payouts credited to a blocked recipient, sent to an address it names",
)


@router.post(
    "/permit",
    response_model=TypedData,
    summary="EIP-2612 permit typed data for the payer to sign",
    description=f"For the `{SETTLEMENT}` contract as spender. The token's EIP-712 domain is read from "
    "the token (`eip712Domain()`, else `name()` and `version()`).",
)
def permit(body: PermitIn, svc: Service = Depends(following)) -> TypedData:
    deadline = body.deadline if body.deadline is not None else svc.rpc.chain_time() + PERMIT_VALIDITY
    return TypedData(
        typed_data=svc.transactions.permit_typed_data(body.token.lower(), body.owner.lower(), body.value, deadline)
    )


@router.post(
    "/agreement",
    response_model=TypedData,
    summary="EIP-712 typed data of an agreed split, for a party to sign",
    description="Both the store and the buyer sign the same `Agreement(settlementId, toStore, deadline)`; "
    "`POST /settlements/settle` takes the signatures (the sender's own consent counts). The "
    "domain is read from the settlement contract's `eip712Domain()`.",
)
def agreement(body: AgreementIn, svc: Service = Depends(following)) -> TypedData:
    key = settlement_key(body.key)
    deadline = body.deadline if body.deadline is not None else svc.rpc.chain_time() + AGREEMENT_VALIDITY
    return TypedData(typed_data=svc.transactions.agreement_typed_data(key, body.to_store, deadline))
