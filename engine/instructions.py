"""Production instructions: when a campaign succeeds, the enterprise's system is told to produce.

The instruction is an HTTP POST of a JSON body to the webhook URL the store registered,
signed with HMAC-SHA256 under the store's webhook secret (``X-Signature: sha256=<hex>``
over the exact body bytes) and named by ``X-Instruction-Id`` (one id per campaign, so a
receiver can tell a repeat). Each campaign gets one :class:`ProductionInstruction`
aggregate (its id derives from the chain and campaign, so it is never made twice); every
attempt is recorded with its outcome, failures are retried with exponential backoff (for about
six hours: :data:`WEBHOOK_ATTEMPTS`, then a dead letter the operator replays), and a
delivered instruction is never sent again. A restarted engine finds the instructions
still pending in the event store and carries on.

Notices travel the same way: a :class:`Notice` tells the store's system of something it
must act on or pass on to its customer (a cross-border final bill asking the buyer for a
top-up by a deadline), one per subject, signed and retried like an instruction.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from engine.deliveries import Delivery, dead_letter, deliver, delivered_attempt, failed_attempt, replayed_letter
from engine.ids import derive

log = logging.getLogger("orderchain.instructions")
# Attempts before a store's webhook delivery is a dead letter: the back-off doubles from 2 s to
# its cap of an hour, so about six hours of a receiver that is down.
WEBHOOK_ATTEMPTS = 16


def instruction_body(campaign: dict, scheme: str, chain_id: int, contract: str) -> dict:
    """What the enterprise's system is told when a campaign succeeds."""
    triggered = campaign.get("triggered") or {}
    return {
        "instruction": "produce",
        "chain_id": chain_id,
        "contract": contract,
        "campaign_id": campaign["campaign_id"],
        "scheme": scheme,
        "scheme_hash": campaign["scheme_hash"],
        "cycle": campaign["cycle"],
        "quantity": triggered.get("pledged", campaign["pledged"]),
        "moq": triggered.get("moq", campaign["moq"]),
        "unit_price": str(campaign["unit_price"]),
        "triggered_tx": triggered.get("tx_hash"),
        "triggered_at": triggered.get("timestamp"),
    }


class ProductionInstruction(Delivery, Aggregate):
    """The production instruction of one succeeded campaign, and its delivery."""

    max_attempts = WEBHOOK_ATTEMPTS
    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Created: ClassVar[type[Any]]
        Attempted: ClassVar[type[Any]]
        Delivered: ClassVar[type[Any]]
        Dead: ClassVar[type[Any]]
        Replayed: ClassVar[type[Any]]

    @staticmethod
    def create_id(chain_id: int, campaign_id: int) -> UUID:
        return derive("production-instruction", chain_id, campaign_id)

    @event("Created")
    def __init__(self, chain_id: int, campaign_id: int, store_id: str, url: str, body: dict, created_at: float):
        self.chain_id = chain_id
        self.campaign_id = campaign_id
        self.store_id = store_id
        self._to_deliver(url, body, created_at)

    @property
    def subject(self) -> str:
        return f"production instruction of campaign {self.campaign_id}"

    attempted = event("Attempted")(failed_attempt)
    delivered = event("Delivered")(delivered_attempt)
    died = event("Dead")(dead_letter)
    replayed = event("Replayed")(replayed_letter)


class Notice(Delivery, Aggregate):
    """A notice to a store's webhook about one subject (``top-up <order> <bill tx>`` ...), and its delivery."""

    max_attempts = WEBHOOK_ATTEMPTS
    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Created: ClassVar[type[Any]]
        Attempted: ClassVar[type[Any]]
        Delivered: ClassVar[type[Any]]
        Dead: ClassVar[type[Any]]
        Replayed: ClassVar[type[Any]]

    @staticmethod
    def create_id(chain_id: int, subject: str) -> UUID:
        return derive("notice", chain_id, subject)

    @event("Created")
    def __init__(self, chain_id: int, subject: str, store_id: str, url: str, body: dict, created_at: float):
        self.chain_id = chain_id
        self.subject = subject
        self.store_id = store_id
        self._to_deliver(url, body, created_at)

    attempted = event("Attempted")(failed_attempt)
    delivered = event("Delivered")(delivered_attempt)
    died = event("Dead")(dead_letter)
    replayed = event("Replayed")(replayed_letter)


class Dispatcher:
    """Makes the instruction of every succeeded campaign of a store with a webhook, and the
    notices due, and sends every one due (one round per call; the engine loop calls it as a chore)."""

    def __init__(
        self, app, chain_id: int, succeeded, pending, scheme_of, contract: str, post=None, clock=None, notices=None
    ):
        """``succeeded()``: campaigns that succeeded (view rows) and have no instruction yet;
        ``pending()``: ids of instructions and notices not delivered; ``scheme_of(campaign)``: the
        scheme's name; ``notices()``: ``(subject, store address, body)`` of notices not made yet."""
        import time

        import httpx

        self.app = app
        self.chain_id = chain_id
        self.succeeded = succeeded
        self.pending = pending
        self.scheme_of = scheme_of
        self.contract = contract
        self.post = post or httpx.post
        self.clock = clock or time.time
        self.notices = notices or (list)
        self.sent = 0

    def run_once(self) -> int:
        """Returns the number of instructions delivered this round."""
        made = []
        stores: dict[str, object] = {}  # address -> its store (or None): read once a round
        store_of = self.app.store_of_address

        def store_at(address: str):
            if address not in stores:
                stores[address] = store_of(address)
            return stores[address]

        for campaign in self.succeeded():
            store = store_at(campaign["enterprise"])
            if store is None or not getattr(store, "webhook_url", None):
                continue
            made.append(
                self.app.instruct(
                    ProductionInstruction(
                        chain_id=self.chain_id,
                        campaign_id=campaign["campaign_id"],
                        store_id=store.store_id,
                        url=store.webhook_url,
                        body=instruction_body(campaign, self.scheme_of(campaign), self.chain_id, self.contract),
                        created_at=self.clock(),
                    )
                ).id
            )
        for subject, address, body in self.notices():
            store = store_at(address)
            if store is None or not getattr(store, "webhook_url", None):
                continue
            made.append(
                self.app.instruct(
                    Notice(
                        chain_id=self.chain_id,
                        subject=subject,
                        store_id=store.store_id,
                        url=store.webhook_url,
                        body=body,
                        created_at=self.clock(),
                    )
                ).id
            )
        delivered = 0
        for instruction_id in dict.fromkeys(made + self.pending()):  # the new ones before the views see them
            instruction = self.app.repository.get(instruction_id)
            if not instruction.due(self.clock()):
                continue
            store = self.app.get_store(instruction.store_id)
            ok = deliver(instruction, store.webhook_secret, self.post, self.clock())
            self.app.save(instruction)
            if ok:
                delivered += 1
                self.sent += 1
                log.info("%s delivered", instruction.subject)
            elif instruction.dead_at is not None:
                log.warning(
                    "%s failed (%s) %d times: a dead letter until the operator replays it",
                    instruction.subject,
                    instruction.last_error,
                    instruction.attempts,
                )
            else:
                log.warning(
                    "%s failed (%s); retry in %.0fs",
                    instruction.subject,
                    instruction.last_error,
                    instruction.next_at - self.clock(),
                )
        return delivered
