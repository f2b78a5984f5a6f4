"""The operator's review of an account's identity and its attestation on chain with the
Ethereum Attestation Service: the attest and revoke transactions for the attester to sign on
its own machine (a salted hash of the identity record and a level, never the data)."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from api.deps import following, require_admin
from api.models.accounts import AccountListOut, AttestIn, AttestTxOut, ReviewOut, RevokeIn, RevokeTxOut
from api.problems import COMMON, responses
from api.routers.accounts import LoginPath, account_out
from api.service import Service
from engine.accounts.account import Account
from engine.accounts.identity import CONTRACT as IDENTITY
from engine.accounts.identity import encode_data
from engine.accounts.profile import missing_for

router = APIRouter(tags=["accounts"], responses=responses(*COMMON))
ZERO_ADDRESS = "0x" + "00" * 20


def identity_of(svc: Service, account: Account) -> dict:
    """What the operator reviews: the record in full, what it lacks, its hash, level and attestations."""
    return {
        "record": account.identity_record(),
        "missing": missing_for(account.profile(), "attestation"),
        "identity_hash": account.identity_hash,
        "level": svc.identity_level(account),
        "attestations": svc.identity.attestations(account.identity_hashes),
    }


def _eas(svc: Service, attester: str):
    if IDENTITY not in svc.manifest.contracts:
        raise HTTPException(503, "no attestation service in this deployment (redeploy: the deploy script adds EAS)")
    eas = svc.manifest.contract(IDENTITY)
    if attester.lower() not in eas.meta.get("attesters", []):
        raise HTTPException(
            422,
            f"{attester} is not a trusted attester: the engine would ignore its attestations "
            f"(trusted: {', '.join(eas.meta.get('attesters', []))})",
        )
    return eas


@router.get(
    "/operator/accounts",
    response_model=AccountListOut,
    responses=responses(401, 403),
    dependencies=[Depends(require_admin)],
    summary="The accounts whose identity is to review (complete, no attestation holding), or attested, "
    "incomplete, or all (operator only), the latest changed first",
)
def identities(
    state: Literal["to_review", "attested", "incomplete", "all"] = "to_review",
    before: Annotated[int | None, Query(ge=0, description="The `next` of the page before.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    svc: Service = Depends(following),
) -> dict:
    accounts, next_ = svc.identities(state, before, limit)
    return {"accounts": accounts, "next": next_}


@router.get(
    "/operator/accounts/{login}",
    response_model=ReviewOut,
    responses=responses(401, 403, 404),
    dependencies=[Depends(require_admin)],
    summary="Review an account's identity before attesting it (operator only: the data in full)",
)
def review(login: LoginPath, svc: Service = Depends(following)) -> dict:
    account = svc.app.get_account(login)
    return {"account": account_out(svc, account), "identity": identity_of(svc, account)}


@router.post(
    "/operator/accounts/{login}/attestation",
    response_model=AttestTxOut,
    responses=responses(401, 403, 404, 409),
    dependencies=[Depends(require_admin)],
    summary="Attest the account's identity on chain: the EAS attest transaction for the attester to sign "
    "(a salted hash of the record and its level, never the data)",
)
def attest(login: LoginPath, body: AttestIn, svc: Service = Depends(following)) -> dict:
    eas = _eas(svc, body.attester)
    account, hash_ = svc.app.change_account(login, lambda a: a.prepare_attestation(secrets.token_hex(16)))
    expiration = svc.rpc.chain_time() + body.valid_for if body.valid_for else 0
    request = (
        bytes.fromhex(eas.meta["identity_schema"][2:]),
        (account.wallet or ZERO_ADDRESS, expiration, True, bytes(32), encode_data(hash_, body.level), 0),
    )
    data = eas.functions.encode("attest", request)
    return {
        "identity_hash": hash_,
        "level": body.level,
        "expiration_time": expiration,
        "transaction": svc.transactions.build(body.attester, eas.address, data),
    }


@router.post(
    "/operator/accounts/{login}/attestation/revoke",
    response_model=RevokeTxOut,
    responses=responses(401, 403, 404),
    dependencies=[Depends(require_admin)],
    summary="Revoke one of the account's identity attestations: the EAS revoke transaction for its attester",
)
def revoke(login: LoginPath, body: RevokeIn, svc: Service = Depends(following)) -> dict:
    eas = _eas(svc, body.attester)
    account = svc.app.get_account(login)
    if body.uid.lower() not in {a["uid"] for a in svc.identity.attestations(account.identity_hashes)}:
        raise HTTPException(404, f"no attestation {body.uid} of account {account.login!r}")
    request = (bytes.fromhex(eas.meta["identity_schema"][2:]), (bytes.fromhex(body.uid[2:]), 0))
    data = eas.functions.encode("revoke", request)
    return {"uid": body.uid, "transaction": svc.transactions.build(body.attester, eas.address, data)}
