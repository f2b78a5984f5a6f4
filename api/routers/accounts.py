"""Accounts: registration, the profile and what each action needs of it, the two sign-in
factors and the sessions they open, the bound wallet, an account's export.

A buyer registers itself; a store registers its staff with its key; the operator opens the
accounts of warehouses, lenders and operators. Signing in takes the password **and** a
one-time code (an SMS code asked for with `POST /accounts/sign-in/code`, or an authenticator's
code once one is enrolled); every refusal is the same 401, whatever failed. A session is a
short-lived bearer token, or for a browser an HttpOnly, SameSite=Strict cookie.
"""

from __future__ import annotations

import time
from typing import Annotated

import pyotp
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from api.deps import (
    SESSION_COOKIE,
    account_session,
    following,
    require_admin,
    service,
    set_session_cookie,
    store_for_key,
)
from api.models.accounts import (
    AccountOut,
    AccountSessionOut,
    AccountSignInIn,
    Action,
    AddressIn,
    CloseIn,
    CodeIn,
    CodeRequestIn,
    CodeSentOut,
    ExportOut,
    LockIn,
    NeedsOut,
    PhoneIn,
    ProfileIn,
    RegisteredOut,
    RegisterIn,
    RoleAccountIn,
    SessionRecordOut,
    StaffIn,
    TotpConfirmIn,
    TotpOut,
    VerifyPhoneIn,
    WalletIn,
    WalletSignInIn,
)
from api.problems import COMMON, responses
from api.service import Service
from engine.accounts.account import Account
from engine.accounts.factors import SignInRefused, new_totp_secret, password_matches
from engine.accounts.profile import Address, completion, missing_for
from engine.settlement.stores import Store
from engine.signin import SignInRefused as SiweRefused
from engine.signin import utcnow

router = APIRouter(tags=["accounts"], responses=responses(*COMMON))
LabelPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")]
AddressPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
Hash32Path = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
LoginPath = Annotated[str, Path(min_length=3, max_length=120, pattern=r"^\S+$")]
ZERO_ADDRESS = "0x" + "00" * 20
SECRET_FIELDS = {"password_hash", "salt", "digest", "secret"}
TOTP_ISSUER = "orderchain"


def account_out(svc: Service, account: Account) -> dict:
    """The account as its holder sees it (the phone in full), with what each action lacks."""
    profile = account.profile(attested=svc.attested(account))
    return {
        "login": account.login,
        "role": account.role,
        "store_id": account.store_id,
        "name": account.name,
        "company": account.company,
        "phone": account.phone,
        "phone_verified": account.phone_verified,
        "addresses": [
            dict(a, label=label, default=label == account.default_address) for label, a in account.addresses.items()
        ],
        "wallet": account.wallet,
        "second_factor": account.second_factor,
        "locked": account.locked_reason is not None,
        "closed": account.closed,
        "missing": completion(profile),
    }


def own_account(session: dict, svc: Service) -> Account:
    return svc.app.get_account(session["login"])


def _change(svc: Service, session: dict, change) -> dict:
    account, _ = svc.app.change_account(session["login"], change)
    return account_out(svc, account)


def _checked(svc: Service, session: dict, check, refused: str) -> dict:
    """A command that answers whether it held (a code checked): 422 ``refused`` when not, the
    account either way saved (a wrong code counts as a failure)."""
    account, held = svc.app.change_account(session["login"], check)
    if not held:
        raise HTTPException(422, refused)
    return account_out(svc, account)


# -- registering


def _registered(svc: Service, body: RegisterIn, role: str, store_id: str | None = None) -> dict:
    account = svc.app.register_account(body.login, role, body.password, store_id, body.phone, body.region)
    return {
        "login": account.login,
        "role": account.role,
        "store_id": account.store_id,
        "sent_to": svc.accounts.send_phone_code(account.login),
        "detail": "a code is on its way to the phone: POST it to /accounts/verify-phone, then sign in",
    }


@router.post(
    "/accounts",
    status_code=201,
    response_model=RegisteredOut,
    responses=responses(409),
    summary="Register a buyer's account; its phone gets a code to verify it with (the second factor)",
)
def register(body: RegisterIn, svc: Service = Depends(service)) -> dict:
    return _registered(svc, body, "buyer")


@router.post(
    "/stores/{store_id}/staff",
    status_code=201,
    response_model=RegisteredOut,
    responses=responses(401, 404, 409),
    summary="Register an account for the store's staff (its sessions work wherever the store's key does)",
)
def register_staff(body: StaffIn, store: Store = Depends(store_for_key), svc: Service = Depends(service)) -> dict:
    return _registered(svc, body, "store_staff", store.store_id)


@router.post(
    "/operator/accounts",
    status_code=201,
    response_model=RegisteredOut,
    responses=responses(401, 403, 409),
    dependencies=[Depends(require_admin)],
    summary="Open an account for a warehouse, a lender or an operator (operator only)",
)
def register_role(body: RoleAccountIn, svc: Service = Depends(service)) -> dict:
    return _registered(svc, body, body.role)


@router.post(
    "/accounts/verify-phone",
    response_model=CodeSentOut,
    summary="Verify a phone with the code sent to it (a wrong code counts toward the lockout)",
)
def verify_phone_code(body: VerifyPhoneIn, svc: Service = Depends(service)) -> dict:
    if not svc.app.verify_phone(body.login, body.code, time.time()):
        raise HTTPException(422, "the code is wrong, used or expired: ask for a new one")
    return {"detail": "the phone is verified: sign in with the password and a code sent to it"}


@router.post(
    "/operator/accounts/{login}/lock",
    response_model=AccountOut,
    responses=responses(401, 403, 404, 409),
    dependencies=[Depends(require_admin)],
    summary="Lock an account (operator only): no sign-in until unlocked, its sessions end",
)
def lock(login: LoginPath, body: LockIn, svc: Service = Depends(service)) -> dict:
    return account_out(svc, svc.accounts.lock(login, body.reason))


@router.post(
    "/operator/accounts/{login}/unlock",
    response_model=AccountOut,
    responses=responses(401, 403, 404, 409),
    dependencies=[Depends(require_admin)],
    summary="Unlock an account (operator only): the lock and the failures counted toward the lockout go",
)
def unlock(login: LoginPath, svc: Service = Depends(service)) -> dict:
    account, _ = svc.app.change_account(login, Account.unlock)
    return account_out(svc, account)


# -- signing in and out


@router.post(
    "/accounts/sign-in/code",
    status_code=202,
    response_model=CodeSentOut,
    summary="Send a sign-in code by SMS to the account's verified phone (the same answer for any login)",
)
def sign_in_code(body: CodeRequestIn, svc: Service = Depends(service)) -> dict:
    svc.accounts.send_sign_in_code(body.login)
    return {"detail": "if the account signs in with SMS codes, a code is on its way to its verified phone"}


def _session_answer(request: Request, response: Response, opened: dict) -> dict:
    if opened["kind"] == "cookie":
        set_session_cookie(request, response, opened["token"], opened["expires_at"])
        return opened | {"token": None}
    return opened


@router.post(
    "/accounts/sign-in",
    response_model=AccountSessionOut,
    responses=responses(401),
    summary="Sign in with both factors, the password and a one-time code: a session",
)
def sign_in(body: AccountSignInIn, request: Request, response: Response, svc: Service = Depends(service)) -> dict:
    try:
        opened = svc.accounts.sign_in(body.login, body.password, body.code, body.kind)
    except SignInRefused as exc:
        raise HTTPException(401, str(exc)) from None
    return _session_answer(request, response, opened)


@router.post(
    "/accounts/sign-in/wallet",
    response_model=AccountSessionOut,
    responses=responses(401),
    summary="Sign in with the account's bound wallet (EIP-4361), and its one-time code if it has a second factor",
)
def sign_in_wallet(body: WalletSignInIn, request: Request, response: Response, svc: Service = Depends(service)) -> dict:
    try:
        parsed = svc.sign_in.verify(body.message, body.signature, utcnow())
        opened = svc.accounts.sign_in_wallet(parsed.address.lower(), body.code, body.kind)
    except SiweRefused as exc:
        raise HTTPException(401, str(exc)) from None
    except SignInRefused as exc:
        raise HTTPException(401, str(exc)) from None
    return _session_answer(request, response, opened)


@router.post(
    "/accounts/sign-out",
    status_code=204,
    responses=responses(401),
    summary="End this session (the bearer token or the browser's cookie)",
)
def sign_out(response: Response, session: dict = Depends(account_session), svc: Service = Depends(service)) -> None:
    svc.accounts.sign_out(session["token"])
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


@router.get(
    "/accounts/me/sessions",
    response_model=list[SessionRecordOut],
    responses=responses(401),
    summary="The account's sessions, opened and ended (ids only)",
)
def sessions(session: dict = Depends(account_session), svc: Service = Depends(service)) -> list[dict]:
    return svc.accounts.sessions_of(session["login"])


# -- the profile


@router.get(
    "/accounts/me",
    response_model=AccountOut,
    responses=responses(401),
    summary="The account, its profile and what each action still needs of it",
)
def me(session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    return account_out(svc, own_account(session, svc))


@router.patch(
    "/accounts/me",
    response_model=AccountOut,
    responses=responses(401, 409),
    summary="Change the name or the company",
)
def change_profile(body: ProfileIn, session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    return _change(svc, session, lambda a: a.change_profile(name=body.name, company=body.company))


@router.get(
    "/accounts/me/needs/{action}",
    response_model=NeedsOut,
    responses=responses(401),
    summary="Whether the profile is complete and verified enough for an action, and what to prompt for",
)
def needs(action: Action, session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    account = own_account(session, svc)
    missing = missing_for(account.profile(attested=svc.attested(account)), action)
    return {"action": action, "allowed": not missing, "missing": missing}


@router.put(
    "/accounts/me/phone",
    status_code=202,
    response_model=CodeSentOut,
    responses=responses(401, 409, 429),
    summary="Set the phone (E.164) and send it a code to verify it with",
)
def set_phone(body: PhoneIn, session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    svc.app.change_account(session["login"], lambda a: a.set_phone(body.phone, body.region))
    sent_to = svc.accounts.send_phone_code(session["login"])
    return {"detail": "a code is on its way: POST it to /accounts/me/phone/verify", "sent_to": sent_to}


@router.post(
    "/accounts/me/phone/code",
    status_code=202,
    response_model=CodeSentOut,
    responses=responses(401, 409, 429),
    summary="Send the phone a new verification code",
)
def phone_code(session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    sent_to = svc.accounts.send_phone_code(session["login"])
    return {"detail": "a code is on its way: POST it to /accounts/me/phone/verify", "sent_to": sent_to}


@router.post(
    "/accounts/me/phone/verify",
    response_model=AccountOut,
    responses=responses(401, 409),
    summary="Verify the phone with the code sent to it",
)
def verify_phone(body: CodeIn, session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    refused = "the code is wrong, used or expired: ask for a new one"
    return _checked(svc, session, lambda a: a.verify_phone(body.code, time.time()), refused)


@router.put(
    "/accounts/me/addresses/{label}",
    response_model=AccountOut,
    responses=responses(401, 409),
    summary="Save a delivery address (with its coordinates) under a label; the first is the default",
)
def save_address(
    label: LabelPath, body: AddressIn, session: dict = Depends(account_session), svc: Service = Depends(service)
) -> dict:
    address = Address(label, tuple(body.lines), body.country, body.latitude, body.longitude)
    return _change(svc, session, lambda a: a.save_address(address, default=body.default))


@router.delete(
    "/accounts/me/addresses/{label}",
    response_model=AccountOut,
    responses=responses(401, 409),
    summary="Remove a saved address (another becomes the default)",
)
def remove_address(label: LabelPath, session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    return _change(svc, session, lambda a: a.remove_address(label))


# -- the second factor and the wallet


@router.post(
    "/accounts/me/totp",
    response_model=TotpOut,
    responses=responses(401),
    summary="A new authenticator secret to enrol (confirmed by its first code)",
)
def totp_secret(session: dict = Depends(account_session)) -> dict:
    secret = new_totp_secret()
    return {
        "secret": secret,
        "provisioning_uri": pyotp.TOTP(secret).provisioning_uri(name=session["login"], issuer_name=TOTP_ISSUER),
    }


@router.post(
    "/accounts/me/totp/confirm",
    response_model=AccountOut,
    responses=responses(401, 409),
    summary="Enrol the authenticator with its first code: from now on sign-ins take its codes",
)
def totp_confirm(
    body: TotpConfirmIn, session: dict = Depends(account_session), svc: Service = Depends(service)
) -> dict:
    refused = "the code does not match the secret: check the authenticator's clock and try again"
    return _checked(svc, session, lambda a: a.enrol_totp(body.secret, body.code, time.time()), refused)


@router.post(
    "/accounts/me/wallet",
    response_model=AccountOut,
    responses=responses(401, 409),
    summary="Bind a wallet to the account with a Sign-In with Ethereum by it (nonce from POST /auth/nonce)",
)
def bind_wallet(body: WalletIn, session: dict = Depends(account_session), svc: Service = Depends(service)) -> dict:
    try:
        parsed = svc.sign_in.verify(body.message, body.signature, utcnow())
    except SiweRefused as exc:
        raise HTTPException(422, f"the wallet's sign-in does not hold: {exc}") from None
    return account_out(svc, svc.app.bind_wallet(session["login"], parsed.address))


# -- the account's own data


@router.get(
    "/accounts/me/export",
    response_model=ExportOut,
    responses=responses(401),
    summary="Everything kept about the account: its profile, sessions and every event recorded for it",
)
def export(session: dict = Depends(account_session), svc: Service = Depends(following)) -> dict:
    account = own_account(session, svc)
    events = []
    for stored in svc.app.repository.event_store.get(account.id):
        fields = {k: v for k, v in vars(stored).items() if k not in SECRET_FIELDS and not k.startswith("originator")}
        events.append(
            {"type": type(stored).__qualname__.rsplit(".", 1)[-1], "version": stored.originator_version}
            | {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()}
        )
    return {"account": account_out(svc, account), "sessions": svc.accounts.sessions_of(account.login), "events": events}


@router.post(
    "/accounts/me/close",
    status_code=204,
    responses=responses(401, 403, 409),
    summary="Close the account (the password confirms it): its sessions end, its records stay",
)
def close(
    body: CloseIn, response: Response, session: dict = Depends(account_session), svc: Service = Depends(service)
) -> None:
    if not password_matches(own_account(session, svc).password_hash, body.password):
        raise HTTPException(403, "the password does not match: the account stays open")
    svc.accounts.close(session["login"])
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
