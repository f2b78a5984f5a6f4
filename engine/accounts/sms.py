"""Sending one-time codes by SMS (the seed's SMS unit), through a provider-neutral gateway.

:class:`HttpGateway` POSTs each message as JSON (``{"id", "to", "text"}``) to the gateway's
URL (``ORDERCHAIN_SMS_URL``), signed with the Standard Webhooks scheme (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256 under the shared secret). The
message id is the idempotency key: every retry of one message carries the same id, so a
gateway that already took it sends nothing twice. A 2xx answer is sent; a connection
error, a timeout, a 429 or a 5xx is retried with exponential back-off; any other 4xx is a
refusal, not retried. With no gateway configured, :class:`Outbox` keeps the messages in a
local file that ``orderchain notices outbox`` prints, so a development setup needs no
provider. Neither writes a code to a log.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from standardwebhooks import Webhook

RETRIES = 4
FIRST_PAUSE = 0.2  # seconds before the first retry, doubled for each further one
TIMEOUT = 5.0


@dataclass(frozen=True)
class SmsMessage:
    id: str  # the idempotency key: one per code sent
    to: str  # E.164
    text: str

    def body(self) -> bytes:
        return json.dumps({"id": self.id, "to": self.to, "text": self.text}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Sent:
    """The outcome of sending one message: whether the gateway took it, after how many attempts."""

    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None


class HttpGateway:
    """A gateway reached over HTTP (see the module docstring)."""

    def __init__(
        self, url: str, secret: str, client: httpx.Client | None = None, sleep=time.sleep, retries: int = RETRIES
    ):
        """``retries``: further attempts within one :meth:`send` (0 for a caller that retries later itself)."""
        self.url = url
        self.retries = retries
        self.webhook = Webhook(secret)
        self.client = client or httpx.Client(timeout=TIMEOUT)
        self.sleep = sleep

    def headers(self, message: SmsMessage, body: bytes, at: datetime) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "webhook-id": message.id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self.webhook.sign(message.id, at, body),
            "user-agent": "orderchain-sms",
        }

    def send(self, message: SmsMessage) -> Sent:
        body = message.body()
        status, error = None, None
        for attempt in range(1, self.retries + 2):
            try:
                response = self.client.post(
                    self.url, content=body, headers=self.headers(message, body, datetime.now(UTC))
                )
                status, error = response.status_code, None
                if 200 <= status < 300:
                    return Sent(True, attempt, status)
                if status != 429 and status < 500:
                    return Sent(False, attempt, status, f"refused with HTTP {status}")
                error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"[:200]
            if attempt <= self.retries:
                self.sleep(FIRST_PAUSE * 2 ** (attempt - 1))
        return Sent(False, self.retries + 1, status, error)


class Outbox:
    """Messages kept in a local JSON-lines file instead of sent (development)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def send(self, message: SmsMessage) -> Sent:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sent = [m["id"] for m in self.messages()]
        if message.id not in sent:  # the same message twice is kept once
            with self.path.open("a", encoding="utf-8") as out:
                out.write(
                    json.dumps(
                        {"id": message.id, "to": message.to, "text": message.text, "at": datetime.now(UTC).isoformat()}
                    )
                    + "\n"
                )
        return Sent(True, 1)

    def messages(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def latest_code(self, to: str) -> str | None:
        """The code in the newest message to a phone (what its holder would read on it)."""
        for message in reversed(self.messages()):
            if message["to"] == to:
                return code_in(message["text"])
        return None


def code_in(text: str) -> str | None:
    """The one-time code a message's text carries (its first number)."""
    return next((w.rstrip(".") for w in text.split() if w.rstrip(".").isdigit()), None)
