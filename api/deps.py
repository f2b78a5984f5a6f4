"""Dependencies: the service handle, and the credentials (operator token, store key, buyer session).

Both are declared as OpenAPI security schemes. A store key goes in
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; the operator token in
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import time

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.problems import EngineHalted
from api.service import Service
from engine.account_desk import TOKEN_PREFIX
from engine.application import NotFound
from engine.settlement.stores import Store, hash_key
from engine.signin import utcnow

operator_token = HTTPBearer(
    scheme_name="operatorToken",
    auto_error=False,
    description="The operator's token (ORDERCHAIN_ADMIN_TOKEN): `Authorization: Bearer <token>`.",
)
store_bearer = HTTPBearer(
    scheme_name="storeKey", auto_error=False, description="The store's API key: `Authorization: Bearer <key>`."
)
session_bearer = HTTPBearer(
    scheme_name="buyerSession",
    auto_error=False,
    description="A sign-in session: `Authorization: Bearer <token>` from `POST /auth/sign-in`.",
)
account_bearer = HTTPBearer(
    scheme_name="accountSession",
    auto_error=False,
    description="An account's session: `Authorization: Bearer ocacct_...` from `POST /accounts/sign-in`.",
)
SESSION_COOKIE = "orderchain_session"
account_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="accountCookie",
    auto_error=False,
    description="A browser's account session: the HttpOnly, SameSite=Strict cookie `POST /accounts/sign-in` "
    'sets with `"kind": "cookie"`.',
)
store_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="storeApiKey",
    auto_error=False,
    description="The store's API key, as a header of its own: `X-API-Key: <key>`.",
)


def set_session_cookie(request: Request, response: Response, token: str, expires_at: int) -> None:
    """The browser's account session: HttpOnly (no script reads it), SameSite=Strict (no other
    site sends it), Secure over HTTPS, for the whole site until the session expires."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=expires_at - int(time.time()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


async def service(request: Request) -> Service:
    # async: a dependency of every route, resolved on the event loop, not in a worker thread
    return request.app.state.service


async def following(svc: Service = Depends(service)) -> Service:
    """The service, provided its engine still follows the node's chain (else 503)."""
    if svc.halted:
        raise EngineHalted(f"the engine stopped following the node: {svc.halted}")
    return svc


async def require_admin(
    credentials: HTTPAuthorizationCredentials | None = Depends(operator_token), svc: Service = Depends(service)
) -> None:
    if credentials is None:
        raise HTTPException(401, "operator token required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(credentials.credentials.encode(), svc.settings.admin_token.encode()):
        raise HTTPException(403, "wrong operator token")


async def store_for_key(
    store_id: str,
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(store_bearer),
    api_key: str | None = Depends(store_header),
    svc: Service = Depends(service),
) -> Store:
    """The store whose key the caller holds. An unknown store and another store's id get the
    same answer, so nobody can probe which stores exist. Resolved on the event loop (a hash and
    one indexed read), not in a worker thread: every store route polls through it."""
    key = bearer.credentials if bearer else api_key
    cookie = request.cookies.get(SESSION_COOKIE)
    if (key and key.startswith(TOKEN_PREFIX)) or (not key and cookie):
        return _staff_store(svc, store_id, key or cookie)
    if not key:
        raise HTTPException(
            401,
            "store API key or staff session required (Authorization: Bearer <key>, or X-API-Key: <key>)",
        )
    try:
        store = svc.app.get_store(store_id)
    except NotFound:
        hash_key(key)  # the same work as for a wrong key: timing tells nothing either
        store = None
    if store is None or not store.key_matches(key):
        raise HTTPException(404, f"no store {store_id!r} for this key")
    return store


def _staff_store(svc: Service, store_id: str, token: str) -> Store:
    """The store a staff session works for, asked for by its id: that store only (any other id,
    known or not, gets the same answer as a wrong key)."""
    session = svc.accounts.session(token)
    if session is None:
        raise HTTPException(401, "the session is unknown, expired or ended: sign in again")
    if session["role"] != "store_staff" or session["store_id"] != store_id:
        raise HTTPException(404, f"no store {store_id!r} for this key")
    return svc.app.get_store(store_id)


def account_session(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(account_bearer),
    cookie: str | None = Depends(account_cookie),
    svc: Service = Depends(service),
) -> dict:
    """The signed-in account's session, from the bearer token or the browser's cookie (401 without a live one)."""
    token = bearer.credentials if bearer and bearer.credentials.startswith(TOKEN_PREFIX) else cookie
    found = svc.accounts.session(token) if token else None
    if found is None:
        raise HTTPException(
            401,
            "sign in to an account first (POST /accounts/sign-in); a session expires",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found | {"token": token}


def buyer(
    credentials: HTTPAuthorizationCredentials | None = Depends(session_bearer), svc: Service = Depends(service)
) -> dict:
    """The signed-in buyer's session (401 without a live one)."""
    found = svc.sign_in.session(credentials.credentials, utcnow()) if credentials else None
    if found is None:
        raise HTTPException(
            401,
            "sign in first (POST /auth/nonce, then POST /auth/sign-in); a session expires",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found
