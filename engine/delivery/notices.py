"""Notices to the buyer of an order paid after verified delivery: shipped, verified on chain,
collected (amount, store, transaction), collection failed, and each alarm on the order.

Each notice goes out once per channel: by SMS to the buyer's verified phone (the gateway of
:mod:`engine.accounts.sms`), and to the store's webhook when it has one (signed like every
webhook, :func:`engine.deliveries.signature`), so the store's own system can pass it on.
A :class:`BuyerNotice` aggregate per notice and channel (its id derives from both, so it is
never made twice) records every attempt; the id is the message's idempotency key, the same on
every retry, so a gateway that took it once sends nothing twice. Failures are retried with
exponential back-off; after :data:`MAX_ATTEMPTS` the notice is a dead letter, which the
operator lists and replays (``Replayed``: tried again from the first back-off).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from engine.deliveries import Delivery, dead_letter, delivered_attempt, failed_attempt, replayed_letter
from engine.ids import derive

CHANNELS = ("sms", "webhook")
KINDS = ("shipped", "verified", "collected", "defaulted", "alarm")
MAX_ATTEMPTS = 8  # about 8.5 minutes of back-off (2 s, 4 s ... 256 s) before a notice is a dead letter


def subject(kind: str, checkout_id: str, store_id: str, alarm_id: str | None = None) -> str:
    """What a notice is about: one per kind and shipment (per alarm for an alarm)."""
    return f"{kind} {checkout_id} {store_id}" + (f" {alarm_id}" if alarm_id else "")


def wanted_subjects(row: dict) -> list[str]:
    """The notices a shipment's state calls for (each made once, whatever comes after)."""
    data = row["data"]
    out = []
    if data.get("declared"):
        out.append(subject("shipped", row["checkout_id"], row["store_id"]))
    chain = data.get("shipment")
    if chain:
        out.append(subject("verified", row["checkout_id"], row["store_id"]))
        if chain["status"] in ("collected", "defaulted"):
            out.append(subject(chain["status"], row["checkout_id"], row["store_id"]))
    out.extend(subject("alarm", row["checkout_id"], row["store_id"], a["alarm_id"]) for a in data.get("alarms", []))
    return out


def text(kind: str, checkout_id: str, store_name: str, facts: dict) -> str:
    """The SMS a buyer reads."""
    order = f"your order {checkout_id} from {store_name}"
    if kind == "shipped":
        return f"orderchain: {order} was shipped with {facts['courier_id']}, waybill {facts['waybill']}."
    if kind == "verified":
        return f"orderchain: {order} passed its checks; {facts['amount']} will be collected under your mandate."
    if kind == "collected":
        return f"orderchain: {facts['amount']} was collected for {order}, transaction {facts['tx_hash']}."
    if kind == "defaulted":
        return (
            f"orderchain: collecting {facts['amount']} for {order} failed: your allowance or balance "
            "no longer covers it. The store has been told."
        )
    return f"orderchain: {order} is held: {facts['reason']}. Nothing is collected until it is resolved."


class BuyerNotice(Delivery, Aggregate):
    """One notice to a buyer on one channel, and its delivery (see the module docstring)."""

    max_attempts = MAX_ATTEMPTS
    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Created: ClassVar[type[Any]]
        Attempted: ClassVar[type[Any]]
        Delivered: ClassVar[type[Any]]
        Dead: ClassVar[type[Any]]
        Replayed: ClassVar[type[Any]]

    @staticmethod
    def create_id(subject: str, channel: str) -> UUID:
        return derive("buyer-notice", subject, channel)

    @event("Created")
    def __init__(
        self,
        subject: str,
        channel: str,
        kind: str,
        login: str,
        checkout_id: str,
        store_id: str,
        to: str,
        body: dict,
        created_at: float,
    ):
        """``to``: the phone (sms) or the webhook URL; ``body``: the notice's facts and its ``text``."""
        self.subject = subject
        self.channel = channel
        self.kind = kind
        self.login = login
        self.checkout_id = checkout_id
        self.store_id = store_id
        self.to = to
        self._to_deliver(to, body, created_at)

    attempted = event("Attempted")(failed_attempt)
    delivered = event("Delivered")(delivered_attempt)
    died = event("Dead")(dead_letter)
    replayed = event("Replayed")(replayed_letter)
