"""Buyers' feedback on settled orders (the seed's feedback system): one per settled order, by
that order's buyer (proof of purchase), for or against the store.

The rule of who may give it is the application's to check (it reads the settlement, or the
mandate a shipment paid after delivery was collected under); the aggregate's id is the
order's, so a second feedback on one order conflicts when saved. Each feedback's canonical
:func:`feedback_document` is kept as an evidence record too, so the anchorer takes its hash into the
next Merkle batch anchored through ``EvidenceAnchor``: anyone holding the document can check
that the rating was included (``GET /feedback/{hash}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eth_utils import keccak
from eventsourcing.domain import Aggregate, event

from engine.ids import canonical_json, derive
from engine.signals import Signal

RATINGS = ("positive", "negative")
MAX_COMMENT = 1_000
REPUTATION = {"feedback": "a buyer's feedback on a settled order of the store (proof of purchase: the order's buyer)"}


class FeedbackRefused(ValueError):
    """Feedback that may not be given (not the order's buyer, the order not settled)."""


class Feedback(Aggregate):
    """One buyer's feedback on one settled order."""

    if TYPE_CHECKING:
        Given: ClassVar[type[Any]]

    @staticmethod
    def create_id(chain_id: int, contract: str, settlement_id: str) -> UUID:
        return derive("feedback", chain_id, contract.lower(), settlement_id.lower())

    @classmethod
    def give(
        cls,
        chain_id: int,
        contract: str,
        settlement_id: str,
        store: str,
        buyer: str,
        rating: str,
        comment: str,
        at: int,
    ) -> Feedback:
        if rating not in RATINGS:
            raise FeedbackRefused(f"a rating is one of {', '.join(RATINGS)}")
        if len(comment) > MAX_COMMENT:
            raise FeedbackRefused(f"a comment has at most {MAX_COMMENT} characters")
        return cls(
            chain_id=chain_id,
            contract=contract.lower(),
            settlement_id=settlement_id.lower(),
            store=store.lower(),
            buyer=buyer.lower(),
            rating=rating,
            comment=comment.strip(),
            at=at,
        )

    @event("Given")
    def __init__(
        self,
        chain_id: int,
        contract: str,
        settlement_id: str,
        store: str,
        buyer: str,
        rating: str,
        comment: str,
        at: int,
    ):
        self.chain_id = chain_id
        self.contract = contract
        self.settlement_id = settlement_id
        self.store = store
        self.buyer = buyer
        self.rating = rating
        self.comment = comment
        self.at = at


def feedback_signal(store: str, rating: str, at: int) -> Signal:
    return Signal(store, "feedback", rating == "positive", at)


def feedback_document(feedback: Feedback) -> dict:
    """What is anchored of a feedback: who rated which order of whom, how and when (the
    comment by its hash)."""
    return {
        "kind": "feedback",
        "chain_id": feedback.chain_id,
        "contract": feedback.contract,
        "order": feedback.settlement_id,
        "store": feedback.store,
        "buyer": feedback.buyer,
        "rating": feedback.rating,
        "comment_hash": "0x" + keccak(feedback.comment.encode()).hex(),
        "at": feedback.at,
    }


def feedback_hash(doc: dict) -> str:
    return "0x" + keccak(canonical_json(doc)).hex()
