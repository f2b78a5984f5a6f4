"""What a buyer sees of its orders across the capabilities: the notices sent about orders paid
after delivery (and the operator's dead letters of them), recommendations from everyone's
purchase habits, and its purchase records (JSON or CSV).
"""

from __future__ import annotations

import csv
import io
import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import account_session, following, require_admin, service
from api.models.delivery import NoticeOut, PurchaseOut, RecommendationOut, WebhookDeliveryOut
from api.problems import COMMON, responses
from api.service import Service
from engine.instructions import ProductionInstruction
from engine.settlement.store_order import order_number_from_bytes32
from projections.purchases import delivery_records

router = APIRouter(tags=["accounts"], responses=responses(*COMMON))
UuidPath = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


# -- the buyer's notices, and the operator's dead letters


NoticeState = Annotated[str | None, Query(pattern=r"^(pending|retrying|delivered|dead)$")]


@router.get(
    "/accounts/me/notices",
    response_model=list[NoticeOut],
    responses=responses(401),
    summary="The notices sent to the signed-in buyer about orders paid after delivery, newest first",
)
def my_notices(session: dict = Depends(account_session), svc: Service = Depends(service)) -> list[dict]:
    return [n for n in svc.payments.notices(login=session["login"]) if n["channel"] == "sms"]


@router.get(
    "/operator/notices",
    response_model=list[NoticeOut],
    responses=responses(401, 403),
    dependencies=[Depends(require_admin)],
    summary="Buyers' notices by state (state=dead: the dead letters to replay), newest first (operator only)",
)
def operator_notices(state: NoticeState = None, svc: Service = Depends(service)) -> list[dict]:
    return svc.payments.notices(state=state)


@router.get(
    "/operator/webhooks",
    response_model=list[WebhookDeliveryOut],
    responses=responses(401, 403),
    dependencies=[Depends(require_admin)],
    summary="Stores' webhook deliveries (production instructions and notices) by state (state=dead: the dead "
    "letters to replay), the latest changed first (operator only)",
)
def operator_webhooks(state: NoticeState = None, svc: Service = Depends(service)) -> list[dict]:
    return svc.instructions.deliveries(state=state)


@router.post(
    "/operator/webhooks/{delivery_id}/replay",
    response_model=WebhookDeliveryOut,
    responses=responses(401, 403, 404, 409),
    dependencies=[Depends(require_admin)],
    summary="Replay a store's webhook delivery that is a dead letter: sent again from the first back-off, "
    "under the same id (operator only)",
)
def replay_webhook(delivery_id: UuidPath, svc: Service = Depends(service)) -> dict:
    found = svc.app.replay_webhook(UUID(delivery_id), time.time())
    svc.project()
    return {
        "delivery_id": delivery_id,
        "kind": "instruction" if isinstance(found, ProductionInstruction) else "notice",
        "store_id": found.store_id,
        "subject": found.subject,
        "state": found.state,
        "attempts": found.attempts,
        "last_error": found.last_error,
        "delivered_at": found.delivered_at,
    }


@router.post(
    "/operator/notices/{notice_id}/replay",
    response_model=NoticeOut,
    responses=responses(401, 403, 404, 409),
    dependencies=[Depends(require_admin)],
    summary="Replay a dead letter: it is sent again, under the same idempotency key (operator only)",
)
def replay_notice(notice_id: UuidPath, svc: Service = Depends(service)) -> dict:
    found = svc.app.replay_notice(UUID(notice_id), time.time())
    return {
        "notice_id": notice_id,
        "subject": found.subject,
        "channel": found.channel,
        "kind": found.kind,
        "login": found.login,
        "checkout_id": found.checkout_id,
        "store_id": found.store_id,
        "state": found.state,
        "attempts": found.attempts,
        "last_error": found.last_error,
        "created_at": None,
        "delivered_at": found.delivered_at,
        "text": found.body.get("text", ""),
    }


# -- recommendations


@router.get(
    "/accounts/me/recommendations",
    response_model=list[RecommendationOut],
    responses=responses(401),
    summary="Items for the signed-in buyer from everyone's purchase habits (bought together, ranked by lift), "
    "else the best sellers, each with its reason",
)
def recommendations(
    store_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    session: dict = Depends(account_session),
    svc: Service = Depends(service),
) -> list[dict]:
    out = svc.payments.recommendations(session["login"], store_id, limit)
    return [dict(r, lift=None if r["lift"] is None else str(r["lift"])) for r in out]


# -- purchase records

PURCHASE_COLUMNS = (
    "at",
    "capability",
    "reference",
    "seller",
    "store_id",
    "item",
    "quantity",
    "unit_price",
    "amount",
    "token",
    "status",
    "tx_hash",
)


def purchase_records(svc: Service, account) -> list[dict]:
    """Every purchase of the account's wallet, across the capabilities, oldest first, with the
    seller's store id and the item's name where the engine knows them."""
    records = svc.reputation.purchases([account.wallet] if account.wallet else [])
    records += delivery_records(svc.payments.of_login(account.login), account.wallet or "")
    stores: dict[str, str | None] = {}
    for record in records:
        if record["capability"] == "liquor":
            plan = svc.liquor.plan(int(record["item"].split()[1])) or {}
            record.update(seller=plan.get("producer", ""), token=plan.get("token"))
        elif record["capability"] == "settlement":
            record["item"] = order_number_from_bytes32(record["item"]) or record["item"]
        elif record["capability"] == "group_buy":
            record["item"] = svc.scheme_name({"enterprise": record["seller"], "scheme_hash": record["item"]})
        if record["capability"] == "pay_after_delivery":
            record["store_id"] = record["seller"]
            record["seller"] = svc.app.get_store(record["seller"]).address
        else:
            seller = record["seller"]
            if seller not in stores:
                store = svc.app.store_of_address(seller) if seller else None
                stores[seller] = store.store_id if store else None
            record["store_id"] = stores[seller]
        for money in ("unit_price", "amount"):
            record[money] = str(record[money])
    return sorted(records, key=lambda r: (r["at"] is None, r["at"] or 0, r["capability"], r["reference"]))


@router.get(
    "/accounts/me/purchases",
    response_model=list[PurchaseOut],
    responses={
        **responses(401),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The records (JSON or CSV)"},
    },
    summary="The signed-in buyer's purchases across every capability: unit price, store, date and transaction "
    "(format=csv for a spreadsheet)",
)
def purchases(
    format: Annotated[str, Query(pattern=r"^(json|csv)$")] = "json",
    session: dict = Depends(account_session),
    svc: Service = Depends(following),
):
    records = purchase_records(svc, svc.app.get_account(session["login"]))
    if format == "json":
        return records
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=PURCHASE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(record)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="purchases.csv"'},
    )
