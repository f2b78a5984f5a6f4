"""The signed-transaction relay, transaction outcomes, and the engine's status and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response

from engine.metrics import exposition

from ..deps import following, service
from ..models import RawTxIn, Ready, Status, TxOutcome
from ..problems import COMMON, problem, responses
from ..service import Service
from ..types import HASH32_PATTERN

router = APIRouter(tags=["chain"])


@router.post("/tx", response_model=TxOutcome, responses=responses(400, 409, *COMMON),
             summary="Relay a signed raw transaction; returns its decoded events or revert")
def relay(body: RawTxIn, svc: Service = Depends(following)) -> dict:
    return svc.transactions.relay(body.raw, wait=body.wait)


@router.get("/tx/{tx_hash}", response_model=TxOutcome, responses=responses(404, *COMMON),
            summary="A transaction's outcome: pending, or its decoded events or revert")
def transaction(tx_hash: Annotated[str, Path(pattern=HASH32_PATTERN)], svc: Service = Depends(service)) -> dict:
    found = svc.transactions.lookup(tx_hash.lower())
    if found is None:
        raise HTTPException(404, f"the node does not know transaction {tx_hash}")
    return found


@router.get("/status", response_model=Status,
            summary="Chain id, node head, indexed block and hash, lag, readiness, halt reason, contract addresses")
def status(svc: Service = Depends(service)) -> dict:
    return svc.status()


@router.get("/ready", response_model=Ready, responses=responses(503),
            summary="200 when the engine follows the chain within a block of its head; 503 (with why) when not")
def ready(svc: Service = Depends(service)):
    found = svc.status()
    if found["ready"]:
        return {"ready": True}
    why = found["halted"] or found["last_error"] or (
        "the node is unreachable" if found["node_head"] is None else
        f"the index trails the chain by {found['lag']} blocks" if found["lag"] is not None else "nothing indexed yet")
    return problem(503, "Not ready", why)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}},
            summary="Prometheus metrics (text format): chain head, indexed block and lag, events ingested, reorgs, "
                    "retracted logs, view positions, keeper releases, webhooks, SSE clients, request latency",
            description="With several API workers each answers for all of them (multiprocess mode).")
def metrics_text(svc: Service = Depends(service)) -> Response:
    svc.measure()
    body, content_type = exposition()
    return Response(body, media_type=content_type)
