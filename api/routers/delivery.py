"""Paying after verified delivery: a store's stock and warehouses, the operator's couriers,
checkout (the order checked and divided, the price broken down, one mandate per store to sign
with the wallet, within the buyer's credit limit), the store's shipping declaration (checked,
an alarm for any error) and the operator's alarms.
"""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from eth_utils import keccak, to_checksum_address
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query

from api.deps import account_session, following, require_admin, service, store_for_key
from api.models.common import Unsigned
from api.models.delivery import (
    AlarmOut,
    CancelShipmentIn,
    CheckoutIn,
    CheckoutOut,
    CourierIn,
    CourierOut,
    DeclarationIn,
    DeclarationOut,
    ItemIn,
    MandateSignatureIn,
    ResolveAlarmIn,
    RevokeMandateIn,
    StockIn,
    StockOut,
    WarehouseIn,
)
from api.present import decode_cursor
from api.problems import COMMON, responses
from api.routers.generated import payment_routes
from api.service import Service
from api.stream import AlarmStream
from engine.accounts.profile import require
from engine.accounts.reputation import credit_limit
from engine.chain.typed_data import typed_signer
from engine.delivery.checkout import Line
from engine.delivery.couriers import Courier
from engine.delivery.declaration import Declaration
from engine.delivery.mandate import CONTRACT as OFFLINE_PAYMENT
from engine.delivery.mandate import as_tuple, mandate_id, typed_data
from engine.delivery.order import Alarm, CheckoutOrder, reason_hash, store_actor
from engine.ids import canonical_json
from engine.settlement.stores import Store

router = APIRouter(tags=["pay after delivery"], responses=responses(*COMMON))
payments = APIRouter(prefix="/checkout", tags=["pay after delivery"], responses=responses(*COMMON))
payment_routes(
    payments,
    OFFLINE_PAYMENT,
    "checkout",
    "Unsigned ERC-20 approval of OfflinePayment (what the mandates may collect), sent by the buyer",
    "Unsigned claim of collections the token refused to pay the store (credited)",
)
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
UuidPath = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
MANDATE_DAYS = 30  # how long a mandate holds: the shipments must be verified and collected by then


def _stock_out(svc: Service, store_id: str) -> dict:
    stock = svc.app.stock(store_id)
    return {
        "store_id": store_id,
        "warehouses": {} if stock is None else stock.warehouses,
        "items": {} if stock is None else {k: dict(v, unit_price=str(v["unit_price"])) for k, v in stock.items.items()},
    }


# -- the store's stock


@router.put(
    "/stores/{store_id}/warehouses/{warehouse_id}",
    response_model=StockOut,
    responses=responses(401, 404),
    summary="Save one of the store's warehouses (its coordinates: a shipment leaves from the nearest holding it)",
)
def save_warehouse(
    warehouse_id: IdPath, body: WarehouseIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)
) -> dict:
    svc.app.change_stock(store.store_id, lambda s: s.save_warehouse(warehouse_id, body.latitude, body.longitude))
    return _stock_out(svc, store.store_id)


@router.put(
    "/stores/{store_id}/items/{sku}",
    response_model=StockOut,
    responses=responses(401, 404),
    summary="Save an item of the store: name, category, unit price and weight (what checkout checks)",
)
def save_item(
    sku: IdPath, body: ItemIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)
) -> dict:
    svc.app.change_stock(
        store.store_id, lambda s: s.save_item(sku, body.name, body.category, body.unit_price, body.weight_kg)
    )
    return _stock_out(svc, store.store_id)


@router.put(
    "/stores/{store_id}/items/{sku}/stock/{warehouse_id}",
    response_model=StockOut,
    responses=responses(401, 404),
    summary="Set how many units of an item a warehouse holds",
)
def set_stock(
    sku: IdPath,
    warehouse_id: IdPath,
    body: StockIn,
    store: Store = Depends(store_for_key),
    svc: Service = Depends(service),
) -> dict:
    svc.app.change_stock(store.store_id, lambda s: s.set_stock(sku, warehouse_id, body.units))
    return _stock_out(svc, store.store_id)


@router.get(
    "/stores/{store_id}/stock",
    response_model=StockOut,
    responses=responses(401, 404),
    summary="The store's items and warehouses",
)
def stock(store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    return _stock_out(svc, store.store_id)


# -- the operator's couriers


@router.put(
    "/operator/couriers/{courier_id}",
    response_model=CourierOut,
    responses=responses(401, 403),
    dependencies=[Depends(require_admin)],
    summary="Save a courier: hubs, service radius, rates and waybill scheme (operator only)",
)
def save_courier(courier_id: IdPath, body: CourierIn, svc: Service = Depends(service)) -> dict:
    courier = Courier(
        courier_id,
        body.name,
        body.waybill_scheme,
        tuple(tuple(h) for h in body.hubs),
        Decimal(body.radius_km),
        body.base,
        Decimal(body.per_km),
        Decimal(body.per_kg),
        body.waybill_pattern,
    )
    book, _ = svc.app.change_couriers(lambda b: b.save(courier))
    return book.couriers[courier_id]


@router.get("/couriers", response_model=dict[str, CourierOut], summary="The couriers, by id")
def couriers(svc: Service = Depends(service)) -> dict:
    return svc.app.courier_book().couriers


# -- checkout


def _checkout_out(svc: Service, order: CheckoutOrder, limit: int | None = None) -> dict:
    contract = svc.manifest.contract(OFFLINE_PAYMENT).address if OFFLINE_PAYMENT in svc.manifest.contracts else None
    shipments = []
    for sh in order.shipments.values():
        offered = sh.get("offered")
        shipments.append(
            {
                "store_id": sh["store_id"],
                "status": sh["status"],
                "warehouse_id": sh["warehouse_id"],
                "courier_id": sh["courier_id"],
                "freight": sh["freight"],
                "goods": sh["goods"],
                "amount": sh["amount"],
                "mandate_id": sh.get("mandate_id")
                or (mandate_id(svc.chain_id, contract, offered) if offered and contract else None),
                "typed_data": typed_data(svc.chain_id, to_checksum_address(contract), offered)
                if offered and contract and sh["status"] == "awaiting_mandate"
                else None,
                "payment": _payment(svc.payments.shipment(order.checkout_id, sh["store_id"])),
            }
        )
    return {
        "checkout_id": order.checkout_id,
        "status": order.status,
        "total": order.total,
        "credit_limit": limit,
        "shipments": shipments,
        "errors": order.errors,
    }


def _payment(row: dict | None) -> dict | None:
    """The shipment's payment as the chain tells it (None before anything is on chain)."""
    if row is None or row["mandate_status"] is None:
        return None
    shipment = row["data"].get("shipment") or {}
    return {
        "mandate_status": row["mandate_status"],
        "alarm_on_chain": bool(row["chain_alarmed"]),
        "status": shipment.get("status"),
        "index": shipment.get("index"),
        "amount": shipment.get("amount"),
        "verified_tx": shipment.get("verified_tx"),
        "collected_tx": shipment.get("collected_tx"),
        "defaulted_tx": shipment.get("defaulted_tx"),
        "credited": shipment.get("credited"),
    }


def _own(svc: Service, session: dict, checkout_id: str) -> CheckoutOrder:
    order = svc.app.get_checkout(checkout_id)
    if order.login != session["login"]:
        raise HTTPException(404, f"no checkout {checkout_id!r}")  # the same as an unknown one
    return order


@router.post(
    "/checkout",
    status_code=201,
    response_model=CheckoutOut,
    responses=responses(401, 409),
    summary="Check out to pay after verified delivery: the order checked and divided by store, the price "
    "(items + freight) broken down, and one mandate per store for the wallet to sign (no transaction)",
)
def checkout(body: CheckoutIn, session: dict = Depends(account_session), svc: Service = Depends(following)) -> dict:
    if OFFLINE_PAYMENT not in svc.manifest.contracts:
        raise HTTPException(503, "no OfflinePayment contract in this deployment (redeploy to add it)")
    account = svc.app.get_account(session["login"])
    now = svc.rpc.chain_time()
    level = svc.identity_level(account, now)
    require(account.profile(attested=level > 0), "pay_after_delivery")
    label = body.address or account.default_address
    if label not in account.addresses:
        raise HTTPException(422, f"no saved address {label!r}")
    score = Decimal(svc.reputation.reputation([account.wallet or ""], now)["score"])
    limit = credit_limit(level, score)
    valid_until = now + MANDATE_DAYS * 86_400
    order_hash = (
        "0x" + keccak(canonical_json({"checkout_id": body.checkout_id, "lines": body.model_dump()["lines"]})).hex()
    )

    def mandate_for(store_id: str, shipment: dict) -> dict:
        return {
            "buyer": to_checksum_address(account.wallet),
            "store": to_checksum_address(svc.app.get_store(store_id).address),
            "token": to_checksum_address(body.token),
            "maxAmount": str(shipment["amount"]),
            "orderHash": order_hash,
            "validUntil": str(valid_until),
            "nonce": str(secrets.randbits(64)),
        }

    lines = [Line(line.store_id, line.sku, line.quantity, line.unit_price, line.category) for line in body.lines]
    order = svc.app.place_checkout(body.checkout_id, account.login, lines, account.addresses[label], limit, mandate_for)
    if order.status == "refused":
        raise HTTPException(422, "; ".join(f"{e['store_id']} {e['sku'] or ''}: {e['reason']}" for e in order.errors))
    return _checkout_out(svc, order, limit)


@router.get(
    "/checkout/{checkout_id}",
    response_model=CheckoutOut,
    responses=responses(401, 404),
    summary="A checkout order of the signed-in account, its shipments and what is left to sign",
)
def get_checkout(
    checkout_id: IdPath, session: dict = Depends(account_session), svc: Service = Depends(service)
) -> dict:
    return _checkout_out(svc, _own(svc, session, checkout_id))


@router.post(
    "/checkout/{checkout_id}/mandates",
    response_model=CheckoutOut,
    responses=responses(401, 404, 409),
    summary="Hand in the wallet's signature of one store's mandate (checked here, and on chain at verification)",
)
def sign_mandate(
    checkout_id: IdPath,
    body: MandateSignatureIn,
    session: dict = Depends(account_session),
    svc: Service = Depends(following),
) -> dict:
    order = _own(svc, session, checkout_id)
    shipment = order.shipments.get(body.store_id)
    if shipment is None or "offered" not in shipment:
        raise HTTPException(404, f"no mandate to sign for {body.store_id!r}")
    contract = to_checksum_address(svc.manifest.contract(OFFLINE_PAYMENT).address)
    typed = typed_data(svc.chain_id, contract, shipment["offered"])
    if typed_signer(typed, body.signature) != order.wallet:
        raise HTTPException(422, "the signature is not the order's wallet's signature of this mandate")
    mid = mandate_id(svc.chain_id, contract, shipment["offered"])
    order = svc.app.sign_checkout_mandate(checkout_id, body.store_id, mid, shipment["offered"], body.signature)
    return _checkout_out(svc, order)


@router.post(
    "/checkout/{checkout_id}/revoke",
    response_model=Unsigned,
    responses=responses(401, 404, 422),
    summary="The unsigned revoke of one store's mandate, for the buyer's wallet (only before its first "
    "verification: the contract refuses it after)",
)
def revoke_mandate(
    checkout_id: IdPath,
    body: RevokeMandateIn,
    session: dict = Depends(account_session),
    svc: Service = Depends(following),
) -> Unsigned:
    order = _own(svc, session, checkout_id)
    shipment = order.shipments.get(body.store_id)
    if shipment is None or "mandate" not in shipment:
        raise HTTPException(404, f"no signed mandate for {body.store_id!r} in checkout {checkout_id!r}")
    return Unsigned(
        transaction=svc.transactions.call(OFFLINE_PAYMENT, "revoke", (as_tuple(shipment["mandate"]),), order.wallet)
    )


# -- the store ships


@router.post(
    "/stores/{store_id}/checkouts/{checkout_id}/ship",
    response_model=DeclarationOut,
    responses=responses(401, 404, 409),
    summary="Declare the shipment: courier, waybill, category and items; checked at once, an alarm for any error",
)
def ship(
    checkout_id: IdPath, body: DeclarationIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)
) -> dict:
    declared = Declaration(body.courier_id, body.waybill, body.category, dict(body.items))
    order, errors, alarm = svc.app.declare_shipment(checkout_id, store.store_id, declared, time.time())
    return {
        "checkout_id": checkout_id,
        "store_id": store.store_id,
        "status": order.shipments[store.store_id]["status"],
        "errors": errors,
        "alarm_id": str(alarm.id) if alarm is not None else None,
    }


# -- the operator's alarms


def _alarm_out(alarm: Alarm) -> dict:
    return {
        "alarm_id": str(alarm.id),
        "checkout_id": alarm.checkout_id,
        "store_id": alarm.store_id,
        "kind": alarm.kind,
        "state": alarm.state,
        "errors": alarm.errors,
        "acknowledged_by": alarm.acknowledged_by,
        "resolution": alarm.resolution,
    }


@router.post(
    "/operator/alarms/{alarm_id}/acknowledge",
    response_model=AlarmOut,
    responses=responses(401, 403, 404, 409),
    dependencies=[Depends(require_admin)],
    summary="Acknowledge an alarm (operator only)",
)
def acknowledge(alarm_id: UuidPath, svc: Service = Depends(service)) -> dict:
    alarm = svc.app.acknowledge_alarm(UUID(alarm_id), "operator", time.time())
    return _alarm_out(alarm)


@router.post(
    "/operator/alarms/{alarm_id}/resolve",
    response_model=AlarmOut,
    responses=responses(401, 403, 404, 409),
    dependencies=[Depends(require_admin)],
    summary="Resolve an alarm with its reason: the payment goes ahead, or the shipment is cancelled (operator "
    "only); an alarm the keeper recorded on chain comes with the clearAlarm transaction for the operator to sign",
)
def resolve(alarm_id: UuidPath, body: ResolveAlarmIn, svc: Service = Depends(following)) -> dict:
    alarm = svc.app.resolve_alarm(UUID(alarm_id), "operator", body.proceed, body.reason, time.time())
    out = _alarm_out(alarm)
    row = svc.payments.shipment(alarm.checkout_id, alarm.store_id)
    if row is not None and row["data"].get("chain_alarm_reason") == reason_hash(str(alarm.id)):
        # the alarm is on chain too: the operator clears it there with its own key
        operator = svc.transactions.view(OFFLINE_PAYMENT, "operator")[0]
        reason = alarm.resolution["reason"] if alarm.resolution else body.reason
        args = (bytes.fromhex(row["mandate_id"][2:]), 0, body.proceed, bytes.fromhex(reason_hash(reason)[2:]))
        out["transaction"] = svc.transactions.call(OFFLINE_PAYMENT, "clearAlarm", args, operator)
    return out


@router.post(
    "/stores/{store_id}/alarms/{alarm_id}/acknowledge",
    response_model=AlarmOut,
    responses=responses(401, 404, 409),
    summary="The store acknowledges an alarm on one of its shipments (it has seen it)",
)
def store_acknowledge(alarm_id: UuidPath, store: Store = Depends(store_for_key), svc: Service = Depends(service)):
    alarm = svc.app.acknowledge_alarm(UUID(alarm_id), store_actor(store.store_id), time.time(), store.store_id)
    svc.project()
    return _alarm_out(alarm)


@router.post(
    "/stores/{store_id}/alarms/{alarm_id}/cancel",
    response_model=AlarmOut,
    responses=responses(401, 404, 409),
    summary="The store cancels the shipment an alarm holds, with its reason: nothing is collected for it "
    "(letting the payment go ahead is the operator's decision only)",
)
def store_cancel(
    alarm_id: UuidPath, body: CancelShipmentIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)
) -> dict:
    by = store_actor(store.store_id)
    alarm = svc.app.resolve_alarm(UUID(alarm_id), by, False, body.reason, time.time(), store_id=store.store_id)
    svc.project()
    return _alarm_out(alarm)


AlarmState = Annotated[str | None, Query(pattern=r"^(open|acknowledged|resolved)$")]
ALARM_STREAM = {
    200: {
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": "An endless event stream: one `alarm` event per change of an alarm (its latest state).",
    }
}
After = Annotated[str | None, Query(max_length=200, description="Start after this cursor [default: the beginning].")]
LastEventId = Annotated[str | None, Header(max_length=200, description="The id of the last event received.")]


@router.get(
    "/operator/alarms/stream",
    response_class=AlarmStream,
    status_code=200,
    responses={**ALARM_STREAM, **responses(400, 401, 403)},
    dependencies=[Depends(require_admin)],
    summary="Every alarm as it is raised, acknowledged and resolved, as server-sent events (operator only; "
    "resume with Last-Event-ID)",
)
async def stream_operator_alarms(
    svc: Service = Depends(service), after: After = None, last_event_id: LastEventId = None
) -> AlarmStream:
    return AlarmStream(svc, None, decode_cursor(last_event_id or after), svc.settings.sse_heartbeat)


@router.get(
    "/stores/{store_id}/alarms/stream",
    response_class=AlarmStream,
    status_code=200,
    responses={**ALARM_STREAM, **responses(400, 401, 404)},
    summary="The alarms on the store's shipments as they change, as server-sent events (resume with Last-Event-ID)",
)
async def stream_store_alarms(
    store: Store = Depends(store_for_key),
    svc: Service = Depends(service),
    after: After = None,
    last_event_id: LastEventId = None,
) -> AlarmStream:
    return AlarmStream(svc, store.store_id, decode_cursor(last_event_id or after), svc.settings.sse_heartbeat)


def _listed(alarm: dict) -> dict:
    return {k: v for k, v in alarm.items() if k != "raised_at"}


@router.get(
    "/operator/alarms",
    response_model=list[AlarmOut],
    responses=responses(401, 403),
    dependencies=[Depends(require_admin)],
    summary="Every alarm, newest change first, of one state or any (operator only)",
)
def operator_alarms(state: AlarmState = None, svc: Service = Depends(service)) -> list[dict]:
    return [_listed(a) for a in svc.alarms.alarms(state=state)]


@router.get(
    "/stores/{store_id}/alarms",
    response_model=list[AlarmOut],
    responses=responses(401, 404),
    summary="The alarms on the store's shipments, newest change first",
)
def store_alarms(
    state: AlarmState = None, store: Store = Depends(store_for_key), svc: Service = Depends(service)
) -> list[dict]:
    return [_listed(a) for a in svc.alarms.alarms(store_id=store.store_id, state=state)]
