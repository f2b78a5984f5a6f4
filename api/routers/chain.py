"""The signed-transaction relay and the engine's status."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..deps import service
from ..models import RawTxIn
from ..service import Service

router = APIRouter(tags=["chain"])


@router.post("/tx", summary="Relay a signed raw transaction; returns its decoded events or revert")
def relay(body: RawTxIn, svc: Service = Depends(service)) -> dict:
    return svc.transactions.relay(body.raw, wait=body.wait)


@router.get("/status", summary="Chain id, node head, indexed block, lag and readiness")
def status(svc: Service = Depends(service)) -> dict:
    return svc.status()
