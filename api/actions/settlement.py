"""The action tables. The settlement's: one declarative table drives the unsigned-transaction routes
(``POST /settlements/<name>``), the transaction each builds and the ``orderchain wallet``
commands. Adding an action is adding a row.

A row names the contract function, who signs (``payer``, ``store``, ``buyer`` or
``sender``: anyone, named in the body), the request model and how the body becomes the
function's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_utils import keccak
from pydantic import BaseModel

from api.models.settlement import (
    ClaimIn,
    ContestIn,
    DisputeIn,
    KeyIn,
    KeyOnlyIn,
    OpenIn,
    OpenWithPermitIn,
    SenderKeyIn,
    SettleIn,
    SettlementResolveIn,
    ShipIn,
)
from engine.chain.transactions import SETTLEMENT
from engine.settlement.escrow import SettlementKey
from engine.settlement.store_order import order_number_bytes32


def settlement_key(key: KeyIn) -> SettlementKey:
    return SettlementKey(
        store=key.store.lower(),
        order_number=order_number_bytes32(key.order_number),
        buyer=key.buyer.lower(),
        payer=(key.payer or key.buyer).lower(),
        token=key.token.lower(),
    )


def _b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _open_args(body: OpenIn, key: SettlementKey) -> tuple:
    return key.as_tuple(), body.amount, _b32(body.snapshot_hash), body.time_limit


def _permit_args(body: OpenWithPermitIn, key: SettlementKey) -> tuple:
    p = body.permit
    return _open_args(body, key) + (p.value, p.deadline, p.v, _b32(p.r), _b32(p.s))


def _key_only(_body, key: SettlementKey) -> tuple:
    return (key.as_tuple(),)


@dataclass(frozen=True)
class Action:
    """One row of the table (see the module docstring)."""

    name: str
    function: str
    signer: str
    model: type[BaseModel]
    args: Callable[[BaseModel, SettlementKey], tuple]
    summary: str
    contract: str = SETTLEMENT
    opens: bool = False  # creates (or updates) a settlement: its id is the one `open` makes now

    def sender(self, body: BaseModel, key: SettlementKey) -> str:
        return body.sender.lower() if self.signer == "sender" else getattr(key, self.signer)


ACTIONS: tuple[Action, ...] = (
    Action(
        "open",
        "open",
        "payer",
        OpenIn,
        _open_args,
        "Pay for a store order: freezes the amount (again for the same key: updates an unshipped one)",
        opens=True,
    ),
    Action(
        "open-with-permit",
        "openWithPermit",
        "payer",
        OpenWithPermitIn,
        _permit_args,
        "Pay for a store order with an EIP-2612 permit instead of a prior approval",
        opens=True,
    ),
    Action(
        "ship",
        "ship",
        "store",
        ShipIn,
        lambda b, k: (k.as_tuple(), keccak(text=b.waybill), b.amount, _b32(b.snapshot_hash)),
        "The store ships against the frozen amount and snapshot it saw, with the hash of its waybill",
    ),
    Action(
        "reject",
        "reject",
        "store",
        KeyOnlyIn,
        _key_only,
        "The store rejects an unshipped order, or concedes a claim or dispute: full refund",
    ),
    Action(
        "accept-claim",
        "acceptClaim",
        "store",
        KeyOnlyIn,
        _key_only,
        "The store accepts the buyer's claim: paid the amount claimed, the payer the rest",
    ),
    Action(
        "contest-claim",
        "contestClaim",
        "store",
        ContestIn,
        lambda b, k: (k.as_tuple(), keccak(text=b.reason)),
        "The store contests the buyer's claim: a dispute for the arbiter",
    ),
    Action(
        "confirm",
        "confirm",
        "buyer",
        KeyOnlyIn,
        _key_only,
        "The buyer confirms receipt in full (also withdraws a claim or dispute): the store is paid",
    ),
    Action(
        "claim",
        "claim",
        "buyer",
        ClaimIn,
        lambda b, k: (k.as_tuple(), b.amount_due, keccak(text=b.reason)),
        "The buyer claims that less is due, before the time limit; the store answers within its window",
    ),
    Action(
        "dispute",
        "dispute",
        "buyer",
        DisputeIn,
        lambda b, k: (k.as_tuple(), b.proposed_to_store, keccak(text=b.reason)),
        "The buyer disputes before the time limit, proposing a split; stops the automatic release",
    ),
    Action(
        "settle",
        "settle",
        "sender",
        SettleIn,
        lambda b, k: (k.as_tuple(), b.to_store, b.deadline, _b32(b.store_signature), _b32(b.buyer_signature)),
        "A split both parties agree to (the sender's own consent, or its EIP-712 signature)",
    ),
    Action(
        "release",
        "release",
        "sender",
        SenderKeyIn,
        _key_only,
        "Anyone releases the full amount to the store after the time limit",
    ),
    Action(
        "execute-claim",
        "executeClaim",
        "sender",
        SenderKeyIn,
        _key_only,
        "Anyone executes a claim the store left unanswered past the response window",
    ),
    Action(
        "resolve",
        "resolve",
        "sender",
        SettlementResolveIn,
        lambda b, k: (k.as_tuple(), b.to_store),
        "The dispute's arbiter splits it",
    ),
    Action(
        "end-lapsed-dispute",
        "endLapsedDispute",
        "sender",
        SenderKeyIn,
        _key_only,
        "Anyone ends a dispute the arbiter left undecided past the arbitration window",
    ),
)
