"""What every webhook delivery shares (production instructions, notices to stores and buyers):
a body signed with HMAC-SHA256 under the receiver's secret, attempts recorded on the aggregate,
failures retried with exponential back-off."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

BACKOFF_FIRST = 2.0  # seconds before the first retry; doubled each time
BACKOFF_MAX = 3600.0  # the longest wait between attempts
TIMEOUT = 5.0  # seconds a receiver has to answer
SECRET_BYTES = 32


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(SECRET_BYTES)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Signature`` header of a body: HMAC-SHA256 under the secret, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, body), header or "")


def backoff(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed attempts."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))


class Delivery:
    """What an instruction and a notice share: a signed body for a URL, and its delivery record."""

    if TYPE_CHECKING:  # the aggregate's id, and the event methods each subclass makes with @event
        id: UUID
        attempted: Callable[..., None]
        delivered: Callable[..., None]

    def _to_deliver(self, url: str, body: dict, created_at: float) -> None:
        self.url = url
        self.body = body
        self.attempts = 0
        self.next_at = created_at
        self.delivered_at: float | None = None
        self.last_error: str | None = None

    @property
    def instruction_id(self) -> str:
        return str(self.id)

    def payload(self) -> bytes:
        return json.dumps(self.body, sort_keys=True, separators=(",", ":")).encode()

    @property
    def state(self) -> str:
        return "delivered" if self.delivered_at is not None else ("retrying" if self.attempts else "pending")


def failed_attempt(self, at: float, error: str):
    """An attempt that failed (an aggregate's event body: retried after the back-off)."""
    self.attempts += 1
    self.last_error = error
    self.next_at = at + backoff(self.attempts)


def delivered_attempt(self, at: float, status: int):
    """The attempt the receiver took (an aggregate's event body)."""
    self.attempts += 1
    self.delivered_at = at
    self.last_error = None


def deliver(instruction: Delivery, secret: str, post, now: float) -> bool:
    """One attempt: POSTs the signed body with ``post(url, content, headers)`` (an httpx-like
    call returning a response with ``status_code``); records the outcome on the aggregate."""
    body = instruction.payload()
    headers = {
        "Content-Type": "application/json",
        "X-Signature": signature(secret, body),
        "X-Instruction-Id": instruction.instruction_id,
        "User-Agent": "orderchain-webhooks",
    }
    try:
        response = post(instruction.url, content=body, headers=headers, timeout=TIMEOUT)
    except Exception as exc:  # refused, timed out, DNS: all retried
        instruction.attempted(at=now, error=f"{type(exc).__name__}: {exc}"[:300])
        return False
    if 200 <= response.status_code < 300:
        instruction.delivered(at=now, status=response.status_code)
        return True
    instruction.attempted(at=now, error=f"HTTP {response.status_code}")
    return False
