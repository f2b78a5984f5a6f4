"""Sign-in with Ethereum, ordering with evidence, and the verification of evidence.

A buyer signs in (EIP-4361) and, to order, signs in again (a fresh message: identity
checked again, S1.1); the engine shows the order and the risk notice and returns the typed
data the buyer signs locally (S1.2-S1.4); the buyer pledges with the confirmation's hash
(S1.5) and hands in the signed parts with the pledge's transaction. The engine checks
every signature (S2.3), the witness countersigns the bundle hash (S2.4), and the anchorer
anchors it on chain in a Merkle batch (S2.1-S2.2). `POST /evidence/verify` tells anyone
whether a bundle is intact, signed, sealed and anchored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from api.deps import buyer, following, service
from api.models.accounts import FeedbackProofOut
from api.models.evidence import (
    EvidenceIn,
    EvidenceOut,
    NonceOut,
    PreparedOut,
    PrepareIn,
    SessionOut,
    SignInIn,
    VerifyIn,
    VerifyOut,
)
from api.problems import COMMON, responses
from api.service import Service
from engine.evidence import bundles as evidence
from engine.evidence import merkle
from engine.evidence.bundles import CONTRACT as ANCHOR
from engine.group_buy.campaign import CONTRACT as GROUP_BUY
from engine.signin import SignInRefused, utcnow

router = APIRouter(tags=["sign-in and evidence"], responses=responses(*COMMON))
Hash32Path = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]


@router.post("/auth/nonce", response_model=NonceOut, summary="A single-use nonce for an EIP-4361 sign-in message")
def nonce(svc: Service = Depends(service)) -> dict:
    return svc.sign_in.nonce(utcnow())


@router.post(
    "/auth/sign-in",
    response_model=SessionOut,
    responses=responses(401),
    summary="Sign in with Ethereum (EIP-4361): a session token for the message's address",
)
def sign_in(body: SignInIn, svc: Service = Depends(service)) -> dict:
    try:
        return svc.sign_in.sign_in(body.message, body.signature, utcnow())
    except SignInRefused as exc:
        raise HTTPException(401, str(exc)) from None


def _campaign(svc: Service, campaign_id: int) -> dict:
    found = svc.group_buy.campaign(campaign_id, svc.rpc.chain_time())
    if found is None:
        raise HTTPException(404, f"no campaign {campaign_id}")
    return found


@router.post(
    "/group-buy/orders/prepare",
    response_model=PreparedOut,
    responses=responses(401, 404, 409),
    summary="Show an order and its risk notice, and the typed data the buyer signs (after a fresh sign-in)",
)
def prepare(body: PrepareIn, session: dict = Depends(buyer), svc: Service = Depends(following)) -> dict:
    now = utcnow()
    try:
        fresh = svc.sign_in.verify(body.sign_in.message, body.sign_in.signature, now)
    except SignInRefused as exc:
        raise HTTPException(401, f"identity not verified again: {exc}") from None
    if fresh.address.lower() != session["address"]:
        raise HTTPException(401, "the fresh sign-in is not by the session's account")
    campaign = _campaign(svc, body.campaign_id)
    if campaign["status"] not in ("open", "succeeded") or campaign["seconds_left"] <= 0:
        raise HTTPException(409, f"campaign {body.campaign_id} takes no pledges: it is {campaign['status']}")
    if body.quantity > campaign["room"]:
        raise HTTPException(409, f"campaign {body.campaign_id} has room for {campaign['room']} more unit(s)")
    order = {
        "campaign_id": body.campaign_id,
        "scheme": svc.scheme_name(campaign),
        "scheme_hash": campaign["scheme_hash"],
        "term": campaign["cycle"],
        "quantity": body.quantity,
        "unit_price": str(campaign["unit_price"]),
        "deposit": str(campaign["deposit_per_unit"] * body.quantity),
        "buyer": session["address"],
        "token": campaign["token"],
        "chain_id": svc.chain_id,
        "contract": svc.manifest.contract(GROUP_BUY).address,
    }
    notice = evidence.risk_notice(order)
    dom = evidence.domain(svc.chain_id, order["contract"])
    confirmation = evidence.confirmation_typed_data(dom, order, notice, body.sign_in.message)
    return {
        "order": dict(order, sign_in=body.sign_in.message),
        "risk_notice": notice,
        "acknowledgement": evidence.acknowledgement_typed_data(dom, notice, body.campaign_id, session["address"]),
        "confirmation": confirmation,
        "confirmation_hash": evidence.digest(confirmation),
        "token": campaign["token"],
        "deposit": int(order["deposit"]),
    }


def _anchoring(svc: Service, record: dict) -> dict | None:
    if not record.get("root"):
        return None
    batch = svc.group_buy.batch_of_root(record["root"])
    hashes = svc.evidence.batch_hashes(record["root"])
    if batch is None or hashes is None:
        return None
    return {
        "batch_id": batch["batch_id"],
        "root": record["root"],
        "proof": merkle.proof(hashes, record["position"]),
        "tx_hash": batch["tx_hash"],
        "block_number": batch["block_number"],
        "anchored_at": batch["anchored_at"],
    }


def _verified(svc: Service, leaf: str, anchoring: dict | None) -> bool:
    """Whether ``EvidenceAnchor`` itself verifies the leaf's proof into the batch it names."""
    if anchoring is None:
        return False
    batch_id, _ = svc.transactions.view(
        ANCHOR, "verify", bytes.fromhex(leaf[2:]), [bytes.fromhex(p[2:]) for p in anchoring["proof"]]
    )
    return batch_id == anchoring["batch_id"]


def _out(svc: Service, record: dict) -> dict:
    return {
        "bundle_hash": record["bundle_hash"],
        "bundle": record["bundle"],
        "seal": record["seal"],
        "witness": record["witness"],
        "root": record.get("root"),
        "anchoring": _anchoring(svc, record),
    }


@router.post(
    "/evidence",
    status_code=201,
    response_model=EvidenceOut,
    responses=responses(404, 409),
    summary="Hand in an order's signed parts and its pledge transaction: checked, sealed, kept for anchoring",
)
def post_evidence(body: EvidenceIn, svc: Service = Depends(following)) -> dict:
    if svc.witness is None:
        raise HTTPException(503, "no evidence witness is configured (ORDERCHAIN_WITNESS_KEY)")
    order = {k: v for k, v in body.order.items() if k != "sign_in"}
    result = svc.transactions.result(body.deposit_tx, wait=0)
    if result.get("status") != "success":
        raise HTTPException(
            409, f"the deposit transaction is {result.get('status')}: hand the evidence in once it succeeded"
        )
    group_buy = svc.manifest.contract(GROUP_BUY).address.lower()
    pledge = next(
        (
            e["args"]
            for e in result["events"]
            if e["event"] == "Pledged"
            and e["address"].lower() == group_buy
            and e["args"]["campaignId"] == str(order.get("campaign_id"))
            and e["args"]["backer"].lower() == str(order.get("buyer", "")).lower()
        ),
        None,
    )
    if pledge is None:
        raise HTTPException(422, "the deposit transaction holds no pledge of this buyer to this campaign")
    deposit = {
        "campaign_id": int(pledge["campaignId"]),
        "backer": pledge["backer"].lower(),
        "quantity": int(pledge["quantity"]),
        "deposit": pledge["deposit"],
        "confirmation_hash": pledge["confirmationHash"],
        "tx_hash": body.deposit_tx.lower(),
        "block_number": result["block_number"],
    }
    bundle = evidence.bundle(
        body.sign_in.model_dump(),
        order,
        evidence.risk_notice(order),
        body.acknowledgement.model_dump(),
        body.confirmation.model_dump(),
        deposit,
    )
    report = evidence.check(bundle)
    if not report["ok"]:
        raise HTTPException(422, "the evidence does not hold: " + "; ".join(report["problems"]))
    seal = evidence.seal(report["hash"], svc.witness)
    svc.app.record_evidence(
        report["hash"], bundle, seal, svc.witness.address.lower(), deposit["campaign_id"], deposit["backer"]
    )
    svc.project()
    return _out(svc, svc.evidence.record(report["hash"]))


@router.get(
    "/evidence/{bundle_hash}",
    response_model=EvidenceOut,
    responses=responses(404),
    summary="A recorded bundle, its seal and, once anchored, its Merkle proof and anchoring transaction",
)
def get_evidence(bundle_hash: Hash32Path, svc: Service = Depends(service)) -> dict:
    record = svc.evidence.record(bundle_hash.lower())
    if record is None:
        raise HTTPException(404, f"no evidence bundle {bundle_hash}")
    return _out(svc, record)


@router.post(
    "/evidence/verify",
    response_model=VerifyOut,
    summary="Is a bundle intact, every signature valid, the countersignature valid, and anchored?",
)
def verify(body: VerifyIn, svc: Service = Depends(service)) -> dict:
    report = evidence.check(body.bundle)
    record = svc.evidence.record(report["hash"]) if report["hash"] else None
    seal = body.seal or (record or {}).get("seal")
    signer = evidence.seal_signer(report["hash"], seal) if seal and report["hash"] else None
    is_witness = bool(signer) and bool(svc.transactions.view(ANCHOR, "witnesses", signer)[0])
    anchoring = _anchoring(svc, record) if record else None
    anchored = _verified(svc, report["hash"], anchoring)
    return {
        "intact": record is not None,
        "bundle_hash": report["hash"],
        "signatures_valid": report["ok"],
        "checks": report["checks"],
        "problems": report["problems"],
        "countersignature_valid": is_witness,
        "witness": signer if is_witness else None,
        "anchored": anchored,
        "anchoring": anchoring if anchored else None,
    }


@router.get(
    "/feedback/{document_hash}",
    response_model=FeedbackProofOut,
    responses=responses(404),
    summary="A buyer's feedback as anchored: the document, its Merkle proof and whether EvidenceAnchor verifies it",
)
def feedback_proof(document_hash: Hash32Path, svc: Service = Depends(service)) -> dict:
    record = svc.evidence.record(document_hash.lower())
    if record is None or record["bundle"].get("kind") != "feedback":
        raise HTTPException(404, f"no feedback {document_hash}")
    anchoring = _anchoring(svc, record)
    anchored = _verified(svc, document_hash, anchoring)
    return {
        "document_hash": document_hash.lower(),
        "document": record["bundle"],
        "anchoring": anchoring,
        "anchored": anchored,
    }
