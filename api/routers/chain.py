"""The signed-transaction relay, transaction outcomes, and the engine's status and readiness."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import following, service
from api.models.common import RawTxIn, Ready, Status, TxOutcome, ViewsWait
from api.problems import COMMON, problem, responses
from api.service import Service
from api.types import HASH32_PATTERN
from engine.metrics import exposition

router = APIRouter(tags=["chain"])


@router.post(
    "/tx",
    response_model=TxOutcome,
    responses=responses(400, 409, *COMMON),
    summary="Relay a signed raw transaction; returns its decoded events or revert",
)
def relay(body: RawTxIn, svc: Service = Depends(following)) -> dict:
    return svc.transactions.relay(body.raw, wait=body.wait)


@router.get(
    "/tx/{tx_hash}",
    response_model=TxOutcome,
    responses=responses(404, *COMMON),
    summary="A transaction's outcome: pending, or its decoded events or revert",
)
def transaction(tx_hash: Annotated[str, Path(pattern=HASH32_PATTERN)], svc: Service = Depends(service)) -> dict:
    found = svc.transactions.lookup(tx_hash.lower())
    if found is None:
        raise HTTPException(404, f"the node does not know transaction {tx_hash}")
    return found


@router.get(
    "/status",
    response_model=Status,
    summary="Chain id, node head, indexed block and hash, lag, readiness, halt reason, contract addresses",
)
def status(svc: Service = Depends(service)) -> dict:
    return svc.status()


@router.get(
    "/ready",
    response_model=Ready,
    responses=responses(503),
    summary="200 when the engine follows the chain within a block of its head; 503 (with why) when not",
)
def ready(svc: Service = Depends(service)):
    found = svc.status()
    if found["ready"]:
        return {"ready": True}
    failed = {name: v["error"] for name, v in found["views"].items() if v["error"]}
    why = (
        found["halted"]
        or found["last_error"]
        or (
            "the node is unreachable"
            if found["node_head"] is None
            else "nothing indexed yet"
            if found["lag"] is None
            else f"the index trails the chain by {found['lag']} blocks"
            if found["lag"] > 1
            else "views failed: " + "; ".join(f"{n}: {e}" for n, e in failed.items())
            if failed
            else f"the views show block {found['views_block']}, the index is at block {found['indexed_block']}"
        )
    )
    return problem(503, "Not ready", why)


WAIT_POLL = 0.05  # seconds between looks at the views' positions when no wake-up can come


@router.get(
    "/views/wait",
    response_model=ViewsWait,
    responses=responses(400),
    summary="Wait until the views (all, or those named) show a block: read your writes",
    description="Answers as soon as every chosen view shows `block` or later (`reached: true`), or after "
    "`timeout` seconds (`reached: false`), with where each view stands; at once (`reached: "
    "false`) for a block beyond the node's head. Pass the block of your transaction's receipt; "
    "then a read of those views sees it. Works with any number of API workers and projector "
    "processes, on SQLite and PostgreSQL.",
)
async def wait_for_views(
    block: Annotated[int, Query(ge=0, le=2**63 - 1, description="The block to wait for.")],
    views: Annotated[
        str | None,
        Query(
            max_length=400, description=("Comma-separated view names (see `GET /status`.views); default: every view.")
        ),
    ] = None,
    timeout: Annotated[float, Query(ge=0, le=30, description="Seconds to wait at most.")] = 10.0,
    svc: Service = Depends(service),
) -> dict:
    started = time.monotonic()
    waiter = svc.watch(asyncio.get_running_loop())  # set when the views change (here or where they are projected)
    try:
        found = await run_in_threadpool(svc.views_status)
        chosen = list(found) if not views else [v.strip() for v in views.split(",") if v.strip()]
        unknown = [v for v in chosen if v not in found]
        if unknown or not chosen:
            raise HTTPException(400, f"no view named {', '.join(unknown) or '(none given)'}; views: {', '.join(found)}")
        head = await run_in_threadpool(svc.rpc.block_number)
        every = svc.look_every(WAIT_POLL)
        while True:
            reached = all(found[v]["block"] is not None and found[v]["block"] >= block for v in chosen)
            left = timeout - (time.monotonic() - started)
            if reached or block > head or left <= 0:
                return {
                    "reached": reached,
                    "block": block,
                    "waited_ms": int((time.monotonic() - started) * 1000),
                    "views": {v: found[v] for v in chosen},
                }
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter[1].wait(), min(left, every))
            waiter[1].clear()  # before the look: a change from now on sets it again
            found = await run_in_threadpool(svc.views_status)
    finally:
        svc.unwatch(waiter)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    summary="Prometheus metrics (text format): chain head, indexed block and lag, events ingested, reorgs, "
    "retracted logs, view positions, keeper releases, webhooks, SSE clients, request latency",
    description="With several API workers each answers for all of them (multiprocess mode).",
)
def metrics_text(svc: Service = Depends(service)) -> Response:
    svc.measure()
    body, content_type = exposition()
    return Response(body, media_type=content_type)
