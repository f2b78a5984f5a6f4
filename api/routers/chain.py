"""The signed-transaction relay and the engine's status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from ..deps import service
from ..models import RawTxIn
from ..service import Service

router = APIRouter(tags=["chain"])


@router.post("/tx", summary="Relay a signed raw transaction; returns its decoded events or revert")
def relay(body: RawTxIn, svc: Service = Depends(service)) -> dict:
    return svc.transactions.relay(body.raw, wait=body.wait)


@router.get("/tx/{tx_hash}", summary="A transaction's outcome: pending, or its decoded events or revert")
def transaction(tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")],
                svc: Service = Depends(service)) -> dict:
    found = svc.transactions.lookup(tx_hash.lower())
    if found is None:
        raise HTTPException(404, f"the node does not know transaction {tx_hash}")
    return found


@router.get("/status", summary="Chain id, node head, indexed block, lag and readiness")
def status(svc: Service = Depends(service)) -> dict:
    return svc.status()
