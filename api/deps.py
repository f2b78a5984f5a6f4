"""Dependencies: the service handle, and the credentials (operator token, store key, buyer session).

Both are declared as OpenAPI security schemes. A store key goes in
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; the operator token in
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.problems import EngineHalted
from api.service import Service
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
store_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="storeApiKey",
    auto_error=False,
    description="The store's API key, as a header of its own: `X-API-Key: <key>`.",
)


def service(request: Request) -> Service:
    return request.app.state.service


def following(svc: Service = Depends(service)) -> Service:
    """The service, provided its engine still follows the node's chain (else 503)."""
    if svc.halted:
        raise EngineHalted(f"the engine stopped following the node: {svc.halted}")
    return svc


def require_admin(
    credentials: HTTPAuthorizationCredentials | None = Depends(operator_token), svc: Service = Depends(service)
) -> None:
    if credentials is None:
        raise HTTPException(401, "operator token required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(credentials.credentials.encode(), svc.settings.admin_token.encode()):
        raise HTTPException(403, "wrong operator token")


def store_for_key(
    store_id: str,
    bearer: HTTPAuthorizationCredentials | None = Depends(store_bearer),
    api_key: str | None = Depends(store_header),
    svc: Service = Depends(service),
) -> Store:
    """The store whose key the caller holds. An unknown store and another store's id get the
    same answer, so nobody can probe which stores exist."""
    key = bearer.credentials if bearer else api_key
    if not key:
        raise HTTPException(401, "store API key required (Authorization: Bearer <key>, or X-API-Key: <key>)")
    try:
        store = svc.app.get_store(store_id)
    except NotFound:
        hash_key(key)  # the same work as for a wrong key: timing tells nothing either
        store = None
    if store is None or not store.key_matches(key):
        raise HTTPException(404, f"no store {store_id!r} for this key")
    return store


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
