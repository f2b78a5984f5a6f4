"""The escrow's actions: one table drives the unsigned-transaction routes
(``POST /cross-border/<name>``) and the ``orderchain wallet cross-border`` commands. A row
names the contract function, who must send it, the request model and how the body becomes
the function's arguments; the sender is always the body's ``sender``.
"""

from __future__ import annotations

from eth_utils import keccak

from api.actions.common import ContractAction
from api.models.cross_border import AnswerReturnIn, CrossBorderResolveIn, FinalBillIn, LegIn, OrderIn, ReasonIn

ZERO_ADDRESS = "0x" + "00" * 20


def _text_hash(text: str) -> bytes:
    return keccak(text=text) if text else bytes(32)


ACTIONS: tuple[ContractAction, ...] = (
    ContractAction(
        "pay-leg",
        "payLeg",
        "seller or the operator",
        LegIn,
        lambda b: (b.order_id, b.carrier.lower(), b.amount, keccak(text=b.waybill)),
        "Pay a freight leg to a carrier from the freight held, with the leg's waybill",
    ),
    ContractAction(
        "final-bill",
        "finalBill",
        "seller or the operator",
        FinalBillIn,
        lambda b: (b.order_id, (b.carrier or ZERO_ADDRESS).lower(), b.last_leg, _text_hash(b.waybill)),
        "On delivery, settle the freight: the unused freight is refunded to the buyer, or a top-up is "
        "asked for by a deadline",
    ),
    ContractAction(
        "top-up",
        "topUp",
        "buyer",
        OrderIn,
        lambda b: (b.order_id,),
        "Pay the top-up the final bill asked for (approve the amount first)",
    ),
    ContractAction(
        "request-return",
        "requestReturn",
        "buyer",
        ReasonIn,
        lambda b: (b.order_id, keccak(text=b.reason)),
        "Ask to return the goods within the return window, with a reason",
    ),
    ContractAction(
        "answer-return",
        "answerReturn",
        "seller",
        AnswerReturnIn,
        lambda b: (b.order_id, b.accept, b.return_freight, _text_hash(b.reason)),
        "Accept a return (the price is refunded, less the return freight if the policy puts it on the "
        "buyer: at most the order's billed freight) or refuse it with a reason (the buyer may then take "
        "it to the arbiter)",
    ),
    ContractAction(
        "cancel",
        "cancel",
        "buyer",
        OrderIn,
        lambda b: (b.order_id,),
        "The seller did not bill by the billing deadline: the price and the freight not yet paid to "
        "carriers come back to the buyer (legs already paid stay paid)",
    ),
    ContractAction(
        "release",
        "release",
        "anyone",
        OrderIn,
        lambda b: (b.order_id,),
        "After the return window (or after a refused return, once the buyer's window to contest it "
        "passed), the price goes to the seller",
    ),
    ContractAction(
        "escalate",
        "escalate",
        "anyone; the buyer for a refusal or an unbilled order",
        OrderIn,
        lambda b: (b.order_id,),
        "Take an order to the arbiter: a top-up unpaid by its deadline or a return unanswered in time "
        "(anyone), a refused return within the response window, or an order left unbilled past its "
        "billing deadline (the buyer)",
    ),
    ContractAction(
        "resolve",
        "resolve",
        "arbiter",
        CrossBorderResolveIn,
        lambda b: (b.order_id, b.to_seller),
        "The arbiter splits what the escrow holds of a disputed order",
    ),
    ContractAction(
        "end-lapsed",
        "endLapsed",
        "anyone",
        OrderIn,
        lambda b: (b.order_id,),
        "After the arbitration window, end a dispute with the split fixed when it was raised",
    ),
)
