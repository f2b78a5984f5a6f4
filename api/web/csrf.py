"""CSRF protection of every form: the double-submit token.

A page with a form sets a random token in a cookie of its own (SameSite=Strict) and puts the
same token in the form; a POST is taken only when the form's token equals the cookie's,
compared in constant time. Another site can neither read the cookie nor send it along
(SameSite), so it cannot forge the pair.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, Response

CSRF_COOKIE = "orderchain_csrf"
FIELD = "csrf_token"


def token_of(request: Request) -> tuple[str, bool]:
    """The browser's token, or a new one (``True``: set it with :func:`keep`)."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and len(token) >= 32:
        return token, False
    return secrets.token_urlsafe(32), True


def keep(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/app"
    )


async def check(request: Request) -> dict:
    """The posted form, once its token matches the cookie's (403 otherwise: nothing changes)."""
    form = dict(await request.form())
    sent, kept = str(form.get(FIELD, "")), request.cookies.get(CSRF_COOKIE, "")
    if not sent or not kept or not hmac.compare_digest(sent, kept):
        raise HTTPException(403, "the form's CSRF token is missing or does not match: reload the page")
    return form
