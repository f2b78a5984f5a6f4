"""What every webhook delivery shares (production instructions, notices to stores and buyers):
a body signed with HMAC-SHA256 under the receiver's secret, attempts recorded on the aggregate,
failures retried with exponential back-off. After its last attempt (each kind says how many)
a delivery is a dead letter: nothing more is tried until the operator replays it, which starts
again from the first back-off."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar
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
    """What an instruction and a notice share: a signed body for a URL, and its delivery record.

    Each subclass makes the event methods from the bodies below (``attempted``, ``delivered``,
    ``died``, ``replayed``) and says after how many attempts a delivery is a dead letter."""

    max_attempts: ClassVar[int]
    if TYPE_CHECKING:  # the aggregate's id, and the event methods each subclass makes with @event
        id: UUID
        attempted: Callable[..., None]
        delivered: Callable[..., None]
        died: Callable[..., None]
        replayed: Callable[..., None]

    def _to_deliver(self, url: str, body: dict, created_at: float) -> None:
        self.url = url
        self.body = body
        self.attempts = 0
        self.next_at = created_at
        self.delivered_at: float | None = None
        self.last_error: str | None = None
        self.dead_at: float | None = None

    def failed(self, at: float, error: str) -> None:
        """An attempt that failed: retried after the back-off, or a dead letter after the last."""
        self.attempted(at=at, error=error)
        if self.attempts >= self.max_attempts:
            self.died(at=at)

    def due(self, now: float) -> bool:
        """Whether to attempt it now: not delivered, not a dead letter, its back-off over."""
        return self.delivered_at is None and self.dead_at is None and self.next_at <= now

    def replay(self, at: float) -> None:
        """The operator sends a dead letter again (ValueError for any other)."""
        if self.dead_at is None:
            raise ValueError(f"it is {self.state}, not a dead letter")
        self.replayed(at=at)

    @property
    def instruction_id(self) -> str:
        return str(self.id)

    def payload(self) -> bytes:
        return json.dumps(self.body, sort_keys=True, separators=(",", ":")).encode()

    @property
    def state(self) -> str:
        if self.dead_at is not None:
            return "dead"
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


def dead_letter(self, at: float):
    """No attempt is left (an aggregate's event body)."""
    self.dead_at = at


def replayed_letter(self, at: float):
    """The operator replays a dead letter (an aggregate's event body): from the first back-off."""
    self.dead_at = None
    self.attempts = 0
    self.next_at = at


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
        instruction.failed(at=now, error=f"{type(exc).__name__}: {exc}"[:300])
        return False
    if 200 <= response.status_code < 300:
        instruction.delivered(at=now, status=response.status_code)
        return True
    instruction.failed(at=now, error=f"HTTP {response.status_code}")
    return False
