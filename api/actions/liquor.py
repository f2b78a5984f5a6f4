"""The liquor contract's actions: one table drives the unsigned-transaction routes
(``POST /liquor/<name>``) and the transaction each builds. A row names the contract
function, who must send it, the request model and how the body becomes the function's
arguments; the sender is always the body's ``sender``.
"""

from __future__ import annotations

from eth_utils import keccak

from api.actions.common import ContractAction
from api.models.liquor import (
    BuyIn,
    CaseActionIn,
    ConfirmDeliveryIn,
    GiftIn,
    LiquorPledgeIn,
    OutboundIn,
    PurchaseActionIn,
    RequestPickupIn,
    SenderIn,
    WarehouseKeyIn,
)
from engine.liquor import ZERO_ADDRESS, case_code_bytes32


def _b(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def purchase_request(body) -> tuple:
    """The contract's ``PurchaseRequest`` struct of a custody agreement or purchase body."""
    loan = body.loan
    return (
        body.plan_id,
        body.quantity,
        body.buyer.lower(),
        loan.lender.lower() if loan else ZERO_ADDRESS,
        loan.interest_per_case if loan else 0,
        loan.term if loan else 0,
        body.deadline,
    )


LIQUOR_ACTIONS: tuple[ContractAction, ...] = (
    ContractAction(
        "buy",
        "buy",
        "payer (the buyer, anyone paying for it, or the loan's lender)",
        BuyIn,
        lambda b: (purchase_request(b), _b(b.buyer_signature)),
        "Buy cases under a plan's custody terms the buyer signed: the price is held until outbound",
    ),
    ContractAction(
        "cancel-unassigned",
        "cancelUnassigned",
        "payer",
        PurchaseActionIn,
        lambda b: (b.purchase_id,),
        "After the fulfilment window, cancel the units not yet assigned: the refund is credited",
    ),
    ContractAction(
        "outbound",
        "outbound",
        "plan's warehouse",
        OutboundIn,
        lambda b: (b.purchase_id, _b(case_code_bytes32(b.case_code))),
        "Record a case's outbound with its case code: the token is minted to the buyer, the producer paid",
    ),
    ContractAction(
        "gift",
        "gift",
        "holder",
        GiftIn,
        lambda b: (b.token_id, b.to.lower(), keccak(text=b.message)),
        "Give a case away, with a message (its hash goes on chain)",
    ),
    ContractAction(
        "pledge",
        "pledge",
        "holder",
        LiquorPledgeIn,
        lambda b: (b.token_id, b.principal, b.interest, b.due_at, b.lender.lower(), b.deadline, _b(b.lender_signature)),
        "Accept a lender's signed loan offer: the principal comes to the holder, the case is locked",
    ),
    ContractAction(
        "repay",
        "repay",
        "anyone (for the holder)",
        CaseActionIn,
        lambda b: (b.token_id,),
        "Repay a pledged case's loan (principal and interest to the lender): the case is unlocked",
    ),
    ContractAction(
        "seize",
        "seize",
        "lender",
        CaseActionIn,
        lambda b: (b.token_id,),
        "After the due date passed unpaid, the lender takes the case",
    ),
    ContractAction(
        "request-pickup",
        "requestPickup",
        "anyone (the holder signed the request)",
        RequestPickupIn,
        lambda b: (b.token_id, _b(b.ciphertext), _b(b.code_hash), b.deadline, _b(b.holder_signature)),
        "Ask for delivery with the encrypted address and the pickup code's hash, before the signed "
        "request's deadline: the case is locked",
    ),
    ContractAction(
        "invalidate-nonce",
        "invalidateNonce",
        "anyone (for its own signatures)",
        SenderIn,
        lambda b: (),
        "Void the sender's signed pickup request, custody agreement or loan offer not yet used (the one "
        "with its current nonce): nobody can relay it any more",
    ),
    ContractAction(
        "cancel-pickup",
        "cancelPickup",
        "holder",
        CaseActionIn,
        lambda b: (b.token_id,),
        "Cancel a pickup the warehouse has not dispatched yet",
    ),
    ContractAction(
        "dispatch",
        "dispatch",
        "plan's warehouse",
        CaseActionIn,
        lambda b: (b.token_id,),
        "The warehouse sends the case on its way (the pickup can no longer be cancelled)",
    ),
    ContractAction(
        "return-to-custody",
        "returnToCustody",
        "plan's warehouse",
        CaseActionIn,
        lambda b: (b.token_id,),
        "A delivery that failed: the case is back in custody, unlocked",
    ),
    ContractAction(
        "confirm-delivery",
        "confirmDelivery",
        "plan's warehouse",
        ConfirmDeliveryIn,
        lambda b: (b.token_id, b.pickup_code.encode()),
        "The warehouse confirms delivery with the pickup code given at the door: the token is burned",
    ),
    ContractAction(
        "warehouse-key",
        "setWarehouseKey",
        "warehouse",
        WarehouseKeyIn,
        lambda b: (_b(b.public_key),),
        "The warehouse publishes its encryption key (its own account's public key)",
    ),
)
