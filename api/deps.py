"""Dependencies: the service handle, admin and store authentication."""

from __future__ import annotations

import hmac

from fastapi import Depends, Header, HTTPException, Request

from engine.application import NotFound
from engine.stores import Store

from .service import Service


def service(request: Request) -> Service:
    return request.app.state.service


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def require_admin(authorization: str | None = Header(None), svc: Service = Depends(service)) -> None:
    token = _bearer(authorization)
    if token is None:
        raise HTTPException(401, "admin token required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(token, svc.settings.admin_token):
        raise HTTPException(403, "wrong admin token")


def store_for_key(store_id: str, authorization: str | None = Header(None),
                  x_api_key: str | None = Header(None), svc: Service = Depends(service)) -> Store:
    key = _bearer(authorization) or x_api_key
    if not key:
        raise HTTPException(401, "store API key required (Authorization: Bearer <key>)")
    try:
        store = svc.app.get_store(store_id)
    except NotFound:
        raise HTTPException(404, f"no store {store_id!r}") from None
    if not store.key_matches(key):
        raise HTTPException(403, "this key is not the store's key")
    return store
