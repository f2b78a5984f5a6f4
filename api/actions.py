"""The wallet actions: one declarative table drives the unsigned-transaction routes
(``POST /settlements/<name>``), the transaction each builds and the ``orderchain wallet``
commands. Adding an action is adding a row.

A row names the contract function, who signs (``payer``, ``store``, ``buyer`` or
``sender``: anyone, named in the body), the request model and how the body becomes the
function's arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from eth_utils import keccak
from pydantic import BaseModel

from engine.settlement import SettlementKey
from engine.store_order import order_number_bytes32
from engine.transactions import SETTLEMENT

from .models import ConfirmIn, DisputeIn, KeyIn, KeyOnlyIn, OpenIn, OpenWithPermitIn, ResolveIn, SenderKeyIn, ShipIn


def settlement_key(key: KeyIn) -> SettlementKey:
    return SettlementKey(store=key.store.lower(), order_number=order_number_bytes32(key.order_number),
                         buyer=key.buyer.lower(), payer=(key.payer or key.buyer).lower(), token=key.token.lower())


def _b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _open_args(body: OpenIn, key: SettlementKey) -> tuple:
    return key.as_tuple(), body.amount, _b32(body.snapshot_hash), body.time_limit


def _permit_args(body: OpenWithPermitIn, key: SettlementKey) -> tuple:
    p = body.permit
    return _open_args(body, key) + (p.value, p.deadline, p.v, _b32(p.r), _b32(p.s))


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

    def sender(self, body: BaseModel, key: SettlementKey) -> str:
        return body.sender.lower() if self.signer == "sender" else getattr(key, self.signer)


ACTIONS: tuple[Action, ...] = (
    Action("open", "open", "payer", OpenIn, _open_args,
           "Pay for a store order: freezes the amount (again for the same key: updates an unshipped one)"),
    Action("open-with-permit", "openWithPermit", "payer", OpenWithPermitIn, _permit_args,
           "Pay for a store order with an EIP-2612 permit instead of a prior approval"),
    Action("ship", "ship", "store", ShipIn, lambda b, k: (k.as_tuple(), keccak(text=b.waybill)),
           "The store ships, with the hash of its waybill"),
    Action("reject", "reject", "store", KeyOnlyIn, lambda b, k: (k.as_tuple(),),
           "The store rejects an unshipped order (or concedes a dispute): full refund"),
    Action("confirm", "confirm", "buyer", ConfirmIn, lambda b, k: (k.as_tuple(), b.amount_due),
           "The buyer confirms receipt with the amount due; the payer gets the rest"),
    Action("dispute", "dispute", "buyer", DisputeIn, lambda b, k: (k.as_tuple(), keccak(text=b.reason)),
           "The buyer disputes before the time limit, stopping the automatic release"),
    Action("release", "release", "sender", SenderKeyIn, lambda b, k: (k.as_tuple(),),
           "Anyone releases the full amount to the store after the time limit"),
    Action("resolve", "resolve", "sender", ResolveIn, lambda b, k: (k.as_tuple(), b.to_store),
           "The arbiter ends a dispute with a split"),
)
