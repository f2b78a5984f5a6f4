"""Unsigned transactions for every settlement action, and permit typed data.

The API never holds a key: it returns what the holder's wallet signs.
"""

from __future__ import annotations

import time

from eth_utils import keccak
from fastapi import APIRouter, Depends, HTTPException

from engine.store_order import MAX_AMOUNT, order_number_bytes32
from engine.transactions import SettlementKey

from ..deps import service
from ..models import (ApproveIn, ConfirmIn, DisputeIn, KeyIn, KeyOnlyIn, OpenIn, OpenWithPermitIn, PermitIn,
                      ResolveIn, SenderKeyIn, ShipIn)
from ..service import Service

router = APIRouter(prefix="/settlements", tags=["settlements"])


def _key(key: KeyIn) -> SettlementKey:
    return SettlementKey(store=key.store.lower(), order_number=order_number_bytes32(key.order_number),
                         buyer=key.buyer.lower(), payer=(key.payer or key.buyer).lower(), token=key.token.lower())


def _amount(value: str, name: str, allow_zero: bool = False) -> int:
    amount = int(value)
    if amount > MAX_AMOUNT or (amount == 0 and not allow_zero):
        raise HTTPException(422, f"{name} must be between {0 if allow_zero else 1} and {MAX_AMOUNT}")
    return amount


def _answer(key: SettlementKey, tx: dict) -> dict:
    return {"settlement_id": key.settlement_id(), "transaction": tx}


@router.post("/open", summary="Unsigned open (or update) transaction for the payer")
def open_(body: OpenIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    tx = svc.transactions.settlement_call("open", key, key.payer, amount=_amount(body.amount, "amount"),
                                          snapshot_hash=body.snapshot_hash, time_limit=body.time_limit)
    return _answer(key, tx)


@router.post("/open-with-permit", summary="Unsigned open transaction carrying an EIP-2612 permit")
def open_with_permit(body: OpenWithPermitIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    p = body.permit
    tx = svc.transactions.settlement_call(
        "open_with_permit", key, key.payer, amount=_amount(body.amount, "amount"),
        snapshot_hash=body.snapshot_hash, time_limit=body.time_limit, permit_value=int(p.value),
        permit_deadline=int(p.deadline), v=p.v, r=p.r, s=p.s)
    return _answer(key, tx)


@router.post("/ship", summary="Unsigned ship transaction for the store")
def ship(body: ShipIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    waybill_hash = "0x" + keccak(text=body.waybill).hex()
    return _answer(key, svc.transactions.settlement_call("ship", key, key.store, waybill_hash=waybill_hash))


@router.post("/reject", summary="Unsigned reject (full refund) transaction for the store")
def reject(body: KeyOnlyIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    return _answer(key, svc.transactions.settlement_call("reject", key, key.store))


@router.post("/confirm", summary="Unsigned confirm-receipt transaction for the buyer")
def confirm(body: ConfirmIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    amount_due = _amount(body.amount_due, "amount_due", allow_zero=True)
    return _answer(key, svc.transactions.settlement_call("confirm", key, key.buyer, amount_due=amount_due))


@router.post("/dispute", summary="Unsigned dispute transaction for the buyer")
def dispute(body: DisputeIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    reason_hash = "0x" + keccak(text=body.reason).hex()
    return _answer(key, svc.transactions.settlement_call("dispute", key, key.buyer, reason_hash=reason_hash))


@router.post("/release", summary="Unsigned release transaction (anyone, after the time limit)")
def release(body: SenderKeyIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    return _answer(key, svc.transactions.settlement_call("release", key, body.sender.lower()))


@router.post("/resolve", summary="Unsigned dispute resolution for the arbiter")
def resolve(body: ResolveIn, svc: Service = Depends(service)) -> dict:
    key = _key(body.key)
    to_store = _amount(body.to_store, "to_store", allow_zero=True)
    return _answer(key, svc.transactions.settlement_call("resolve", key, body.sender.lower(), to_store=to_store))


@router.post("/approve", summary="Unsigned ERC-20 approval of the settlement contract")
def approve(body: ApproveIn, svc: Service = Depends(service)) -> dict:
    return {"transaction": svc.transactions.approve(body.token.lower(), body.owner.lower(), int(body.amount))}


@router.post("/permit", summary="EIP-2612 permit typed data for the payer to sign")
def permit(body: PermitIn, svc: Service = Depends(service)) -> dict:
    if body.deadline:
        deadline = int(body.deadline)
    else:   # an hour from the chain's clock (a dev chain's clock may run ahead of this machine's)
        latest = svc.rpc.block("latest")
        deadline = (int(latest["timestamp"], 16) if latest else int(time.time())) + 3600
    return {"typed_data": svc.transactions.permit_typed_data(body.token.lower(), body.owner.lower(),
                                                             int(body.value), deadline)}
