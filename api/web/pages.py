"""The dashboard's pages, served by the API itself under ``/app`` (same process, same port).

Signing in is the accounts' two factors: the login asks for a one-time code (SMS), then the
password and the code open a cookie session (HttpOnly, SameSite=Strict); no key ever reaches
a page. Every form carries its CSRF token (:mod:`api.web.csrf`). A store's staff see their
store's pages only: another store's page, known or not, is the same 404 as an unknown page.
The numbers on a page are the API's views, read the same way; money is shown in the token's
units with its symbol, every digit kept (:mod:`api.web.money`). Live parts use the API's own
streams (the orders' server-sent events) from the page's small script, which also reconnects
with ``Last-Event-ID``.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import SESSION_COOKIE, service, set_session_cookie
from api.present import encode_cursor
from api.service import Service
from api.web import csrf
from api.web.money import in_units
from engine.accounts.factors import SignInRefused
from engine.application import NotFound
from engine.delivery.order import reason_hash, store_actor

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# The scripts the pages use, from the project's own npm packages (no CDN: works offline).
VENDOR = {
    "htmx.min.js": ROOT / "node_modules/htmx.org/dist/htmx.min.js",
    "chart.umd.js": ROOT / "node_modules/chart.js/dist/chart.umd.js",
}
PAGE_ORDERS = 100  # the orders a store's page shows (the newest changes; the stream adds the next ones)
CHAIN_FACTS = ("chain_id", "node_head", "indexed_block", "confirmations", "lag", "ready", "halted")
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/app", include_in_schema=False)


def _session(request: Request, svc: Service) -> dict | None:
    token = request.cookies.get(SESSION_COOKIE)
    return svc.accounts.session(token) if token else None


def signed_in(request: Request, svc: Service = Depends(service)) -> dict:
    """The page's session; without one, the browser goes to the sign-in page."""
    found = _session(request, svc)
    if found is None:
        raise HTTPException(303, headers={"Location": "/app/sign-in"})
    return found


def page(request: Request, name: str, session: dict | None, status: int = 200, **context: Any) -> Response:
    """A page from its template, with the CSRF token its forms carry."""
    token, new = csrf.token_of(request)
    response = templates.TemplateResponse(
        request, name, {"session": session, "csrf_token": token, **context}, status_code=status
    )
    if new:
        csrf.keep(request, response, token)
    response.headers["cache-control"] = "no-store"
    return response


def money(svc: Service, token: str | None, amount: int | str | None) -> str:
    if amount is None:
        return "-"
    if not token:
        return f"{amount} base units"
    decimals, symbol = svc.transactions.token_units(token.lower())
    return in_units(amount, decimals, symbol or token[:10])


def home_of(session: dict) -> str:
    if session["role"] == "store_staff":
        return f"/app/stores/{session['store_id']}"
    if session["role"] == "operator":
        return "/app/operator"
    return "/app/me"


# -- signing in


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(request: Request, svc: Service = Depends(service)) -> Response:
    found = _session(request, svc)
    return RedirectResponse(home_of(found) if found else "/app/sign-in", 303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, login: str = "", sent: bool = False) -> Response:
    return page(request, "sign_in.html", None, login=login, sent=sent, error=None)


@router.post("/sign-in/code", response_class=HTMLResponse)
async def ask_code(request: Request, svc: Service = Depends(service)) -> Response:
    form = await csrf.check(request)
    login = str(form.get("login", "")).strip()[:120]
    svc.accounts.send_sign_in_code(login)
    return page(request, "sign_in.html", None, login=login, sent=True, error=None)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, svc: Service = Depends(service)) -> Response:
    form = await csrf.check(request)
    login = str(form.get("login", "")).strip()[:120]
    try:
        opened = svc.accounts.sign_in(login, str(form.get("password", "")), str(form.get("code", "")), "cookie")
    except SignInRefused as exc:
        return page(request, "sign_in.html", None, login=login, sent=True, error=str(exc))
    response = RedirectResponse(home_of(svc.accounts.session(opened["token"]) or {"role": ""}), 303)
    set_session_cookie(request, response, opened["token"], opened["expires_at"])
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: dict = Depends(signed_in), svc: Service = Depends(service)) -> Response:
    await csrf.check(request)
    svc.accounts.sign_out(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/app/sign-in", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# -- a store's pages


def own_store(store_id: str, session: dict = Depends(signed_in), svc: Service = Depends(service)):
    """The store a staff session works for; any other id is the same 404 as an unknown page."""
    if session["role"] != "store_staff" or session["store_id"] != store_id:
        raise HTTPException(404, "no such page")
    return svc.app.get_store(store_id)


def order_row(svc: Service, data: dict, store_id: str) -> dict:
    return {
        "href": f"/app/stores/{store_id}/orders/{data['order_number']}",
        "number": data["order_number"],
        "status": data["status"],
        "amount": money(svc, data.get("token"), data.get("amount")),
        "settlement": data.get("settlement_status") or "-",
    }


@router.get("/stores/{store_id}", response_class=HTMLResponse)
def store_orders(
    request: Request, store=Depends(own_store), session: dict = Depends(signed_in), svc: Service = Depends(service)
) -> Response:
    rows = svc.view.newest_raw(store.store_id, PAGE_ORDERS)  # newest change first; older ones through the API
    orders = [order_row(svc, json.loads(d), store.store_id) for _, _, d in rows]
    latest = rows[0][0] if rows else 0
    now = svc.rpc.chain_time()
    collections = []
    for row in svc.payments.of_store(store.store_id):
        shipment = row["data"].get("shipment") or {}
        token = (row["data"].get("mandate") or {}).get("token")
        collections.append(
            {
                "checkout_id": row["checkout_id"],
                "status": (shipment.get("status") or row["status"]).replace("_", " "),
                "amount": money(svc, token, row["data"]["amount"]),
                "held": bool(row["chain_alarmed"]) or row["alarm_open"] is not None,
            }
        )
    return page(
        request,
        "store_orders.html",
        session,
        store=store,
        orders=orders,
        total=svc.view.count(store.store_id),
        cursor=encode_cursor(latest),
        alarms=svc.alarms.alarms(store_id=store.store_id, limit=20),
        collections=collections,
        reputation=svc.reputation.reputation([store.address], now),
    )


@router.post("/stores/{store_id}/alarms/{alarm_id}/acknowledge")
async def store_acknowledge(
    request: Request, alarm_id: UUID, store=Depends(own_store), svc: Service = Depends(service)
) -> Response:
    await csrf.check(request)
    try:
        svc.app.acknowledge_alarm(alarm_id, store_actor(store.store_id), time.time(), store.store_id)
    except NotFound:
        raise HTTPException(404, "no such page") from None
    svc.project()
    return RedirectResponse(f"/app/stores/{store.store_id}", 303)


@router.post("/stores/{store_id}/alarms/{alarm_id}/cancel")
async def store_cancel(request: Request, alarm_id: UUID, store=Depends(own_store), svc: Service = Depends(service)):
    """The store cancels the shipment an alarm holds (letting it proceed is the operator's only)."""
    form = await csrf.check(request)
    reason = str(form.get("reason", "")).strip()[:500]
    if not reason:
        raise HTTPException(422, "a cancellation gives its reason")
    try:
        svc.app.resolve_alarm(alarm_id, store_actor(store.store_id), False, reason, time.time(), store.store_id)
    except NotFound:
        raise HTTPException(404, "no such page") from None
    svc.project()
    return RedirectResponse(f"/app/stores/{store.store_id}", 303)


@router.get("/stores/{store_id}/orders/{number}/row", response_class=HTMLResponse)
def store_order_row(
    request: Request, number: str, store=Depends(own_store), svc: Service = Depends(service)
) -> Response:
    """One order's row as the page shows it (what the live script puts in the table)."""
    found = svc.view.order(store.store_id, number)
    if found is None:
        raise HTTPException(404, "no such page")
    return templates.TemplateResponse(request, "order_row.html", {"o": order_row(svc, found[1], store.store_id)})


def campaign_rows(svc: Service, store) -> list[dict]:
    """The store's campaigns as the page shows them: progress to the MOQ, the price in token units."""
    _, names = svc.market(store.store_id)
    rows = []
    for c in svc.group_buy.campaigns(svc.rpc.chain_time(), enterprise=store.address):
        rows.append(
            {
                "id": c["campaign_id"],
                "scheme": names.get(c["scheme_hash"], c["scheme_hash"][:10]),
                "cycle": c["cycle"],
                "pledged": c["pledged"],
                "moq": c["moq"],
                "status": c["status"],
                "unit_price": money(svc, c.get("token"), c["unit_price"]),
                "token": c.get("token"),
            }
        )
    return rows


def depth(svc: Service, store_id: str, scheme: str, cycle: int, token: str | None) -> dict:
    """The retail order book of a scheme and cycle (five levels either side) as the depth chart draws it."""
    market, names = svc.market(store_id)
    by_hash, _ = svc.group_buy.queues(svc.rpc.chain_time())
    queued = {(names[h], c): n for (h, c), n in by_hash.items() if h in names}
    try:
        book = market.book(queued, scheme, cycle, 1)
    except (KeyError, ValueError):
        return {"asks": [], "bids": []}
    return {
        "asks": [[money(svc, token, price), n] for price, n, _ in book.asks],
        "bids": [[money(svc, token, price), n] for price, n, _ in book.bids],
    }


@router.get("/stores/{store_id}/campaigns", response_class=HTMLResponse)
def store_campaigns(
    request: Request, store=Depends(own_store), session: dict = Depends(signed_in), svc: Service = Depends(service)
) -> Response:
    rows = campaign_rows(svc, store)
    books = {(r["scheme"], r["cycle"]): depth(svc, store.store_id, r["scheme"], r["cycle"], r["token"]) for r in rows}
    return page(
        request,
        "campaigns.html",
        session,
        store=store,
        campaigns=rows,
        books=[{"scheme": k[0], "cycle": k[1], "book": json.dumps(v)} for k, v in books.items()],
    )


@router.get("/stores/{store_id}/campaigns/table", response_class=HTMLResponse)
def store_campaigns_table(request: Request, store=Depends(own_store), svc: Service = Depends(service)) -> Response:
    """The campaigns' table alone: what the page fetches every two seconds to stay current."""
    return templates.TemplateResponse(
        request, "campaign_table.html", {"store": store, "campaigns": campaign_rows(svc, store)}
    )


@router.get("/stores/{store_id}/orders/{number}", response_class=HTMLResponse)
def store_order_history(
    request: Request,
    number: str,
    store=Depends(own_store),
    session: dict = Depends(signed_in),
    svc: Service = Depends(service),
) -> Response:
    """One order and how it came to its state: every step, where it was mined, what it matched."""
    found = svc.view.order(store.store_id, number)
    if found is None:
        raise HTTPException(404, "no such page")
    return page(
        request,
        "order.html",
        session,
        store=store,
        o=order_row(svc, found[1], store.store_id),
        history=svc.view.history(store.store_id, number),
    )


@router.get("/stores/{store_id}/cross-border", response_class=HTMLResponse)
def store_cross_border(
    request: Request, store=Depends(own_store), session: dict = Depends(signed_in), svc: Service = Depends(service)
) -> Response:
    """The store's cross-border orders as seller: the escrow's state and the freight estimate
    the quote was made from (its comparable orders in the S, C and F groups, and their weights)."""
    rows = []
    for o in svc.cross_border.orders(store.address):
        if o["seller"] != store.address.lower():
            continue
        quote = svc.cross_border.quote(o["snapshot_hash"]) or {}
        freight = quote.get("freight", {})
        rows.append(
            {
                "id": o["order_id"],
                "status": o["status"].replace("_", " "),
                "price": money(svc, o["token"], o["price"]),
                "freight_held": money(svc, o["token"], o["freight_held"]),
                "freight_paid": money(svc, o["token"], o["freight_paid"]),
                "groups": {g: len(freight.get("orders", {}).get(g, [])) for g in ("S", "C", "F")},
                "weights": freight.get("weights", {}),
                "goods": quote.get("goods", ""),
            }
        )
    return page(request, "cross_border.html", session, store=store, orders=rows)


@router.get("/stores/{store_id}/cases", response_class=HTMLResponse)
def store_cases(
    request: Request, store=Depends(own_store), session: dict = Depends(signed_in), svc: Service = Depends(service)
) -> Response:
    """The liquor cases of the store: its plans as producer (cases for sale, in custody, pledged,
    redeeming, delivered) and, where it keeps cases as a warehouse, the pickups it has to dispatch."""
    address = store.address.lower()
    plans = []
    for plan in svc.liquor.plans(producer=address):
        plans.append(
            {
                "id": plan["plan_id"],
                "unit_price": money(svc, plan.get("token"), plan.get("unit_price")),
                "inventory": svc.liquor.inventory(plan["plan_id"], plan),
            }
        )
    return page(request, "cases.html", session, store=store, plans=plans, pickups=svc.liquor.redemption_queue(address))


# -- the operator's pages


def operator(session: dict = Depends(signed_in)) -> dict:
    if session["role"] != "operator":
        raise HTTPException(404, "no such page")
    return session


GLANCE = {
    "orderchain_events_ingested": "chain events ingested",
    "orderchain_reorgs": "reorganisations rolled back",
    "orderchain_keeper_releases": "settlements the keeper ended",
    "orderchain_webhook_deliveries": "webhooks delivered",
    "orderchain_sse_clients": "stream clients connected",
    "orderchain_sse_dropped": "stream clients dropped",
}


def glance() -> list[tuple[str, str]]:
    """A few of the Prometheus metrics (``/metrics``), summed over their labels, in this process."""
    from prometheus_client import REGISTRY

    totals: dict[str, float] = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            name = sample.name.removesuffix("_total")
            if name in GLANCE and not sample.name.endswith("_created"):
                totals[name] = totals.get(name, 0) + sample.value
    return [(label, f"{totals.get(name, 0):,.0f}") for name, label in GLANCE.items()]


@router.get("/operator", response_class=HTMLResponse)
def operator_home(request: Request, session: dict = Depends(operator), svc: Service = Depends(service)) -> Response:
    return page(
        request,
        "operator.html",
        session,
        chain={k: v for k, v in svc.status().items() if k in CHAIN_FACTS},
        alarms=svc.alarms.alarms(limit=50),
        dead=svc.payments.notices(state="dead"),
        dead_webhooks=svc.instructions.deliveries(state="dead"),
        metrics=glance(),
        to_review=svc.identities("to_review", limit=50)[0],
    )


@router.get("/operator/accounts/{login}", response_class=HTMLResponse)
def operator_review(
    request: Request, login: str, session: dict = Depends(operator), svc: Service = Depends(service)
) -> Response:
    """One account's identity record in full, its attestations, and the command the attester
    runs on its own machine to attest it (or revoke an attestation): no key comes here."""
    from api.routers.identity import identity_of

    try:
        account = svc.app.get_account(login)
    except NotFound:
        raise HTTPException(404, "no such page") from None
    found = identity_of(svc, account)
    return page(
        request,
        "review.html",
        session,
        account=account,
        identity=found,
        command=f"orderchain wallet attest {shlex.quote(account.login)} --level 1",
    )


@router.post("/operator/{kind}/{delivery_id}/replay")
async def replay(
    request: Request,
    kind: Literal["notices", "webhooks"],
    delivery_id: UUID,
    session: dict = Depends(operator),
    svc: Service = Depends(service),
) -> Response:
    """Replays a dead letter: a buyer's notice, or a store's webhook delivery."""
    await csrf.check(request)
    (svc.app.replay_notice if kind == "notices" else svc.app.replay_webhook)(delivery_id, time.time())
    svc.project()
    return RedirectResponse("/app/operator", 303)


@router.post("/operator/alarms/{alarm_id}/acknowledge")
async def acknowledge(
    request: Request, alarm_id: UUID, session: dict = Depends(operator), svc: Service = Depends(service)
) -> Response:
    await csrf.check(request)
    try:
        svc.app.acknowledge_alarm(alarm_id, session["login"], time.time())
    except NotFound:
        raise HTTPException(404, "no such alarm") from None
    svc.project()
    return RedirectResponse("/app/operator", 303)


@router.post("/operator/alarms/{alarm_id}/resolve", response_class=HTMLResponse)
async def resolve(
    request: Request, alarm_id: UUID, session: dict = Depends(operator), svc: Service = Depends(service)
) -> Response:
    """Resolves an alarm (go ahead, or cancel the shipment, with a reason). An alarm the keeper
    recorded on chain is cleared there by the operator's own wallet: the page says how, it
    never holds the key."""
    form = await csrf.check(request)
    reason = str(form.get("reason", "")).strip()[:500]
    proceed = form.get("decision") == "proceed"
    if not reason:
        raise HTTPException(422, "a resolution gives its reason")
    try:
        alarm = svc.app.resolve_alarm(alarm_id, session["login"], proceed, reason, time.time())
    except NotFound:
        raise HTTPException(404, "no such alarm") from None
    svc.project()
    row = svc.payments.shipment(alarm.checkout_id, alarm.store_id)
    on_chain = row is not None and row["data"].get("chain_alarm_reason") == reason_hash(str(alarm.id))
    return page(
        request,
        "resolved.html",
        session,
        alarm=alarm,
        on_chain=on_chain,
        command=f"orderchain wallet resolve-alarm {alarm.id} --{'proceed' if proceed else 'cancel'} "
        f"--reason {shlex.quote(reason)}",
    )


# -- the buyer's pages


@router.get("/me", response_class=HTMLResponse)
def buyer_home(request: Request, session: dict = Depends(signed_in), svc: Service = Depends(service)) -> Response:
    from api.routers.buyers import purchase_records
    from api.routers.reputation import account_reputation

    account = svc.app.get_account(session["login"])
    records = purchase_records(svc, account)
    for r in records:
        r["unit_price_shown"] = money(svc, r.get("token"), r["unit_price"])
        r["amount_shown"] = money(svc, r.get("token"), r["amount"])
    reputation = account_reputation(svc, account)  # what GET /accounts/me/reputation answers
    stable = svc.manifest.contracts.get("TestStablecoin")
    return page(
        request,
        "buyer.html",
        session,
        account=account,
        reputation=reputation,
        credit=money(svc, stable.address if stable else None, reputation["credit_limit"]),
        level=reputation["identity_level"],
        purchases=list(reversed(records)),
        recommendations=svc.payments.recommendations(account.login),
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The pages' own files and the vendored scripts (nothing from a CDN)."""
    path = VENDOR.get(name) or (HERE / "static" / name)
    if not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path, headers={"cache-control": "public, max-age=3600"})
