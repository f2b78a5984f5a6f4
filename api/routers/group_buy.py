"""Customised group buying: a store's catalogue (QFD, schemes, costs, MOQ), quotes (the
retail order book, the wholesale quote), campaigns and their unsigned transactions.

A store writes its catalogue with its key; catalogues, quotes and campaigns are public
(what a buyer browses). Campaign actions answer with unsigned transactions, one route per
row of the table below; the API never holds a key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from api.actions.group_buy import ACTIONS
from api.deps import buyer, following, service, store_for_key
from api.models.common import Unsigned
from api.models.group_buy import (
    BookOut,
    CampaignOut,
    ClassOut,
    CostsIn,
    EffectsOut,
    InstructionOut,
    Intention,
    MoqIn,
    MoqOut,
    OpenCampaignIn,
    QfdIn,
    QfdOut,
    SchemeId,
    SchemesIn,
    SchemesOut,
    Term,
    WebhookIn,
    WebhookOut,
    WholesaleOut,
)
from api.problems import COMMON, responses
from api.routers.generated import action_routes, payment_routes
from api.service import Service
from engine.group_buy.campaign import CONTRACT, expected_effects
from engine.group_buy.catalogue import scheme_hash
from engine.group_buy.moq import classify
from engine.group_buy.order_book import wholesale_quote
from engine.group_buy.schemes import SchemeError
from engine.settlement.stores import Store

router = APIRouter(tags=["group buying"], responses=responses(*COMMON))
actions = APIRouter(prefix="/group-buy", tags=["group buying"], responses=responses(*COMMON))
StoreIdPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="The store's id.")]
MAX_PAGE = 1_000


@lru_cache(maxsize=200_000)
def _hash(scheme: str) -> str:
    return scheme_hash(scheme)


def _store(svc: Service, store_id: str) -> Store:
    return svc.app.get_store(store_id)  # NotFound -> 404


def _qfd(result: dict | None) -> dict:
    if result is None:
        raise HTTPException(404, "this store has recorded no QFD yet")
    return {
        "absolute": {k: str(v) for k, v in result["absolute"].items()},
        "relative": {k: str(v) for k, v in result["relative"].items()},
        "ranking": result["ranking"],
        "negative_pairs": [list(p) for p in result["negative_pairs"]],
    }


def _scheme(s) -> dict:
    return {
        "id": s.id,
        "scheme_hash": _hash(s.id),
        "options": dict(s.options),
        "ladder": [{"minimum_quantity": q, "unit_price": p} for q, p in s.ladder],
        "terms": list(s.terms),
    }


# -- the store writes its catalogue


@router.put(
    "/stores/{store_id}/catalogue/qfd",
    response_model=QfdOut,
    responses=responses(401, 404),
    summary="Record the QFD: requirements and weights, attributes, relation matrix (0/1/3/9), roof (+/-)",
)
def put_qfd(body: QfdIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    catalogue = svc.app.change_catalogue(
        store.store_id,
        lambda c: c.record_qfd(
            [r.model_dump() for r in body.requirements],
            list(body.attributes),
            [[r.requirement, r.attribute, r.strength] for r in body.relations],
            [[p.a, p.b, p.sign] for p in body.roof],
        ),
    )
    return _qfd(catalogue.qfd())


@router.put(
    "/stores/{store_id}/catalogue/schemes",
    response_model=SchemesOut,
    responses=responses(401, 404),
    summary="Set the customisable parameters, price ladder and delivery terms: the scheme list",
)
def put_schemes(body: SchemesIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    made = {}

    def change(c):
        made["schemes"] = c.define_schemes(
            [p.model_dump() for p in body.parameters],
            [[r.minimum_quantity, r.unit_price] for r in body.ladder],
            list(body.terms),
            {d.term: d.basis_points for d in body.term_discounts},
            [list(p) for p in body.allowed],
        )

    svc.app.change_catalogue(store.store_id, change)
    kept, excluded = made["schemes"]
    return {"schemes": [_scheme(s) for s in kept[:MAX_PAGE]], "excluded": excluded, "total": len(kept)}


@router.post(
    "/stores/{store_id}/catalogue/costs",
    response_model=MoqOut,
    responses=responses(401, 404),
    summary="A department's costs for a scheme and term; answers the MOQ they give",
)
def post_costs(body: CostsIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    catalogue = svc.app.change_catalogue(
        store.store_id, lambda c: c.submit_costs(body.scheme, body.term, body.department, body.fixed, body.variable)
    )
    return catalogue.moq(catalogue.scheme(body.scheme), body.term)


@router.put(
    "/stores/{store_id}/catalogue/moq",
    response_model=MoqOut,
    responses=responses(401, 404),
    summary="Set a MOQ above the computed one, with the reason",
)
def put_moq(body: MoqIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    catalogue = svc.app.change_catalogue(
        store.store_id, lambda c: c.set_moq(body.scheme, body.term, body.moq, body.reason)
    )
    return catalogue.moq(catalogue.scheme(body.scheme), body.term)


# -- anyone reads it


@router.get(
    "/catalogues/{store_id}/qfd",
    response_model=QfdOut,
    responses=responses(404),
    summary="The store's QFD: each attribute's absolute and relative importance, negative pairs",
)
def get_qfd(store_id: StoreIdPath, svc: Service = Depends(service)) -> dict:
    _store(svc, store_id)
    return _qfd(svc.catalogue(store_id).qfd())


@router.get(
    "/catalogues/{store_id}/schemes",
    response_model=SchemesOut,
    responses=responses(404),
    summary="The store's scheme list (a page of it), with ladders and terms",
)
def get_schemes(
    store_id: StoreIdPath,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    svc: Service = Depends(service),
) -> dict:
    _store(svc, store_id)
    kept, excluded = svc.catalogue(store_id).schemes()
    return {"schemes": [_scheme(s) for s in kept[offset : offset + limit]], "excluded": excluded, "total": len(kept)}


@router.get(
    "/catalogues/{store_id}/moq",
    response_model=MoqOut,
    responses=responses(404),
    summary="A scheme's MOQ for a term: its inputs (department costs, ladder band) and the computation",
)
def get_moq(
    store_id: StoreIdPath,
    scheme: Annotated[SchemeId, Query()],
    term: Annotated[Term, Query()],
    svc: Service = Depends(service),
) -> dict:
    _store(svc, store_id)
    catalogue = svc.catalogue(store_id)
    return catalogue.moq(catalogue.scheme(scheme), term)


@router.post(
    "/catalogues/{store_id}/classify",
    response_model=ClassOut,
    responses=responses(401, 404),
    summary="Wholesale or retail, for the signed-in buyer's purchase intention (scheme, term, quantity)",
    description="The buyer's identity is its sign-in session (`POST /auth/sign-in`).",
)
def post_classify(
    store_id: StoreIdPath, body: Intention, session: dict = Depends(buyer), svc: Service = Depends(service)
) -> dict:
    _store(svc, store_id)
    catalogue = svc.catalogue(store_id)
    computed = catalogue.moq(catalogue.scheme(body.scheme, body.term), body.term)["moq"]
    if computed is None:
        raise SchemeError(
            f"scheme {body.scheme!r} has no MOQ for a term of {body.term}: its costs are not covered or not submitted"
        )
    return dict(classify(body.quantity, body.term, computed), moq=computed, buyer=session["address"])


@router.get(
    "/catalogues/{store_id}/book",
    response_model=BookOut,
    responses=responses(404),
    summary="The retail order book of a purchase intention: own quote, five levels above and below, "
    "the cheapest scheme, the queue",
)
def get_book(
    store_id: StoreIdPath,
    scheme: Annotated[SchemeId, Query()],
    term: Annotated[Term, Query()],
    quantity: Annotated[int, Query(ge=1, le=10**9)],
    svc: Service = Depends(service),
) -> dict:
    _store(svc, store_id)
    market, names = svc.market(store_id)
    by_hash, seq = svc.group_buy.queues(svc.rpc.chain_time())
    queued = {(names[h], cycle): n for (h, cycle), n in by_hash.items() if h in names}
    book = market.book(queued, scheme, term, quantity)

    def levels(rows):
        return [(str(price), queued, schemes) for price, queued, schemes in rows]

    own = dict(book.own, price=str(book.own["price"]))
    cheapest = dict(book.cheapest, price=str(book.cheapest["price"])) if book.cheapest else None
    return {
        "seq": seq,
        "own": own,
        "asks": levels(book.asks),
        "bids": levels(book.bids),
        "cheapest": cheapest,
        "queue": book.queue,
    }


@router.get(
    "/catalogues/{store_id}/wholesale",
    response_model=WholesaleOut,
    responses=responses(404),
    summary="The wholesale quote: the one offer for term and quantity, and the ladders along both",
)
def get_wholesale(
    store_id: StoreIdPath,
    scheme: Annotated[SchemeId, Query()],
    term: Annotated[Term, Query()],
    quantity: Annotated[int, Query(ge=1, le=10**9)],
    svc: Service = Depends(service),
) -> dict:
    _store(svc, store_id)
    quote = wholesale_quote(svc.catalogue(store_id).scheme(scheme, term), term, quantity)
    for row in quote["by_quantity"] + quote["by_term"]:
        row["unit_price"] = str(row["unit_price"])
    return quote


@router.get(
    "/catalogues/{store_id}/effects",
    response_model=EffectsOut,
    responses=responses(404),
    summary="The campaign page's expected effects: most popular, most potential, most urgent, most economical",
)
def get_effects(store_id: StoreIdPath, svc: Service = Depends(service)) -> dict:
    store = _store(svc, store_id)
    now = svc.rpc.chain_time()
    rows = svc.group_buy.campaigns(now, enterprise=store.address)
    effects = expected_effects(
        [
            {
                "id": c["campaign_id"],
                "pledged": c["pledged"],
                "moq": c["moq"],
                "unit_price": c["unit_price"],
                "target_date": c["target_date"],
                "status": c["status"],
                "pledges": [(p["timestamp"] or 0, p["quantity"]) for p in c["pledges"]],
            }
            for c in rows
        ],
        now,
    )
    effects["growth_24h"] = {str(k): v for k, v in effects["growth_24h"].items()}
    return effects


# -- campaigns


@router.get(
    "/campaigns",
    response_model=list[CampaignOut],
    summary="Campaigns, with progress against their targets",
    description="Filters: `enterprise` (who opened them), `scheme` (the offer pledged for), `backer` (the "
    "campaigns an address pledged to: a buyer's own pledges are its entry in `backers`).",
)
def get_campaigns(
    enterprise: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    scheme: Annotated[SchemeId | None, Query()] = None,
    backer: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    svc: Service = Depends(service),
) -> list[dict]:
    return svc.group_buy.campaigns(
        svc.rpc.chain_time(),
        enterprise=enterprise and enterprise.lower(),
        scheme_hash=_hash(scheme) if scheme else None,
        backer=backer and backer.lower(),
    )


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    responses=responses(404),
    summary="A campaign: progress, backers, deposits, status, and its production instruction's delivery",
)
def get_campaign(campaign_id: Annotated[int, Path(ge=1, le=2**63 - 1)], svc: Service = Depends(service)) -> dict:
    found = svc.group_buy.campaign(campaign_id, svc.rpc.chain_time())
    if found is None:
        raise HTTPException(404, f"no campaign {campaign_id}")
    return dict(found, instruction=svc.instructions.of_campaign(campaign_id))


@router.get(
    "/stores/{store_id}/instructions",
    response_model=list[InstructionOut],
    responses=responses(401, 404),
    summary="The store's production instructions (one per succeeded campaign) and their delivery",
)
def store_instructions(store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> list[dict]:
    return svc.instructions.instructions(store.store_id)


@router.put(
    "/stores/{store_id}/webhook",
    response_model=WebhookOut,
    responses=responses(401, 404),
    summary="Where production instructions and notices go; answers the signing secret (shown once)",
    description="Each instruction or notice is a POST of JSON with `X-Signature: sha256=<hex HMAC-SHA256 of "
    "the body under the secret>` and `X-Instruction-Id` (one per campaign or subject: a repeat "
    "has the same id). Notices: `top_up_requested` (a cross-border buyer must top up by a "
    "deadline).",
)
def put_webhook(body: WebhookIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    secret = svc.app.set_webhook(store, str(body.url))
    return {"url": str(body.url), "secret": secret}


# -- unsigned campaign transactions, one route per row


def _open_args(body: OpenCampaignIn, svc: Service) -> tuple:
    store = _store(svc, body.store_id)
    if store.address != body.sender.lower():
        raise HTTPException(422, f"the sender is not store {body.store_id!r}'s address {store.address}")
    catalogue = svc.catalogue(body.store_id)
    scheme = catalogue.scheme(body.scheme, body.cycle)
    computed = catalogue.moq(scheme, body.cycle)["moq"]
    if computed is None:
        raise SchemeError(f"scheme {body.scheme!r} has no MOQ for cycle {body.cycle}: submit its costs first")
    price = scheme.unit_price(computed, body.cycle)
    return (
        bytes.fromhex(_hash(body.scheme)[2:]),
        body.cycle,
        body.token.lower(),
        price,
        body.deposit_per_unit,
        computed,
        body.max_quantity,
        body.target_date,
    )


action_routes(actions, CONTRACT, ACTIONS, "group_buy")


@actions.post(
    "/open-campaign",
    response_model=Unsigned,
    responses=responses(404),
    summary="Unsigned `openCampaign` for a scheme of the store's catalogue: its MOQ and its ladder's price "
    "at the MOQ, as the catalogue computes them",
)
def open_campaign(body: OpenCampaignIn, svc: Service = Depends(following)) -> Unsigned:
    return Unsigned(
        transaction=svc.transactions.call(CONTRACT, "openCampaign", _open_args(body, svc), body.sender.lower())
    )


payment_routes(
    actions,
    CONTRACT,
    "group_buy",
    "Unsigned ERC-20 approval of the group-buy contract",
    "Unsigned claim of refunds or deposits the group-buy contract credited",
)
